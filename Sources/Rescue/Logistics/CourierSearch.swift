#if canImport(Glibc)
import Glibc
#endif

/// Finds the best courier for a pickup (FORMAT §7.16). Couriers sit in the same 0.05° grid as
/// recipients (`CandidateSearch.cell`); a search reads rings of cells outward from the pickup
/// and stops once no further ring can hold anyone nearer, in whole kilometres, than the best
/// found, so its cost follows the couriers near the pickup, not all of them.
///
/// Ranking: whole kilometres from the courier's base to the pickup, then fewest deliveries
/// today, then id.
public struct CourierSearch: Sendable, Equatable {
    /// What the search needs of a courier; the changing parts (load, legs, deliveries today)
    /// are the book's and passed in at search time.
    struct Indexed: Hashable, Sendable {
        let latitudeRadians: Double
        let longitudeRadians: Double
        let cosineLatitude: Double
        let radiusMetres: Int64
        let coldChain: Bool
    }

    private var indexed: [Indexed] = []
    private(set) var ids: [String] = []
    private var numbers: IDTable<Int> = [:]
    private var cells: [CandidateSearch.Cell: [Int]] = [:]
    private var largestRadiusMetres: Int64 = 0

    public init() {}

    public var count: Int { ids.count }

    /// The courier's number (its order of registration).
    func number(of courier: String) -> Int? { numbers[courier] }

    mutating func index(_ id: String, latitude: Int64, longitude: Int64, radiusMetres: Int64, coldChain: Bool) {
        guard numbers[id] == nil else { return }
        let number = ids.count
        ids.append(id)
        numbers[id] = number
        let latitudeRadians = CandidateSearch.radians(latitude)
        indexed.append(Indexed(
            latitudeRadians: latitudeRadians, longitudeRadians: CandidateSearch.radians(longitude), cosineLatitude: cos(latitudeRadians),
            radiusMetres: radiusMetres, coldChain: coldChain))
        cells[CandidateSearch.cell(latitude, longitude), default: []].append(number)
        largestRadiusMetres = max(largestRadiusMetres, radiusMetres)
    }

    /// The best eligible courier for a pickup at (`latitude`, `longitude`), with its distance:
    /// `eligible` says whether a courier (by number) may take it now (capacity, legs, declines);
    /// `deliveriesToday` ranks equals.
    func best(
        latitude: Int64, longitude: Int64, needsColdChain: Bool, eligible: (Int) -> Bool, deliveriesToday: (Int) -> Int64
    ) -> (courier: String, number: Int, distanceMetres: Int64)? {
        let (centre, _, _, rings, cellMetres) = CandidateSearch.window(latitude: latitude, longitude: longitude, reachMetres: largestRadiusMetres)
        let origin = (latitude: CandidateSearch.radians(latitude), longitude: CandidateSearch.radians(longitude), cosine: cos(CandidateSearch.radians(latitude)))
        var best: (key: UInt64, number: Int, distance: Int64)?
        func consider(_ number: Int) {
            let courier = indexed[number]
            if needsColdChain && !courier.coldChain { return }
            let dy = courier.latitudeRadians - origin.latitude
            let dx = (courier.longitudeRadians - origin.longitude) * origin.cosine
            let reach = (Double(courier.radiusMetres) * 1.01 + 50) / CandidateSearch.earthRadiusMetres
            guard dx * dx + dy * dy <= reach * reach else { return }
            let distance = CandidateSearch.distanceMetres(
                origin.latitude, origin.longitude, origin.cosine, courier.latitudeRadians, courier.longitudeRadians, courier.cosineLatitude)
            guard distance <= courier.radiusMetres else { return }
            let key = UInt64(distance / 1_000) << 32 | UInt64(min(max(0, deliveriesToday(number)), 0xFFFF_FFFF))
            if let current = best, key > current.key || (key == current.key && ids[number] >= ids[current.number]) { return }
            // Eligibility last: it reads the book's changing state.
            guard eligible(number) else { return }
            best = (key, number, distance)
        }
        for ring in 0...max(0, rings) {
            // A cell in ring r is at least r − 1 whole cells away.
            if let found = best, ring >= 2, UInt64(Double(ring - 1) * cellMetres / 1_000) > found.key >> 32 { break }
            for row in (centre.row - ring)...(centre.row + ring) {
                let edge = row == centre.row - ring || row == centre.row + ring
                // An edge row of the ring is read whole; the rows between, only at both ends.
                let step = edge || ring == 0 ? 1 : 2 * ring
                for column in stride(from: centre.column - ring, through: centre.column + ring, by: Int(step)) {
                    guard let members = cells[CandidateSearch.Cell(row: row, column: column)] else { continue }
                    for number in members { consider(number) }
                }
            }
        }
        return best.map { (ids[$0.number], $0.number, $0.distance) }
    }
}

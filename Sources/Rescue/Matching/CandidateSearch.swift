#if canImport(Glibc)
import Glibc
#endif

/// Finds and ranks the recipients an offer should go to. Recipients sit in a grid of
/// 0.05° cells (about 5.5 km), so a search reads only the cells within the largest service
/// radius around the offer: its cost does not grow with recipients in other cities.
///
/// Ranking, deterministic, best first:
/// 1. distance, in whole kilometres (nearer first);
/// 2. fairness: fewer matches already granted in the current period first, so one NGO does not
///    take everything;
/// 3. capacity fit: the smallest |capacity − offered portions| first;
/// 4. the recipient id, to break ties.
///
/// A candidate must accept the category, have capacity, and have the offer within its own
/// service radius. Distances are haversine internally and integer metres outside.
public struct CandidateSearch: Sendable, Equatable {
    public static let cellMicrodegrees: Int64 = 50_000
    /// No recipient may serve further than this; it bounds the cells a search reads.
    public static let serviceRadiusMetresMax: Int64 = 30_000

    struct Cell: Hashable, Sendable {
        let row: Int64
        let column: Int64
    }

    public struct Candidate: Hashable, Sendable {
        public var recipient: String
        public var distanceMetres: Int64
        public var grants: Int64
        public var capacityGap: Int64
    }

    /// A recipient's geometry and limits as the search needs them, trigonometry done once. Kept
    /// apart from the ids so the scan copies plain values, never a reference-counted string,
    /// and stored in its grid cell, so a search reads a cell's recipients from consecutive
    /// memory (as numbers into one array, each was a cache miss: a third of a post's time).
    struct Indexed: Hashable, Sendable {
        /// The recipient's number (its order of registration).
        let number: Int
        let latitudeRadians: Double
        let longitudeRadians: Double
        let cosineLatitude: Double
        let radiusMetres: Int64
        /// The service radius with the flat approximation's margin, in radians of arc.
        let reach: Double
        let capacity: Int64
        /// Bits of `categoryBits` for the categories it accepts.
        let categoryMask: UInt64
    }

    /// Ids by number (the order of registration); grants are kept by number too.
    private var ids: [String] = []
    /// The largest service radius indexed: a search reads only the cells this far around.
    private var largestRadiusMetres: Int64 = 0
    private var numbers: IDTable<Int> = [:]
    /// Grid rows, each with its non-empty cells sorted by column: a search hashes one key per
    /// row and scans the columns it needs, instead of hashing every cell of the square.
    private var rows: [Int64: [GridCell]] = [:]

    struct GridCell: Hashable, Sendable {
        let column: Int64
        var members: [Indexed]
    }
    private var grantCounts: [Int64] = []
    /// A bit per food category seen so far (the policy has a handful).
    private var categoryBits: [String: UInt64] = [:]
    /// Exact category sets, kept only once there are more categories than bits.
    private var participantsCategories: [String: Set<String>] = [:]

    public init() {}

    /// Matches granted per recipient in the current fairness period.
    public var grants: [String: Int64] {
        Dictionary(uniqueKeysWithValues: ids.indices.filter { grantCounts[$0] > 0 }.map { (ids[$0], grantCounts[$0]) })
    }

    /// Adds a registered recipient to the index (others are ignored).
    public mutating func index(_ participant: ParticipantRegistry.Participant) {
        guard participant.role == .recipient, let latitude = participant.latitude, let longitude = participant.longitude,
            numbers[participant.id] == nil
        else { return }
        let number = ids.count
        ids.append(participant.id)
        largestRadiusMetres = max(largestRadiusMetres, min(participant.serviceRadiusMetres ?? 0, Self.serviceRadiusMetresMax))
        let radiusMetres = participant.serviceRadiusMetres ?? 0
        let indexed = Indexed(
            number: number, latitudeRadians: Self.radians(latitude), longitudeRadians: Self.radians(longitude),
            cosineLatitude: cos(Self.radians(latitude)), radiusMetres: radiusMetres,
            reach: (Double(radiusMetres) * 1.01 + 50) / Self.earthRadiusMetres, capacity: participant.capacityPortions ?? 0,
            categoryMask: participant.acceptedCategories.sorted().reduce(0) { $0 | bit(for: $1) })
        numbers[participant.id] = number
        if categoryBits.count > 63 { participantsCategories[participant.id] = participant.acceptedCategories }
        grantCounts.append(0)
        let cell = Self.cell(latitude, longitude)
        // Taken out of the table while it changes, so the append does not copy the whole row.
        var row = rows.removeValue(forKey: cell.row) ?? []
        let position = row.firstIndex { $0.column >= cell.column } ?? row.count
        if position < row.count && row[position].column == cell.column {
            row[position].members.append(indexed)
        } else {
            row.insert(GridCell(column: cell.column, members: [indexed]), at: position)
        }
        rows[cell.row] = row
    }

    /// The category's bit, assigning the next free one to a new category. Past 64 categories
    /// the last bit is shared, which only makes the exact check below necessary.
    private mutating func bit(for category: String) -> UInt64 {
        if let bit = categoryBits[category] { return bit }
        let bit = UInt64(1) << UInt64(min(categoryBits.count, 63))
        categoryBits[category] = bit
        return bit
    }

    public mutating func recordGrant(to recipient: String) {
        if let number = numbers[recipient] { grantCounts[number] += 1 }
    }

    /// Starts a new fairness period.
    public mutating func resetGrants() {
        for number in grantCounts.indices { grantCounts[number] = 0 }
    }

    /// The recipients that can take `portions` of `category` at the given place, best first;
    /// at most `limit` of them.
    public func candidates(latitude: Int64, longitude: Int64, category: String, portions: Int64, limit: Int = .max) -> [Candidate] {
        let (centre, low, high, rings, cellMetres) = Self.window(latitude: latitude, longitude: longitude, reachMetres: largestRadiusMetres)
        guard let categoryBit = categoryBits[category] else { return [] }
        let exactCategories = categoryBits.count > 63
        let origin = (latitude: Self.radians(latitude), longitude: Self.radians(longitude), cosine: cos(Self.radians(latitude)))
        // (ranking key, number): the key packs whole kilometres, grants and capacity gap so most
        // comparisons are one integer comparison; ties fall to the id.
        typealias Found = (key: UInt64, number: Int, distance: Int64, gap: Int64)
        func isBetter(_ a: Found, _ b: Found) -> Bool { a.key != b.key ? a.key < b.key : ids[a.number] < ids[b.number] }
        var best = [Found]()
        func consider(_ recipient: Indexed) {
            let number = recipient.number
            guard recipient.capacity > 0, recipient.categoryMask & categoryBit != 0 else { return }
            if exactCategories, !(participantsCategories[ids[number]]?.contains(category) ?? false) { return }
            // Equirectangular distance is within 1% of haversine at these ranges: skip
            // the trigonometry for recipients clearly out of reach.
            let dy = recipient.latitudeRadians - origin.latitude
            let dx = (recipient.longitudeRadians - origin.longitude) * origin.cosine
            guard dx * dx + dy * dy <= recipient.reach * recipient.reach else { return }
            // With `limit` in hand, someone a whole kilometre beyond the worst of them cannot
            // rank higher: skip the trigonometry. Any path between the two points crosses their
            // latitudes and longitudes, and a degree of longitude is never shorter than at the
            // more poleward of them, so the flat distance at that cosine bounds the true one
            // from below (100 m covers the great circle's slight bulge poleward).
            if best.count >= limit {
                let eastWest = (recipient.longitudeRadians - origin.longitude) * min(origin.cosine, recipient.cosineLatitude)
                let nearestMetres = (dy * dy + eastWest * eastWest).squareRoot() * Self.earthRadiusMetres - 100
                if nearestMetres >= Double((best[best.count - 1].key >> 48) + 1) * 1_000 { return }
            }
            let distance = Self.distanceMetres(
                origin.latitude, origin.longitude, origin.cosine, recipient.latitudeRadians, recipient.longitudeRadians,
                recipient.cosineLatitude)
            guard distance <= recipient.radiusMetres else { return }
            let gap = abs(recipient.capacity - portions)
            let key = UInt64(distance / 1_000) << 48 | UInt64(min(grantCounts[number], 0xFFFF)) << 32 | UInt64(min(gap, 0xFFFF_FFFF))
            let found: Found = (key, number, distance, gap)
            // Keep only the best `limit`, in order: most candidates lose to the current worst.
            // Shifted by hand: `insert(_:at:)` went through the generic `replaceSubrange`.
            if best.count >= limit {
                guard isBetter(found, best[best.count - 1]) else { return }
                best[best.count - 1] = found
            } else {
                best.append(found)
            }
            var position = best.count - 1
            while position > 0 && isBetter(found, best[position - 1]) {
                best[position] = best[position - 1]
                position -= 1
            }
            best[position] = found
        }
        func visit(row rowNumber: Int64, columns: ClosedRange<Int64>) {
            guard rowNumber >= low.row && rowNumber <= high.row, let row = rows[rowNumber] else { return }
            let first = max(columns.lowerBound, low.column)
            let last = min(columns.upperBound, high.column)
            guard first <= last else { return }
            let wanted = first...last
            var lower = 0
            var upper = row.count
            while lower < upper {
                let middle = (lower + upper) / 2
                if row[middle].column < wanted.lowerBound { lower = middle + 1 } else { upper = middle }
            }
            var position = lower
            while position < row.count && row[position].column <= wanted.upperBound {
                for member in row[position].members { consider(member) }
                position += 1
            }
        }
        // Rings of cells around the offer's, nearest first. A cell in ring r is at least r − 1
        // whole cells away, so once `limit` candidates are in hand and a ring cannot hold anyone
        // nearer (in whole kilometres) than the worst of them, the rest cannot rank higher.
        for ring in 0...max(0, rings) {
            if best.count >= limit, let worst = best.last, ring >= 2 {
                let nearestKilometres = UInt64(Double(ring - 1) * cellMetres / 1_000)
                if nearestKilometres > worst.key >> 48 { break }
            }
            if ring == 0 {
                visit(row: centre.row, columns: centre.column...centre.column)
                continue
            }
            visit(row: centre.row - ring, columns: (centre.column - ring)...(centre.column + ring))
            visit(row: centre.row + ring, columns: (centre.column - ring)...(centre.column + ring))
            for rowNumber in (centre.row - ring + 1)..<(centre.row + ring) {
                visit(row: rowNumber, columns: (centre.column - ring)...(centre.column - ring))
                visit(row: rowNumber, columns: (centre.column + ring)...(centre.column + ring))
            }
        }
        return best.map {
            Candidate(recipient: ids[$0.number], distanceMetres: $0.distance, grants: grantCounts[$0.number], capacityGap: $0.gap)
        }
    }

    static func radians(_ microdegrees: Int64) -> Double { Double(microdegrees) / 1_000_000 * .pi / 180 }

    /// The cells a search around a point must read to reach `reachMetres` (the largest radius
    /// indexed): the point's cell, the square's corners, how many rings of cells that is, and
    /// the narrowest a cell gets within it (its width at the most poleward latitude searched),
    /// which bounds how near anyone in a later ring can be. Shared with `CourierSearch`.
    static func window(latitude: Int64, longitude: Int64, reachMetres radius: Int64) -> (centre: Cell, low: Cell, high: Cell, rings: Int64, cellMetres: Double) {
        // Slightly more than the radius: cells are picked on a flat approximation.
        let reachMetres = Double(radius) * 1.01 + 50
        let latitudeSpan = Int64((reachMetres / 111_320 * 1_000_000).rounded(.up))
        let cosine = max(0.01, cos(Double(latitude) / 1_000_000 * .pi / 180))
        let longitudeSpan = Int64((reachMetres / (111_320 * cosine) * 1_000_000).rounded(.up))
        let centre = cell(latitude, longitude)
        let low = cell(latitude - latitudeSpan, longitude - longitudeSpan)
        let high = cell(latitude + latitudeSpan, longitude + longitudeSpan)
        let rings = max(centre.row - low.row, high.row - centre.row, centre.column - low.column, high.column - centre.column)
        let poleward = min(90, abs(Double(latitude) / 1_000_000) + 0.3) * .pi / 180
        let cellMetres = Double(cellMicrodegrees) / 1_000_000 * 111_000 * max(0.001, cos(poleward))
        return (centre, low, high, rings, cellMetres)
    }

    static func cell(_ latitude: Int64, _ longitude: Int64) -> Cell {
        // Floor division, so cells do not fold across the equator or the prime meridian.
        func floorDivide(_ value: Int64) -> Int64 { value >= 0 ? value / cellMicrodegrees : -((-value + cellMicrodegrees - 1) / cellMicrodegrees) }
        return Cell(row: floorDivide(latitude), column: floorDivide(longitude))
    }

    /// Great-circle distance in whole metres between two points given in micro-degrees.
    public static func distanceMetres(_ latitude1: Int64, _ longitude1: Int64, _ latitude2: Int64, _ longitude2: Int64) -> Int64 {
        distanceMetres(
            radians(latitude1), radians(longitude1), cos(radians(latitude1)), radians(latitude2), radians(longitude2), cos(radians(latitude2)))
    }

    /// Haversine from radians with the cosines of both latitudes given (computed once per recipient).
    static func distanceMetres(
        _ latitude1: Double, _ longitude1: Double, _ cosine1: Double, _ latitude2: Double, _ longitude2: Double, _ cosine2: Double
    ) -> Int64 {
        let sineLatitude = sin((latitude2 - latitude1) / 2)
        let sineLongitude = sin((longitude2 - longitude1) / 2)
        let a = sineLatitude * sineLatitude + cosine1 * cosine2 * sineLongitude * sineLongitude
        return Int64((2 * earthRadiusMetres * asin(min(1, sqrt(a)))).rounded())
    }

    /// The mean Earth radius (IUGG), metres.
    static let earthRadiusMetres = 6_371_008.8
}

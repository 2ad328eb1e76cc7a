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

    private var cells: [Cell: [String]] = [:]
    private var recipients: [String: ParticipantRegistry.Participant] = [:]
    /// Matches granted per recipient in the current fairness period.
    public private(set) var grants: [String: Int64] = [:]

    public init() {}

    /// Adds a registered recipient to the index (others are ignored).
    public mutating func index(_ participant: ParticipantRegistry.Participant) {
        guard participant.role == .recipient, let latitude = participant.latitude, let longitude = participant.longitude else { return }
        recipients[participant.id] = participant
        cells[Self.cell(latitude, longitude), default: []].append(participant.id)
    }

    public mutating func recordGrant(to recipient: String) { grants[recipient, default: 0] += 1 }

    /// Starts a new fairness period.
    public mutating func resetGrants() { grants = [:] }

    /// The recipients that can take `portions` of `category` at the given place, best first.
    public func candidates(latitude: Int64, longitude: Int64, category: String, portions: Int64) -> [Candidate] {
        let latitudeSpan = Int64((Double(Self.serviceRadiusMetresMax) / 111_320 * 1_000_000).rounded(.up))
        let cosine = max(0.01, cos(Double(latitude) / 1_000_000 * .pi / 180))
        let longitudeSpan = Int64((Double(Self.serviceRadiusMetresMax) / (111_320 * cosine) * 1_000_000).rounded(.up))
        let low = Self.cell(latitude - latitudeSpan, longitude - longitudeSpan)
        let high = Self.cell(latitude + latitudeSpan, longitude + longitudeSpan)
        var found = [Candidate]()
        for row in low.row...high.row {
            for column in low.column...high.column {
                for id in cells[Cell(row: row, column: column)] ?? [] {
                    let recipient = recipients[id]!
                    guard recipient.acceptedCategories.contains(category), let capacity = recipient.capacityPortions, capacity > 0 else { continue }
                    let distance = Self.distanceMetres(latitude, longitude, recipient.latitude!, recipient.longitude!)
                    guard distance <= (recipient.serviceRadiusMetres ?? 0) else { continue }
                    found.append(Candidate(recipient: id, distanceMetres: distance, grants: grants[id] ?? 0, capacityGap: abs(capacity - portions)))
                }
            }
        }
        return found.sorted {
            ($0.distanceMetres / 1_000, $0.grants, $0.capacityGap, $0.recipient) < ($1.distanceMetres / 1_000, $1.grants, $1.capacityGap, $1.recipient)
        }
    }

    static func cell(_ latitude: Int64, _ longitude: Int64) -> Cell {
        // Floor division, so cells do not fold across the equator or the prime meridian.
        func floorDivide(_ value: Int64) -> Int64 { value >= 0 ? value / cellMicrodegrees : -((-value + cellMicrodegrees - 1) / cellMicrodegrees) }
        return Cell(row: floorDivide(latitude), column: floorDivide(longitude))
    }

    /// Great-circle distance in whole metres between two points given in micro-degrees.
    public static func distanceMetres(_ latitude1: Int64, _ longitude1: Int64, _ latitude2: Int64, _ longitude2: Int64) -> Int64 {
        let radians = { (microdegrees: Int64) in Double(microdegrees) / 1_000_000 * .pi / 180 }
        let deltaLatitude = radians(latitude2 - latitude1)
        let deltaLongitude = radians(longitude2 - longitude1)
        let a = sin(deltaLatitude / 2) * sin(deltaLatitude / 2)
            + cos(radians(latitude1)) * cos(radians(latitude2)) * sin(deltaLongitude / 2) * sin(deltaLongitude / 2)
        return Int64((2 * 6_371_008.8 * asin(min(1, sqrt(a)))).rounded())
    }
}

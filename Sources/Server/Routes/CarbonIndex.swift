import Core
import Foundation
import Ledger
import Rescue

/// The carbon entries of the ledger (mints, transfers, retirements, cancellations) with the
/// serial ranges they touch, so a serial's history does not rescan the ledger: the first
/// request reads it once, later ones only what was appended since.
final class CarbonIndex: Sendable {
    struct Movement {
        let seq: UInt64
        let time: Int64
        let event: RescueEvent
        let ranges: [SerialRange]
    }

    private let movements = LedgerFold([Movement]()) { movements, seq, body in
        guard body.contains(subsequence: CarbonIndex.carbonKindPrefix), let decoded = try? EntryCodec.decode(bodyBytes: body, seq: seq) else { return }
        let ranges = decoded.event.serialRanges
        if !ranges.isEmpty { movements.append(Movement(seq: seq, time: decoded.time, event: decoded.event, ranges: ranges)) }
    }

    /// Every movement of one serial up to tree size `size`, oldest first.
    func history(vintage: Int, serial: Int64, ledger: Ledger, upTo size: UInt64) throws -> [[String: JSONValue]] {
        try movements.read(ledger, upTo: size) { movements in
            movements.filter { movement in
                movement.seq < size && movement.ranges.contains { $0.vintage == vintage && $0.first <= serial && serial <= $0.last }
            }.map(Self.describe)
        }
    }

    /// Every carbon kind starts so (`EntryKind.carbon…`): a cheap filter before decoding.
    private static let carbonKindPrefix = Array(#""kind":"carbon."#.utf8)

    private static func describe(_ movement: Movement) -> [String: JSONValue] {
        var answer: [String: JSONValue] = ["seq": .integer(Int64(movement.seq)), "time": .integer(movement.time), "kind": .string(movement.event.kind.rawValue)]
        switch movement.event {
        case .carbonMinted(let minted):
            answer["company"] = .string(minted.company)
            answer["rescue"] = .integer(Int64(minted.rescue))
            answer["range"] = minted.range.map(EntryCodec.rangeValue)
            answer["buffer"] = minted.buffer.map(EntryCodec.rangeValue)
        case .carbonTransferred(let from, let to, let range):
            answer["from"] = .string(from)
            answer["to"] = .string(to)
            answer["range"] = EntryCodec.rangeValue(range)
        case .carbonRetired(let owner, let range, let beneficiary, let reason):
            answer["owner"] = .string(owner)
            answer["range"] = EntryCodec.rangeValue(range)
            answer["beneficiary"] = .string(beneficiary)
            answer["reason"] = .string(reason)
        case .carbonCancelled(let owner, let range, let reason):
            answer["owner"] = .string(owner)
            answer["range"] = EntryCodec.rangeValue(range)
            answer["reason"] = .string(reason)
        default: break
        }
        return answer
    }
}

import Compliance
import Foundation
import Ledger
import Rescue

/// The reports of a ledger at its latest signed checkpoint. The facts they read are folded from
/// the ledger incrementally: the first request reads every entry once, later ones only what the
/// checkpoint added since. Reports never see entries the checkpoint does not cover, so each of
/// their seqs can be proved against the checkpoint they state.
public final class ReportBook: Sendable {
    private let facts = LedgerFold(ReportFacts()) { (facts, seq, body) throws(LedgerError) in try ReportBook.step(&facts, seq: seq, body: body) }

    public init() {}

    /// How many entries the facts cover so far.
    public var foldedSize: UInt64 { facts.foldedSize }

    /// The reports at the latest checkpoint of `ledger`.
    public func reports(_ ledger: Ledger) throws(LedgerError) -> Reports {
        guard let checkpoint = ledger.latestCheckpoint?.checkpoint else { throw LedgerError(.notFound, "the ledger has no checkpoint yet") }
        return try facts.read(ledger, upTo: checkpoint.size) { facts in
            precondition(facts.size == checkpoint.size, "checkpoints never shrink")
            return Reports(facts: facts, checkpointSize: checkpoint.size, checkpointRoot: checkpoint.root.hex)
        }
    }

    /// Folds entries `facts.size ..< size` of `ledger` into `facts`.
    public static func fold(_ ledger: Ledger, into facts: inout ReportFacts, to size: UInt64) throws(LedgerError) {
        try ledger.forEachBodySlice(from: facts.size, to: size) { (slice) throws(LedgerError) in
            for (seq, body) in slice { try step(&facts, seq: seq, body: body) }
        }
    }

    /// One entry folded into the facts (every entry counts towards `facts.size`).
    static func step(_ facts: inout ReportFacts, seq: UInt64, body: [UInt8]) throws(LedgerError) {
        let decoded: (event: RescueEvent, time: Int64)?
        do throws(CodecError) {
            decoded = try EntryCodec.decode(bodyBytes: body, seq: seq)
        } catch {
            throw LedgerError(.badEntry, error.description, seq: seq)
        }
        guard let decoded else {
            facts.apply(seq: seq, time: 0, policy: "", event: nil)
            return
        }
        // Only completions need their policy (the factor set); reading it costs a parse.
        var policy = ""
        if case .rescueCompleted = decoded.event { policy = (try? JSONObjectView(bytes: body))?.string("policy") ?? "" }
        facts.apply(seq: seq, time: decoded.time, policy: policy, event: decoded.event)
    }
}

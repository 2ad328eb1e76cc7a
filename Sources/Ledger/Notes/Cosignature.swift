/// C2SP tlog-cosignature v1 (Ed25519): a witness's timestamped statement that, at time T, the
/// checkpoint is the largest consistent tree it has seen for the log. The signature line's bytes
/// are key id (4) ‖ T (8, big-endian) ‖ Ed25519 signature (64) over
/// `cosignature/v1\ntime <T>\n` ‖ the checkpoint text.
public enum Cosignature {
    public static let signatureByteCount = 8 + VerifierKey.signatureByteCount
    /// How far in the future a cosignature's time may be before it is refused (clock skew).
    public static let futureLeewaySeconds: UInt64 = 600

    /// The exact bytes a witness signs for `checkpointText` at `time` (POSIX seconds).
    public static func message(checkpointText: String, time: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(time)\n".utf8) + Array(checkpointText.utf8)
    }

    /// The cosignature of `key` (a witness key, type 0x04) on `checkpointText` at `time`.
    public static func sign(checkpointText: String, key: SigningKey, time: UInt64) -> SignedNote.Signature {
        precondition(key.verifier.type == .cosignature, "a cosignature is made with a witness key (type 0x04)")
        precondition(time <= UInt64(Int64.max), "a cosignature's time is at most 2^63 - 1")
        let signature = key.sign(message(checkpointText: checkpointText, time: time))
        return SignedNote.Signature(name: key.verifier.name, keyID: key.verifier.id, signature: bigEndian(time) + signature)
    }

    /// The time of `signature` when it is `key`'s valid cosignature on `checkpointText` and not
    /// later than `now` plus the leeway; nil otherwise (including lines by other keys).
    public static func verify(_ signature: SignedNote.Signature, checkpointText: String, key: VerifierKey, now: UInt64) -> UInt64? {
        guard key.type == .cosignature, signature.name == key.name, signature.keyID == key.id,
            signature.signature.count == signatureByteCount
        else { return nil }
        let time = signature.signature.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard time <= UInt64(Int64.max), time <= now &+ futureLeewaySeconds else { return nil }
        guard key.isValidSignature(signature.signature.dropFirst(8), for: message(checkpointText: checkpointText, time: time)) else {
            return nil
        }
        return time
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }
}

/// Who must have cosigned a checkpoint for it to count as witnessed: trusted witness keys and a quorum.
public struct WitnessQuorum: Sendable, Equatable {
    public let keys: [VerifierKey]
    public let quorum: Int

    /// `keys` are distinct witness keys (type 0x04); `quorum` is 0…their number.
    public init(keys: [VerifierKey], quorum: Int) throws(LedgerError) {
        guard keys.allSatisfy({ $0.type == .cosignature }) else { throw LedgerError(.badKey, "witness keys are of type 0x04") }
        // One public key under two names would let one cosignature count twice: the cosigned
        // message does not name the witness.
        guard Set(keys.map(\.name)).count == keys.count, Set(keys.map(\.publicKey)).count == keys.count else {
            throw LedgerError(.badKey, "each witness is named once, with its own key")
        }
        guard quorum >= 0, quorum <= keys.count else {
            throw LedgerError(.badKey, "the quorum is 0…\(keys.count), the number of witnesses")
        }
        self.keys = keys
        self.quorum = quorum
    }

    /// No witnesses: every checkpoint our key signed counts.
    public static let none = try! WitnessQuorum(keys: [], quorum: 0)

    /// The distinct trusted witnesses whose cosignature on `note` verifies.
    public func cosigners(of note: SignedNote, now: UInt64) -> [VerifierKey] {
        keys.filter { key in
            note.signatures.contains { Cosignature.verify($0, checkpointText: note.text, key: key, now: now) != nil }
        }
    }

    /// Checks that at least `quorum` trusted witnesses cosigned `note`, and that no line in the
    /// name and key id of a trusted witness fails (C2SP signed-note: reject the note then).
    /// - Throws: `badSignature` naming the failing witness or how many cosigned.
    public func check(_ note: SignedNote, now: UInt64) throws(LedgerError) {
        for key in keys {
            for line in note.signatures where line.name == key.name && line.keyID == key.id {
                guard Cosignature.verify(line, checkpointText: note.text, key: key, now: now) != nil else {
                    throw LedgerError(.badSignature, "the cosignature by \(key.name)+\(key.id) does not verify (or is dated in the future)")
                }
            }
        }
        let count = cosigners(of: note, now: now).count
        guard count >= quorum else {
            throw LedgerError(.badSignature, "the checkpoint is cosigned by \(count) of the \(keys.count) trusted witnesses; the quorum is \(quorum)")
        }
    }
}

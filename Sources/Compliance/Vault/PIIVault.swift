#if canImport(Glibc)
import Glibc
#endif
import CSodium
import Ledger
import Rescue

/// The only place personal data lives (names, phone numbers, e-mail, street addresses, NIK,
/// personal NPWP). Each data subject's record is sealed with its own key (XChaCha20-Poly1305,
/// libsodium); each subject key is sealed with the master key, which is kept outside both the
/// vault and the ledger directory. Erasing a subject destroys its key (crypto-shredding): the
/// sealed record, and any copy of it in a backup, can no longer be opened by anyone.
///
/// Layout: `keys/<subject>` (the sealed subject key), `records/<subject>` (the sealed record),
/// `erased/<subject>` (when it was erased, so a read says "erased" rather than "unknown").
/// Each file is written atomically (temporary file, fsync, rename, directory fsync).
public final class PIIVault: Sendable {
    public let directory: String
    private let masterKey: [UInt8]

    static let keyContext = Array("pahlawan-subject-key/v1".utf8) + [0]
    static let recordContext = Array("pahlawan-pii-record/v1".utf8) + [0]

    /// Opens (creating its folders) the vault in `directory` with the 32-byte master key.
    public init(directory: String, masterKey: [UInt8]) throws(VaultError) {
        guard masterKey.count == Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES) else { throw VaultError(.badMasterKey, "the master key must be 32 bytes") }
        self.directory = directory
        self.masterKey = masterKey
        for folder in ["keys", "records", "erased"] {
            try Self.storage { () throws(LedgerError) in try FileIO.makeDirectories(directory + "/" + folder) }
        }
    }

    /// Seals and stores `record` for `subject` (replacing an earlier one); a new subject gets a
    /// new random key. An erased subject cannot be stored again under the same id.
    public func store(subject: String, record: [String: JSONValue]) throws(VaultError) {
        try checkID(subject)
        guard !FileIO.exists(erasedPath(subject)) else { throw VaultError(.erased, "subject \(subject) was erased; register a new pseudonym") }
        let key: [UInt8]
        if FileIO.exists(keyPath(subject)) {
            key = try subjectKey(subject)
        } else {
            key = Sodium.randomBytes(Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES))
            try write(keyPath(subject), Self.seal(key, key: masterKey, context: Self.keyContext + Array(subject.utf8)))
        }
        try write(recordPath(subject), Self.seal(CanonicalJSON.encode(.object(record)), key: key, context: Self.recordContext + Array(subject.utf8)))
    }

    /// Whether the vault holds (or held, before an erasure) a subject of this id.
    public func knows(subject: String) -> Bool {
        (try? checkID(subject)) != nil && (FileIO.exists(recordPath(subject)) || FileIO.exists(erasedPath(subject)))
    }

    /// The subject's record, unsealed.
    public func read(subject: String) throws(VaultError) -> [String: JSONValue] {
        try checkID(subject)
        if FileIO.exists(erasedPath(subject)) { throw VaultError(.erased, "subject \(subject) was erased") }
        guard FileIO.exists(recordPath(subject)) else { throw VaultError(.unknownSubject, "no personal data for \(subject)") }
        let key = try subjectKey(subject)
        let sealed = try Self.storage { () throws(LedgerError) in try FileIO.readAll(recordPath(subject)) }
        guard let plain = Self.open(sealed, key: key, context: Self.recordContext + Array(subject.utf8)),
            case .object(let record)? = try? CanonicalJSON.parse(plain)
        else { throw VaultError(.damaged, "the sealed record of \(subject) does not open") }
        return record
    }

    /// Destroys the subject's key (overwritten, synced, removed), then its sealed record, and
    /// notes the erasure. Returns the SHA-256 of the sealed key that was destroyed, for the
    /// `subject.erased` entry: proof of which key is gone, revealing nothing.
    @discardableResult
    public func erase(subject: String, at time: Int64) throws(VaultError) -> Hash {
        try checkID(subject)
        if FileIO.exists(erasedPath(subject)) { throw VaultError(.erased, "subject \(subject) was already erased") }
        guard FileIO.exists(keyPath(subject)) else { throw VaultError(.unknownSubject, "no personal data for \(subject)") }
        let sealedKey = try Self.storage { () throws(LedgerError) in try FileIO.readAll(keyPath(subject)) }
        let digest = SHA256.hash(sealedKey)
        try write(erasedPath(subject), Array("\(time)\n\(digest.hex)\n".utf8))
        // Overwrite in place before unlinking, so the key's bytes do not linger in free blocks
        // of the file system any longer than it takes the device to reuse them.
        try overwriteWithZeros(keyPath(subject), count: sealedKey.count)
        unlink(keyPath(subject))
        unlink(recordPath(subject))
        try Self.storage { () throws(LedgerError) in
            try FileIO.syncDirectory(directory + "/keys")
            try FileIO.syncDirectory(directory + "/records")
        }
        return digest
    }

    /// Whether the subject was erased.
    public func isErased(_ subject: String) -> Bool { FileIO.exists(erasedPath(subject)) }

    /// When the subject was erased and the digest of the key destroyed, from the vault's own
    /// note (so an erasure whose ledger entry was lost to a crash can still be recorded).
    public func erasure(of subject: String) -> (time: Int64, sealedKeyDigest: Hash)? {
        guard (try? checkID(subject)) != nil, let bytes = try? FileIO.readAll(erasedPath(subject)) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard lines.count >= 2, let time = Int64(lines[0]), let digest = Hash(hex: String(lines[1])) else { return nil }
        return (time, digest)
    }

    // MARK: Files and sealing

    private func keyPath(_ subject: String) -> String { directory + "/keys/" + subject }
    private func recordPath(_ subject: String) -> String { directory + "/records/" + subject }
    private func erasedPath(_ subject: String) -> String { directory + "/erased/" + subject }

    /// Subject ids are pseudonyms, which also keeps them safe as file names.
    private func checkID(_ subject: String) throws(VaultError) {
        guard ParticipantRegistry.isPseudonymous(subject), !subject.hasPrefix(".") else {
            throw VaultError(.badSubject, "subject ids are pseudonyms: 1–64 of a-z 0-9 . _ : -")
        }
    }

    private func subjectKey(_ subject: String) throws(VaultError) -> [UInt8] {
        let sealed = try Self.storage { () throws(LedgerError) in try FileIO.readAll(keyPath(subject)) }
        guard let key = Self.open(sealed, key: masterKey, context: Self.keyContext + Array(subject.utf8)) else {
            throw VaultError(.damaged, "the subject key of \(subject) does not open with this master key")
        }
        return key
    }

    private func write(_ path: String, _ bytes: [UInt8]) throws(VaultError) {
        try Self.storage { () throws(LedgerError) in try FileIO.writeAtomically(path, bytes, mode: 0o600) }
    }

    /// A file operation whose failure is the vault's `storage` error (naming the file).
    @discardableResult
    private static func storage<T>(_ operation: () throws(LedgerError) -> T) throws(VaultError) -> T {
        do { return try operation() } catch { throw VaultError(.storage, error.description) }
    }

    private func overwriteWithZeros(_ path: String, count: Int) throws(VaultError) {
        let descriptor = Glibc.open(path, O_WRONLY)
        guard descriptor >= 0 else { throw VaultError(.storage, "cannot open \(path) to destroy it") }
        defer { close(descriptor) }
        let zeros = [UInt8](repeating: 0, count: count)
        guard pwrite(descriptor, zeros, count, 0) == count, fsync(descriptor) == 0 else { throw VaultError(.storage, "cannot overwrite \(path)") }
    }

    /// nonce ‖ XChaCha20-Poly1305(plain), bound to `context` as associated data.
    static func seal(_ plain: [UInt8], key: [UInt8], context: [UInt8]) -> [UInt8] {
        Sodium.ensureInitialised()
        let nonce = Sodium.randomBytes(Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES))
        var sealed = [UInt8](repeating: 0, count: plain.count + Int(crypto_aead_xchacha20poly1305_ietf_ABYTES))
        var length: UInt64 = 0
        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
            &sealed, &length, plain, UInt64(plain.count), context, UInt64(context.count), nil, nonce, key)
        return nonce + sealed.prefix(Int(length))
    }

    static func open(_ sealed: [UInt8], key: [UInt8], context: [UInt8]) -> [UInt8]? {
        Sodium.ensureInitialised()
        let nonceCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
        guard sealed.count >= nonceCount + Int(crypto_aead_xchacha20poly1305_ietf_ABYTES) else { return nil }
        let nonce = Array(sealed.prefix(nonceCount))
        let cipher = Array(sealed.dropFirst(nonceCount))
        var plain = [UInt8](repeating: 0, count: cipher.count)
        var length: UInt64 = 0
        let result = crypto_aead_xchacha20poly1305_ietf_decrypt(
            &plain, &length, nil, cipher, UInt64(cipher.count), context, UInt64(context.count), nonce, key)
        return result == 0 ? Array(plain.prefix(Int(length))) : nil
    }
}

/// Why the vault refused; `code` is stable.
public struct VaultError: Error, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        case badMasterKey, badSubject, unknownSubject, erased, damaged, storage
    }

    public let code: Code
    public let reason: String

    init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(reason)" }
}

/// Why personal data is read unmasked (`pii.accessed`'s `reason`; UU PDP asks for the purpose of
/// every processing): a code, with the case named by a ticket id, never free text.
public enum UnmaskedReadReason: String, Hashable, Sendable, CaseIterable {
    /// Settling a dispute between a provider and a claimant.
    case disputeInvestigation
    /// Reaching a participant to hand over food.
    case deliveryContact
    /// The data subject asked (access, correction, export).
    case subjectRequest
    /// A legal obligation: a tax office's or a court's request.
    case legalObligation
    /// Investigating fraud or abuse.
    case fraudInvestigation
}

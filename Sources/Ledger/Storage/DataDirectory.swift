/// Where a ledger keeps its files. The layout is part of ledger/FORMAT.md.
public struct DataDirectory: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var logDirectory: String { path + "/log" }
    /// C2SP tlog-tiles hash tiles: `tile/<L>/<N>`.
    public var tileDirectory: String { path + "/tile" }
    /// Held locked (flock) by the one process writing this directory.
    public var lockFile: String { path + "/lock" }
    public var checkpointFile: String { path + "/checkpoint" }
    /// Every checkpoint signed, by size (ledger/FORMAT.md §10.4).
    public var checkpointHistoryFile: String { path + "/checkpoints" }
    /// The newest checkpoint with a quorum of witness cosignatures (ledger/FORMAT.md §10.3).
    public var cosignedCheckpointFile: String { path + "/checkpoint.cosigned" }
    /// Every checkpoint's note with the cosignatures the service collected, by size (§10.4).
    public var cosignedHistoryFile: String { path + "/checkpoints.cosigned" }
    public var signingKeyFile: String { path + "/signing.key" }
    /// The log's initial verifier key: the one key an auditor pins (later ones follow from it, §10.7).
    public var verifierKeyFile: String { path + "/verifier.key" }
    /// The key chain after a rotation: `<first seq> <verifier key>` per line (§10.7).
    public var keysFile: String { path + "/keys" }
    /// The incoming signing key while a rotation is being written (§10.7).
    public var nextSigningKeyFile: String { path + "/signing.key.next" }

    /// Writes a new key pair: the signing key with mode 0600, refusing to overwrite either file.
    public static func writeKeyPair(_ key: SigningKey, into directory: String) throws(LedgerError) {
        try FileIO.makeDirectories(directory)
        let data = DataDirectory(directory)
        guard !FileIO.exists(data.signingKeyFile), !FileIO.exists(data.verifierKeyFile) else {
            throw LedgerError(.alreadyExists, "a key already exists here; refusing to overwrite it", file: data.signingKeyFile)
        }
        try FileIO.createExclusive(data.signingKeyFile, Array((key.privateText + "\n").utf8), mode: 0o600)
        try FileIO.createExclusive(data.verifierKeyFile, Array((key.verifier.text + "\n").utf8), mode: 0o644)
    }

    /// The signing key stored here, or a new one (written here) when there is none yet.
    public func loadOrCreateSigningKey(name: String) throws(LedgerError) -> (key: SigningKey, created: Bool) {
        if FileIO.exists(signingKeyFile) { return (try loadSigningKey(), false) }
        let key = try SigningKey.generate(name: name)
        try Self.writeKeyPair(key, into: path)
        return (key, true)
    }

    public func loadSigningKey() throws(LedgerError) -> SigningKey {
        do {
            return try SigningKey(text: String(decoding: try FileIO.readAll(signingKeyFile), as: UTF8.self))
        } catch {
            throw LedgerError(error.code, error.reason, file: signingKeyFile)
        }
    }

    /// The incoming key of a rotation in progress, nil when there is none.
    func loadNextSigningKey() throws(LedgerError) -> SigningKey? {
        guard FileIO.exists(nextSigningKeyFile) else { return nil }
        do {
            return try SigningKey(text: String(decoding: try FileIO.readAll(nextSigningKeyFile), as: UTF8.self))
        } catch {
            throw LedgerError(error.code, error.reason, file: nextSigningKeyFile)
        }
    }

    /// The key chain as last written (§10.7): nil before the first rotation. The writer checks it
    /// against the log on open; it lets open find the checkpoint's key without reading every entry.
    func readKeyChainLinks() throws(LedgerError) -> [(firstSeq: UInt64, key: VerifierKey)]? {
        guard FileIO.exists(keysFile) else { return nil }
        let text = String(decoding: try FileIO.readAll(keysFile), as: UTF8.self)
        var links = [(firstSeq: UInt64, key: VerifierKey)]()
        for (number, line) in text.split(separator: "\n").enumerated() {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let seq = UInt64(parts[0]), let key = try? VerifierKey(text: String(parts[1])),
                links.isEmpty ? seq == 0 : seq > links[links.count - 1].firstSeq
            else {
                throw LedgerError(.badKey, "line \(number + 1) is not `<first seq> <verifier key>` in increasing seq order", file: keysFile)
            }
            links.append((seq, key))
        }
        guard !links.isEmpty else { throw LedgerError(.badKey, "the keys file is empty", file: keysFile) }
        return links
    }

    /// Replaces the keys file with `chain` (atomically, synced).
    func writeKeyChain(_ chain: KeyChain) throws(LedgerError) {
        let text = chain.links.map { "\($0.firstSeq) \($0.key.text)\n" }.joined()
        try FileIO.writeAtomically(keysFile, Array(text.utf8))
    }

    public func loadVerifierKey() throws(LedgerError) -> VerifierKey {
        do {
            return try VerifierKey(text: String(decoding: try FileIO.readAll(verifierKeyFile), as: UTF8.self))
        } catch {
            throw LedgerError(error.code, error.reason, file: verifierKeyFile)
        }
    }

    public func readCheckpointNote() throws(LedgerError) -> String? {
        guard FileIO.exists(checkpointFile) else { return nil }
        return String(decoding: try FileIO.readAll(checkpointFile), as: UTF8.self)
    }

    public var exists: Bool { FileIO.isDirectory(path) }

    /// A 32-byte secret kept in this directory under `name` (hex, mode 0600), created on first
    /// use: keys the service needs beside the ledger but never writes into it (pickup codes).
    public func loadOrCreateSecret(named name: String) throws(LedgerError) -> (bytes: [UInt8], created: Bool) {
        let file = path + "/" + name
        if FileIO.exists(file) {
            let text = String(decoding: try FileIO.readAll(file), as: UTF8.self).trimmingSuffix(while: { $0 == "\n" })
            guard let bytes = Hex.decode(text), bytes.count == 32 else {
                throw LedgerError(.badKey, "expected 64 hexadecimal digits", file: file)
            }
            return (bytes, false)
        }
        try FileIO.makeDirectories(path)
        let bytes = Sodium.randomBytes(32)
        try FileIO.createExclusive(file, Array((Hex.encode(bytes) + "\n").utf8), mode: 0o600)
        return (bytes, true)
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var text = Substring(self)
        while let last = text.last, predicate(last) { text = text.dropLast() }
        return String(text)
    }
}

import Ledger

/// `policies/witnesses.yaml`, validated: who cosigns the ledger's checkpoints and how many
/// cosignatures make a checkpoint witnessed (ledger/FORMAT.md §10.6). Not part of the policy
/// hash: who witnesses the log changes no figure an entry states.
public struct WitnessPolicy: Sendable, Equatable {
    public struct Witness: Sendable, Equatable {
        public let key: VerifierKey
        /// add-checkpoint is POSTed to `url` + `/add-checkpoint`.
        public let url: String
        public var name: String { key.name }
    }

    public static let witnessCountMax = 32

    public let witnesses: [Witness]
    public let quorum: WitnessQuorum

    /// No witnesses (the file is absent): checkpoints are signed by our key alone.
    public static let none = WitnessPolicy(witnesses: [], quorum: .none)

    init(witnesses: [Witness], quorum: WitnessQuorum) {
        self.witnesses = witnesses
        self.quorum = quorum
    }

    /// `http(s)://host[:port][/path]` (host: letters, digits, `.` and `-`, or `[IPv6]`), where
    /// `/add-checkpoint` is appended; no user, password, query or fragment.
    static func isSubmissionPrefix(_ url: String) -> Bool {
        guard url.utf8.count <= 2_048, url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
            !url.contains("?"), !url.contains("#"), !url.contains("@")
        else { return false }
        let rest: Substring
        if url.hasPrefix("https://") { rest = url.dropFirst(8) } else if url.hasPrefix("http://") { rest = url.dropFirst(7) } else { return false }
        let authority = rest.prefix { $0 != "/" }
        var host = authority
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return false }
                port = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return false }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                port = authority[authority.index(after: colon)...]
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) else { return false }
        }
        if let port { guard let number = Int(port), String(number) == port, (1...65_535).contains(number) else { return false } }
        return true
    }

    /// Loads `path`; a missing file means no witnesses. A problem names file, line, key and reason.
    public static func load(path: String) throws(PolicyError) -> WitnessPolicy {
        guard let bytes = FileBytes.read(path) else { return .none }
        let file = try PolicyFile(path: path, text: String(decoding: bytes, as: UTF8.self))
        try file.expectVersion()
        let unknownTop = (file.root.mapping?.keys.compactMap(\.string) ?? []).filter { !["version", "quorum", "witnesses"].contains($0) }
        guard unknownTop.isEmpty else { throw file.error(unknownTop.sorted()[0], "is not a key of witnesses.yaml (version, quorum, witnesses)") }
        let list = try file.node("witnesses")
        guard let items = list.sequence else { throw file.error("witnesses", "must be a list (empty: [])") }
        guard items.count <= witnessCountMax else { throw file.error("witnesses", "at most \(witnessCountMax) witnesses") }
        var witnesses = [Witness]()
        for (index, item) in items.enumerated() {
            let where_ = "witnesses[\(index)]"
            func text(_ field: String) throws(PolicyError) -> String {
                guard let value = item.mapping?[field], let text = value.scalar?.string, !text.isEmpty else {
                    throw PolicyError(file: path, line: item.mark?.line, key: "\(where_).\(field)", reason: "is missing or empty")
                }
                return text
            }
            let name = try text("name")
            let keyText = try text("key")
            let key: VerifierKey
            do throws(LedgerError) {
                key = try VerifierKey(text: keyText, type: .cosignature)
            } catch {
                throw PolicyError(file: path, line: item.mapping?["key"]?.mark?.line, key: "\(where_).key", reason: error.reason)
            }
            guard key.name == name else {
                throw PolicyError(file: path, line: item.mark?.line, key: "\(where_).name", reason: "must equal the key's name \(key.name)")
            }
            guard !witnesses.contains(where: { $0.name == name || $0.key.publicKey == key.publicKey }) else {
                // One key under two names would let one cosignature count twice (the cosigned
                // message does not name the witness).
                throw PolicyError(file: path, line: item.mark?.line, key: "\(where_).name", reason: "another witness already has this name or key")
            }
            let url = try text("url")
            guard Self.isSubmissionPrefix(url) else {
                throw PolicyError(
                    file: path, line: item.mapping?["url"]?.mark?.line, key: "\(where_).url",
                    reason: "must be an http:// or https:// URL with a host and no user, password, query or fragment")
            }
            let normalised = url.hasSuffix("/") ? String(url.dropLast()) : url
            guard !witnesses.contains(where: { $0.url == normalised }) else {
                throw PolicyError(file: path, line: item.mapping?["url"]?.mark?.line, key: "\(where_).url", reason: "another witness already has this URL")
            }
            let unknown = (item.mapping?.keys.compactMap(\.string) ?? []).filter { !["name", "key", "url"].contains($0) }
            guard unknown.isEmpty else {
                throw PolicyError(file: path, line: item.mark?.line, key: "\(where_).\(unknown.sorted()[0])", reason: "is not a witness field (name, key, url)")
            }
            witnesses.append(Witness(key: key, url: normalised))
        }
        let quorumValue = try file.integer("quorum", in: 0...Int64(witnesses.count))
        guard witnesses.isEmpty || quorumValue >= 1 else { throw file.error("quorum", "must be at least 1 when witnesses are named") }
        do throws(LedgerError) {
            return WitnessPolicy(witnesses: witnesses, quorum: try WitnessQuorum(keys: witnesses.map(\.key), quorum: Int(quorumValue)))
        } catch {
            throw file.error("witnesses", error.reason)
        }
    }
}

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

    /// Loads `path`; a missing file means no witnesses. A problem names file, line, key and reason.
    public static func load(path: String) throws(PolicyError) -> WitnessPolicy {
        guard let bytes = FileBytes.read(path) else { return .none }
        let file = try PolicyFile(path: path, text: String(decoding: bytes, as: UTF8.self))
        try file.expectVersion()
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
            let url = try text("url")
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.utf8.count <= 2_048,
                !url.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 })
            else {
                throw PolicyError(file: path, line: item.mapping?["url"]?.mark?.line, key: "\(where_).url", reason: "must be an http:// or https:// URL")
            }
            let unknown = (item.mapping?.keys.compactMap(\.string) ?? []).filter { !["name", "key", "url"].contains($0) }
            guard unknown.isEmpty else {
                throw PolicyError(file: path, line: item.mark?.line, key: "\(where_).\(unknown.sorted()[0])", reason: "is not a witness field (name, key, url)")
            }
            witnesses.append(Witness(key: key, url: url.hasSuffix("/") ? String(url.dropLast()) : url))
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

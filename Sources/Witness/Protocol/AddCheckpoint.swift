import Ledger

/// The body of a C2SP tlog-witness `add-checkpoint` request: `old <size>`, up to 63 base64
/// consistency-proof lines, an empty line, then the signed checkpoint note.
public struct AddCheckpoint: Sendable, Equatable {
    public static let proofLineCountMax = 63
    /// Bounds what a witness reads: 63 proof lines and a note of at most 16 KiB.
    public static let byteCountMax = 64 + proofLineCountMax * 46 + SignedNote.byteCountMax

    public let oldSize: UInt64
    public let proof: [Hash]
    /// The checkpoint note exactly as sent (it may carry several signatures).
    public let note: String

    public init(oldSize: UInt64, proof: [Hash], note: String) {
        self.oldSize = oldSize
        self.proof = proof
        self.note = note
    }

    /// Parses a request body.
    /// - Throws: `AddCheckpoint.Malformed` naming what is wrong (answered 400).
    public init(parsing body: [UInt8]) throws(Malformed) {
        guard body.count <= Self.byteCountMax else { throw Malformed("the body is larger than \(Self.byteCountMax) bytes") }
        guard let text = String(validatingUTF8Bytes: body) else { throw Malformed("the body is not UTF-8") }
        var rest = Substring(text)
        func line() throws(Malformed) -> Substring {
            guard let end = rest.firstIndex(of: "\n") else { throw Malformed("a line does not end in a newline") }
            defer { rest = rest[rest.index(after: end)...] }
            return rest[..<end]
        }
        let first = try line()
        guard first.hasPrefix("old "), let old = UInt64(first.dropFirst(4)), String(old) == first.dropFirst(4) else {
            throw Malformed("the first line is `old <size>`, a decimal with no leading zeros")
        }
        var proof = [Hash]()
        while true {
            let next = try line()
            if next.isEmpty { break }
            guard proof.count < Self.proofLineCountMax else { throw Malformed("more than \(Self.proofLineCountMax) proof lines") }
            guard let hash = Hash(base64: String(next)) else { throw Malformed("a proof line is not base64 of 32 bytes") }
            proof.append(hash)
        }
        self.init(oldSize: old, proof: proof, note: String(rest))
    }

    /// The request body.
    public var body: [UInt8] {
        Array(("old \(oldSize)\n" + proof.map { $0.base64 + "\n" }.joined() + "\n" + note).utf8)
    }

    /// Why a request body was refused.
    public struct Malformed: Error, CustomStringConvertible, Equatable {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}

/// The first three lines of a checkpoint's text (origin, size, root); a witness accepts
/// extension lines after them and cosigns the whole text.
public struct CheckpointHead: Sendable, Equatable {
    public let origin: String
    public let size: UInt64
    public let root: Hash

    /// Parses the head of checkpoint `text` (the text of a signed note).
    public init(text: String) throws(AddCheckpoint.Malformed) {
        let lines = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false)
        guard lines.count >= 4, !lines[0].isEmpty else { throw .init("a checkpoint starts with origin, size and root lines") }
        guard let size = UInt64(lines[1]), String(size) == lines[1] else { throw .init("the tree size is not a canonical decimal number") }
        guard let root = Hash(base64: String(lines[2])) else { throw .init("the root is not base64 of 32 bytes") }
        origin = String(lines[0])
        self.size = size
        self.root = root
    }
}

extension String {
    /// The string of `bytes` when they are valid UTF-8, nil otherwise.
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var scalars = String.UnicodeScalarView()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): scalars.append(scalar)
            case .emptyInput: self = String(scalars); return
            case .error: return nil
            }
        }
    }
}

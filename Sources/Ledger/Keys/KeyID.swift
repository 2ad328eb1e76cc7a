/// The C2SP signed-note key id: the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
public struct KeyID: Hashable, Sendable, CustomStringConvertible {
    /// Big-endian value of the 4 bytes, so `hex` prints them in order.
    public let value: UInt32

    public init(value: UInt32) { self.value = value }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Parses exactly 8 lowercase hex digits, the form an entry's `key` field takes.
    public init?(hex: String) {
        guard hex.utf8.count == 8, let bytes = Hex.decode(hex), Hex.encode(bytes) == hex else { return nil }
        self.init(bytes: bytes)
    }

    /// Computes the id of an Ed25519 key of signature type `type` (0x01 for notes, 0x04 for
    /// cosignatures) under `name`.
    public init(name: String, ed25519PublicKey: [UInt8], type: KeyType = .ed25519) {
        var material = Array(name.utf8)
        material.append(0x0A)
        material.append(type.rawValue)
        material.append(contentsOf: ed25519PublicKey)
        self.init(bytes: SHA256.hash(material).bytes.prefix(4))!
    }

    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
}

/// C2SP signed-note signature type bytes: what an Ed25519 key signs. The same kind of key pair
/// under another type byte has another key id, so a log key can never pass for a witness key.
public enum KeyType: UInt8, Sendable, CaseIterable {
    /// A note signature (the log's checkpoints and statements), C2SP signed-note.
    case ed25519 = 0x01
    /// A timestamped cosignature (a witness's), C2SP tlog-cosignature v1.
    case cosignature = 0x04

    var label: String { self == .ed25519 ? "0x01 (note signature)" : "0x04 (cosignature/v1)" }
}

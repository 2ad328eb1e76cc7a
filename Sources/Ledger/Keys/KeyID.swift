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

    /// Computes the id of an Ed25519 key (signature type 0x01) under `name`.
    public init(name: String, ed25519PublicKey: [UInt8]) {
        var material = Array(name.utf8)
        material.append(0x0A)
        material.append(SignatureAlgorithm.ed25519)
        material.append(contentsOf: ed25519PublicKey)
        self.init(bytes: SHA256.hash(material).bytes.prefix(4))!
    }

    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
}

/// C2SP signed-note signature type bytes.
public enum SignatureAlgorithm {
    public static let ed25519: UInt8 = 0x01
}

import Foundation

/// Standard base64 (RFC 4648 §4, with padding), as C2SP notes and bundles use it.
public enum Base64 {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
    }

    /// Strict: rejects whitespace, missing padding and non-canonical trailing bits.
    public static func decode(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text) else { return nil }
        let bytes = [UInt8](data)
        guard encode(bytes) == text else { return nil }
        return bytes
    }
}

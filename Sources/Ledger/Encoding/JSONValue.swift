/// A JSON value as the ledger allows it: no floating point and no null, by construction.
public enum JSONValue: Sendable, Equatable {
    case integer(Int64)
    case string(String)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The largest magnitude an integer may have, so that every JCS implementation
    /// (which reads numbers as IEEE doubles) reproduces it exactly: 2^53 − 1.
    public static let integerMagnitudeMax: Int64 = 9_007_199_254_740_991

    public var integerValue: Int64? { if case .integer(let value) = self { value } else { nil } }
    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    public var objectValue: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }

    public subscript(key: String) -> JSONValue? { objectValue?[key] }
}

extension JSONValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

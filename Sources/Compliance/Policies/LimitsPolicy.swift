/// `policies/limits.yaml`, validated: rate limits, timeout, concurrency and body size of the
/// service.
public struct LimitsPolicy: Sendable, Equatable {
    /// Requests per minute per principal, by role (`default` for roles not listed).
    public var perPrincipalPerMinute: [String: Int64]
    public var defaultPerPrincipalPerMinute: Int64
    /// Requests per minute per client address on public routes.
    public var perAddressPerMinute: Int64
    public var requestTimeoutSeconds: Int64
    public var concurrentRequestsMax: Int64
    public var bodyBytesMax: Int64

    public init(
        perPrincipalPerMinute: [String: Int64], defaultPerPrincipalPerMinute: Int64, perAddressPerMinute: Int64, requestTimeoutSeconds: Int64,
        concurrentRequestsMax: Int64, bodyBytesMax: Int64
    ) {
        self.perPrincipalPerMinute = perPrincipalPerMinute
        self.defaultPerPrincipalPerMinute = defaultPerPrincipalPerMinute
        self.perAddressPerMinute = perAddressPerMinute
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.concurrentRequestsMax = concurrentRequestsMax
        self.bodyBytesMax = bodyBytesMax
    }

    /// The per-minute rate of a principal in `role`.
    public func perMinute(role: String) -> Int64 { perPrincipalPerMinute[role] ?? defaultPerPrincipalPerMinute }

    /// Loads `limits.yaml`; `roles` are the roles a rate may be given for. A problem names file,
    /// line, key and reason.
    public static func load(path: String, roles: [String]) throws(PolicyError) -> LimitsPolicy {
        guard let bytes = FileBytes.read(path) else { throw PolicyError(file: path, line: nil, key: nil, reason: "cannot read the file") }
        let file = try PolicyFile(path: path, text: String(decoding: bytes, as: UTF8.self))
        try file.expectVersion()
        var rates: [String: Int64] = [:]
        var fallback: Int64?
        for role in try file.keys("perPrincipalPerMinute") {
            let rate = try file.integer("perPrincipalPerMinute.\(role)", in: 1...1_000_000_000)
            if role == "default" {
                fallback = rate
            } else {
                guard roles.contains(role) else { throw file.error("perPrincipalPerMinute.\(role)", "is not a role (\(roles.joined(separator: ", ")))") }
                rates[role] = rate
            }
        }
        guard let fallback else { throw file.error("perPrincipalPerMinute.default", "is required") }
        return LimitsPolicy(
            perPrincipalPerMinute: rates, defaultPerPrincipalPerMinute: fallback,
            perAddressPerMinute: try file.integer("perAddressPerMinute", in: 1...1_000_000_000),
            requestTimeoutSeconds: try file.integer("requestTimeoutSeconds", in: 1...3600),
            concurrentRequestsMax: try file.integer("concurrentRequestsMax", in: 1...1_000_000),
            bodyBytesMax: try file.integer("bodyBytesMax", in: 1024...64 * 1024 * 1024))
    }
}

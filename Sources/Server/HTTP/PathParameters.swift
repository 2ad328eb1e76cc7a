import Hummingbird
import Rescue

/// Reading path parameters.
enum PathParameters {
    /// A path parameter that must be a pseudonymous id.
    static func id(_ context: ServiceContext, _ name: String) throws -> String {
        guard let value = context.parameters.get(name), ParticipantRegistry.isPseudonymous(value) else {
            throw Problem.badRequest("the \(name) id in the path is not an id")
        }
        return value
    }

    /// A path parameter that must be a count or a seq written canonically: decimal digits with
    /// no sign and no leading zeros, so that one resource has one URL (caches key on it).
    static func count(_ context: ServiceContext, _ name: String) throws -> UInt64 {
        guard let text = context.parameters.get(name), let value = UInt64(text), String(value) == text else {
            throw Problem.badRequest("\(name) must be a non-negative integer in decimal, without leading zeros")
        }
        return value
    }
}

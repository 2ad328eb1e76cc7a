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
}

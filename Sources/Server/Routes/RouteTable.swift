import Hummingbird
import Synchronization

/// A route the service serves, as it was registered: method, path and the permission it needs
/// (nil: public). The OpenAPI test, the role × route matrix and 405's `Allow` all read these.
public struct Route: Sendable, Hashable {
    public let method: HTTPRequest.Method
    public let path: String
    public let permission: Permission?
}

/// The routes in the order they were registered; filled while the router is built, read while
/// it serves (405's `Allow`).
final class RouteTable: Sendable {
    private let recorded = Mutex<[Route]>([])

    /// Records a route; registering one method and path twice is a programmer error.
    func record(_ route: Route) {
        recorded.withLock { routes in
            precondition(!routes.contains { $0.method == route.method && $0.path == route.path }, "\(route.method) \(route.path) is registered twice")
            routes.append(route)
        }
    }

    var routes: [Route] { recorded.withLock { $0 } }

    /// The methods registered at `path` (a request path), for 405's `Allow`.
    func methods(at path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/")
        var methods: [HTTPRequest.Method] = []
        for route in routes where Self.matches(route.path.split(separator: "/"), segments) && !methods.contains(route.method) {
            methods.append(route.method)
        }
        return methods
    }

    /// `{name}` matches one segment, a final `**` one or more.
    private static func matches(_ pattern: [Substring], _ segments: [Substring]) -> Bool {
        if pattern.last == "**" { return segments.count >= pattern.count && zip(pattern.dropLast(), segments).allSatisfy(segmentMatches) }
        return pattern.count == segments.count && zip(pattern, segments).allSatisfy(segmentMatches)
    }

    private static func segmentMatches(_ pattern: Substring, _ segment: Substring) -> Bool {
        (pattern.hasPrefix("{") && pattern.hasSuffix("}")) || pattern == segment
    }
}

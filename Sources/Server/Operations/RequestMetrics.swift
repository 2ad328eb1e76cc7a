import Dispatch
import HTTPTypes
import Hummingbird
import Prometheus
import Synchronization

/// Requests by route, method and status in `/metrics`, under the names Hummingbird's
/// `MetricsMiddleware` gave them (`hb_requests`, `hb_request_errors`,
/// `http_server_request_duration`, `http_server_active_requests`), kept in the service's own
/// registry.
///
/// Recorded when the handler has its answer, not after the body is written: Hummingbird's
/// middleware wraps every body in a closure to learn when it was written, which makes the server
/// send the head and the body in two writes and was about a tenth of an entry read's CPU (issue
/// 19). Every answer of this service is one buffer, written right after this returns.
struct RequestMetricsMiddleware: RouterMiddleware {
    let handles: Handles

    init(registry: PrometheusCollectorRegistry) { handles = Handles(registry: registry) }

    func handle(_ request: Request, context: ServiceContext, next: (Request, ServiceContext) async throws -> Response) async throws -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        let active = handles.active(request.method)
        active.increment()
        defer { active.decrement() }
        do {
            let response = try await next(request, context)
            let route = handles.route(Handles.Key(route: context.endpointPath ?? "Unknown", method: request.method, status: response.status.code))
            route.requests.increment()
            route.duration.recordNanoseconds(Int64(clamping: DispatchTime.now().uptimeNanoseconds &- started))
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? HTTPResponse.Status.internalServerError.code
            let route = handles.route(Handles.Key(route: context.endpointPath ?? "NotFound", method: request.method, status: status))
            route.requests.increment()
            route.errors.increment()
            throw error
        }
    }

    /// The metrics by label set, each made once (the registry's lookup takes a lock and compares
    /// label lists).
    final class Handles: Sendable {
        struct Key: Hashable {
            let route: String
            let method: HTTPRequest.Method
            let status: Int
        }

        struct Route: Sendable {
            let requests: Prometheus.Counter
            let duration: DurationHistogram
            let errors: Prometheus.Counter
        }

        /// The buckets swift-prometheus gives swift-metrics timers, which these were before.
        static let buckets: [Duration] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000].map { .milliseconds($0) }

        // No help text, as swift-metrics registers them: swift-prometheus stops the process when
        // a name comes back with other help, so a library reporting one of these names through
        // swift-metrics (Hummingbird's MetricsMiddleware does) must meet the same registration.
        static var requestsName: MetricNameDescriptor { MetricNameDescriptor(metricName: "hb_requests", unitName: "", helpText: "") }
        static var durationName: MetricNameDescriptor { MetricNameDescriptor(metricName: "http_server_request_duration", unitName: "", helpText: "") }
        static var errorsName: MetricNameDescriptor { MetricNameDescriptor(metricName: "hb_request_errors", unitName: "", helpText: "") }
        static var activeName: MetricNameDescriptor { MetricNameDescriptor(metricName: "http_server_active_requests", unitName: "", helpText: "") }

        private let registry: PrometheusCollectorRegistry
        private let routes = Mutex<[Key: Route]>([:])
        private let methods = Mutex<[HTTPRequest.Method: Prometheus.Gauge]>([:])

        init(registry: PrometheusCollectorRegistry) { self.registry = registry }

        func route(_ key: Key) -> Route {
            routes.withLock { table in
                if let made = table[key] { return made }
                let labels = [("http_route", key.route), ("http_request_method", key.method.rawValue), ("http_response_status_code", String(key.status))]
                let made = Route(
                    requests: registry.makeCounter(descriptor: Self.requestsName, labels: labels),
                    duration: registry.makeDurationHistogram(
                        descriptor: Self.durationName, labels: labels, buckets: Self.buckets),
                    errors: registry.makeCounter(
                        descriptor: Self.errorsName,
                        labels: [("http_route", key.route), ("http_request_method", key.method.rawValue), ("error_type", String(key.status))]))
                table[key] = made
                return made
            }
        }

        func active(_ method: HTTPRequest.Method) -> Prometheus.Gauge {
            methods.withLock { table in
                if let made = table[method] { return made }
                let made = registry.makeGauge(
                    descriptor: Self.activeName, labels: [("http_request_method", method.rawValue)])
                table[method] = made
                return made
            }
        }
    }
}

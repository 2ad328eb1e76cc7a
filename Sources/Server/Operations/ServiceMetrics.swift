import Foundation
import Ledger
import Metrics
import Prometheus
import Synchronization
import Witness

/// The service's Prometheus registry: its own metrics, the per-route request metrics
/// (`RequestMetricsMiddleware`), anything reported through swift-metrics once `bootstrap` made
/// this registry the process's backend, and the ledger's state read at scrape time.
public final class ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// POST /v1/claims, from request to durable answer.
    let claimLatency: DurationHistogram
    /// Every durable write (command queued → entries durable).
    let appendLatency: DurationHistogram
    /// Grams rescued by completed deliveries, in tonnes (Prometheus values are floats; the
    /// ledger and reports keep integer grams).
    let foodWastePrevented: Prometheus.Counter
    /// Commands in progress over the admission bound: how close the command loop is to refusing.
    let saturation: Prometheus.Gauge
    let entries: Prometheus.Gauge
    let checkpointAge: Prometheus.Gauge
    let mirrorLag: Prometheus.Gauge
    let mirrorApplied: Prometheus.Counter
    private let mirrorAppliedReported = Mutex<UInt64>(0)
    /// How many entries the Postgres mirror holds, when one is configured.
    public let mirrorProgress: (@Sendable () -> UInt64)?

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), mirrorProgress: (@Sendable () -> UInt64)? = nil) {
        self.registry = registry
        self.mirrorProgress = mirrorProgress
        let buckets: [Duration] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000].map { .milliseconds($0) }
        claimLatency = registry.makeDurationHistogram(name: "surplus_claim_latency_seconds", buckets: buckets, help: "POST /v1/claims from its arrival until the claim is durable")
        appendLatency = registry.makeDurationHistogram(name: "ledger_append_latency_seconds", buckets: buckets, help: "A command's entries from queued to durable")
        foodWastePrevented = registry.makeCounter(name: "food_waste_prevented_tons_total", help: "Food delivered by completed rescues since start, tonnes")
        saturation = registry.makeGauge(name: "matching_engine_saturation_ratio", help: "Write commands in progress / concurrentRequestsMax")
        entries = registry.makeGauge(name: "ledger_entries", help: "Durable ledger entries")
        checkpointAge = registry.makeGauge(name: "ledger_checkpoint_age_seconds", help: "Seconds since the latest signed checkpoint")
        mirrorLag = registry.makeGauge(name: "mirror_lag_entries", help: "Durable ledger entries not yet in the Postgres mirror")
        mirrorApplied = registry.makeCounter(name: "mirror_applied_total", help: "Entries the Postgres mirror holds")
    }

    /// Makes this registry the backend of swift-metrics (once per process), for libraries that
    /// report through it.
    public func bootstrap() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// Per-witness gauges, read at scrape time (labelled by the witness's name).
    func reportWitnesses(_ statuses: [WitnessClient.Status]) {
        func gauge(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)]) -> Prometheus.Gauge {
            registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: unit, helpText: help), labels: labels)
        }
        for status in statuses {
            let labels = [("witness", status.name)]
            gauge("witness_lag", "entries", "Entries our latest checkpoint has beyond the witness's latest cosignature", labels)
                .set(Double(status.lagEntries))
            gauge("witness_lag", "seconds", "Seconds since the first checkpoint the witness has not cosigned was seen", labels)
                .set(status.lagSeconds)
            gauge("witness", "failures", "add-checkpoint calls that failed (see GET /v1/witnesses for the last error)", labels)
                .set(Double(status.failures))
            gauge("witness_last_error_timestamp", "seconds", "When the witness last failed (0: never)", labels)
                .set(Double(status.lastErrorAt ?? 0) / 1_000_000)
            gauge(
                "witness_refuses_our", "tree",
                "1 when the witness holds another tree than ours (a larger size, another root at ours, or one our consistency proof does not extend): alert on it", labels)
                .set(status.refusesOurTree ? 1.0 : 0.0)
        }
    }

    /// The text exposition, with the ledger gauges read now.
    func exposition(ledger: Ledger, witnesses: WitnessClient? = nil) -> [UInt8] {
        if let witnesses { reportWitnesses(witnesses.status) }
        entries.set(Int64(ledger.size))
        let published = ledger.latestCheckpointPublishedAt
        if published > 0 { checkpointAge.set(Double(Ledger.wallClockMicroseconds() - published) / 1_000_000) }
        if let mirrorProgress {
            let applied = mirrorProgress()
            mirrorLag.set(Double(ledger.size &- min(applied, ledger.size)))
            mirrorAppliedReported.withLock { reported in
                if applied > reported {
                    mirrorApplied.increment(by: Int64(applied - reported))
                    reported = applied
                }
            }
        }
        return registry.emitToBuffer()
    }
}

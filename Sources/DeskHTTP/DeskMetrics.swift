import DeskCore
import DeskRunner
import Prometheus
import Synchronization

/// The desk's Prometheus metrics, in a registry of its own (no global metrics
/// system, so several desks can run in one test process).
public final class DeskMetrics: OrderDeskMetrics, Sendable {
    /// Where every desk metric lives; `/metrics` renders it.
    public let registry: PrometheusCollectorRegistry
    private let orders: [OrderOutcome: Counter]
    private let orderLatency: DurationHistogram
    private let fills: Counter
    private let fillCount = Atomic<Int>(0)
    private let requests: Mutex<[String: Counter]> = Mutex([:])
    private let droppedOutput: Counter
    private let feedLinesDropped: Counter
    /// `StrategyLog.droppedBytes` as last counted into `droppedOutput`.
    private let droppedOutputCounted = Mutex<Int>(0)

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        orderLatency = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "desk_order_duration", unitName: "seconds",
                helpText: "Time from a decoded order request to its answer, by the order pipeline"),
            buckets: [
                .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .seconds(1),
            ])
        fills = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "desk_fills", unitName: "total", helpText: "Fills booked in the ledger"))
        droppedOutput = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "desk_strategy_output_dropped_bytes", unitName: "total",
                helpText: "Bytes of strategies' output not written to their logs (a full disk, the free-space floor)"))
        feedLinesDropped = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "desk_feed_recorder_dropped_lines", unitName: "total",
                helpText: "Feed lines the recorder did not write (its buffer was full, or the write failed)"))
        orders = Dictionary(
            uniqueKeysWithValues: OrderOutcome.allCases.map {
                (
                    $0,
                    registry.makeCounter(
                        descriptor: MetricNameDescriptor(
                            metricName: "desk_orders", unitName: "total", helpText: "Order requests by outcome"),
                        labels: [("outcome", $0.rawValue)])
                )
            })
    }

    /// Counts one order request and how long the pipeline took.
    public func recordOrder(outcome: OrderOutcome, duration: Duration) {
        orders[outcome]?.increment()
        orderLatency.record(duration)
    }

    /// Counts an order request refused before the pipeline (bad body, bad token).
    public func recordRefusedRequest(outcome: OrderOutcome) {
        orders[outcome]?.increment()
    }

    /// Counts one booked fill.
    public func recordFill() {
        fills.increment()
        fillCount.add(1, ordering: .relaxed)
    }

    /// Counts feed lines the recorder could not write.
    public func recordFeedLinesDropped(_ count: Int) {
        feedLinesDropped.increment(by: Int64(count))
    }

    /// Fills booked since the desk started (a backtest tells each tick's fills by it).
    public var fillsBooked: Int { fillCount.load(ordering: .relaxed) }

    /// Counts an HTTP request by route and status class.
    func recordRequest(route label: RouteLabel, status: Int) {
        let route = label.value
        let key = "\(route) \(status / 100)xx"
        let counter = requests.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    metricName: "desk_http_requests", unitName: "total",
                    helpText: "HTTP requests by route and status class"),
                labels: [("route", route), ("status", "\(status / 100)xx")])
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> [UInt8] {
        let dropped = StrategyLog.droppedBytes
        let newly = droppedOutputCounted.withLock { counted in
            defer { counted = max(counted, dropped) }
            return dropped - counted
        }
        if newly > 0 { droppedOutput.increment(by: Int64(newly)) }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

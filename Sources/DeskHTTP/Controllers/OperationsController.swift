import DeskAPI
import DeskMarketData
import Hummingbird

/// `GET /healthz` (no token) and `GET /metrics` (Prometheus text, in a group
/// for the admin token or a metrics token, since the metrics name members' strategies).
struct OperationsController {
    let metrics: DeskMetrics
    let brokerName: String
    let feed: FeedHub

    /// `GET /healthz`, open to anyone who can connect: it names no member or strategy.
    func addPublicRoutes(to router: some RouterMethods<DeskRequestContext>) {
        router.on(Routes.health) { _, _ in
            let statistics = feed.statistics
            return Health(
                broker: brokerName, feed: statistics.source ?? "none", feedState: Self.describe(statistics.sourceState))
        }
    }

    /// `GET /metrics`.
    func addMetricsRoute(to router: some RouterMethods<MetricsContext>) {
        router.on(Routes.metrics) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render() + Self.feedMetrics(feed.statistics))))
        }
    }

    /// `running`, `ended`, `failed: <why>`, …: what `/healthz` says of the feed's source.
    static func describe(_ state: FeedStatistics.SourceState) -> String {
        switch state {
        case .none: "none"
        case .notStarted: "not started"
        case .running: "running"
        case .ended: "ended"
        case .failed(let reason): "failed: \(reason)"
        case .stopped: "stopped"
        }
    }

    /// Feed counters, read at scrape time.
    static func feedMetrics(_ statistics: FeedStatistics) -> [UInt8] {
        var text = "# HELP desk_feed_ticks_published_total Ticks the feed hub published\n"
        text += "# TYPE desk_feed_ticks_published_total counter\n"
        text += "desk_feed_ticks_published_total \(statistics.ticksPublished)\n"
        text += "# HELP desk_feed_ticks_total Ticks per subscribing strategy, by what happened to them\n"
        text += "# TYPE desk_feed_ticks_total counter\n"
        for subscriber in statistics.subscribers {
            text += "desk_feed_ticks_total{strategy=\"\(subscriber.id)\",fate=\"delivered\"} \(subscriber.delivered)\n"
            text += "desk_feed_ticks_total{strategy=\"\(subscriber.id)\",fate=\"dropped\"} \(subscriber.dropped)\n"
        }
        return Array(text.utf8)
    }
}

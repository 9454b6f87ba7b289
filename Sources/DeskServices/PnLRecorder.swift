import DeskCore
import DeskLedger
import Foundation
import Logging
import ServiceLifecycle

/// An equity curve: a member's (or one strategy's) equity on one venue, one point
/// per step, and the largest fall from a peak along it.
public struct EquityCurve: Sendable, Equatable {
    public var member: String
    /// The venue whose book the curve is of.
    public var venue: String
    /// The strategy, when the curve is one strategy's.
    public var strategy: String?
    /// The last sample of each step, oldest first.
    public var points: [EquitySample]
    /// The largest fall from a peak to a later point (zero when equity never fell).
    public var maxDrawdown: Decimal

    /// The last sample of each `stepSeconds` bucket of `samples` (oldest first), and their drawdown.
    public init(member: String, strategy: String?, venue: String = "", samples: [EquitySample], stepSeconds: Int) {
        self.venue = venue
        var points: [EquitySample] = []
        var lastBucket: Int64?
        for sample in samples {
            let bucket = Int64((sample.at.timeIntervalSince1970 / Double(stepSeconds)).rounded(.down))
            if bucket == lastBucket { points[points.count - 1] = sample } else { points.append(sample) }
            lastBucket = bucket
        }
        var peak: Decimal?
        var drawdown: Decimal = 0
        for point in points {
            peak = max(peak ?? point.equity, point.equity)
            drawdown = max(drawdown, (peak ?? 0) - point.equity)
        }
        self.member = member
        self.strategy = strategy
        self.points = points
        maxDrawdown = drawdown
    }
}

/// Each member's and each strategy's equity now, per venue: realized plus
/// unrealized P&L of their positions at the last prices the desk saw (a symbol
/// with no price yet counts its realized P&L only).
public struct EquityBook: Sendable {
    let ledger: Ledger
    let lastPrice: @Sendable (String) -> Decimal?

    /// One sample per member book (`strategy` empty) and per member strategy, on
    /// each venue (`venue` only, when given).
    public func samples(member: String? = nil, venue: String? = nil, at time: Date = Date()) async throws
        -> [EquitySample]
    {
        let books = try await ledger.positions(member: member, venue: venue)
        let strategies = try await ledger.positions(member: member, venue: venue, byStrategy: true)
        var sums: [String: (member: String, strategy: String, venue: String, realized: Decimal, unrealized: Decimal)] =
            [:]
        // A member's own orders (no strategy) are in their book only, not a strategy's curve.
        let strategyRows = strategies.filter { !$0.strategy.isEmpty }.map { ($0, $0.strategy) }
        for (record, strategy) in books.map({ ($0, "") }) + strategyRows {
            let key = Self.key(member: record.member, strategy: strategy, venue: record.venue)
            var sum = sums[key] ?? (record.member, strategy, record.venue, 0, 0)
            let position = record.position
            sum.realized += position.realizedPnL
            if let price = lastPrice(record.symbol) { sum.unrealized += position.unrealizedPnL(at: price) }
            sums[key] = sum
        }
        return sums.values.map {
            EquitySample(
                member: $0.member, strategy: $0.strategy, at: time, realizedPnL: $0.realized,
                unrealizedPnL: $0.unrealized, venue: $0.venue)
        }.sorted { ($0.member, $0.strategy, $0.venue) < ($1.member, $1.strategy, $1.venue) }
    }

    /// The key one book's sample is kept under (the recorder's last written figures).
    static func key(member: String, strategy: String, venue: String) -> String {
        [member, strategy, venue].joined(separator: "\u{0}")
    }

    /// `member`'s (or one strategy's) history on `venue` since `since`, the last
    /// sample of each step, ending with now.
    public func history(member: String, strategy: String?, venue: String, since: Date, stepSeconds: Int)
        async throws -> EquityCurve
    {
        var samples = try await ledger.equityHistory(
            member: member, strategy: strategy ?? "", venue: venue, since: since)
        if let now = try await self.samples(member: member, venue: venue).first(where: {
            $0.strategy == (strategy ?? "")
        }) {
            samples.append(now)
        }
        return EquityCurve(
            member: member, strategy: strategy, venue: venue, samples: samples, stepSeconds: stepSeconds)
    }
}

/// Samples every member's and strategy's equity on each venue every `interval` into the
/// ledger's P&L history (`pnl_history`), writing only what changed since its
/// last sample; a minute keeps its last sample, so storage is at most 1,440 rows
/// per member book and per strategy a day, kept `retentionDays`. A fill shows in
/// the minute it happened, at the next sample.
public struct PnLRecorder: Service {
    let equity: EquityBook
    let interval: Duration
    let retentionDays: Int
    let logger: Logger

    /// Samples `portfolio`'s equity every `interval`, keeping `retentionDays` of history.
    public init(portfolio: Portfolio, interval: Duration, retentionDays: Int, logger: Logger) {
        equity = portfolio.equity
        self.interval = interval
        self.retentionDays = retentionDays
        self.logger = logger
    }

    public func run() async throws {
        var written: [String: Decimal] = [:]
        var lastPrune: Date?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let now = Date()
                let changed = try await equity.samples(at: now).filter { sample in
                    let key = EquityBook.key(member: sample.member, strategy: sample.strategy, venue: sample.venue)
                    defer { written[key] = sample.equity }
                    return written[key] != sample.equity
                }
                try await equity.ledger.recordEquity(changed)
                if lastPrune.map({ now.timeIntervalSince($0) > 3600 }) ?? true {
                    let pruned = try await equity.ledger.pruneEquity(
                        before: now.addingTimeInterval(-Double(retentionDays) * 86_400))
                    if pruned > 0 { logger.info("pruned P&L history", metadata: ["rows": "\(pruned)"]) }
                    lastPrune = now
                }
            } catch {
                logger.error("could not record P&L history", metadata: ["error": "\(error)"])
            }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { return }
        }
    }
}

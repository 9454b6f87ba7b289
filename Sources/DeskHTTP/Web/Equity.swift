import DeskAPI
import DeskBroker
import DeskCore
import DeskLedger
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Each member's and each strategy's equity now: realized plus unrealized P&L
/// of their positions at the last prices the desk saw (a symbol with no price
/// yet counts its realized P&L only).
struct EquityBook {
    let ledger: Ledger
    let prices: PriceBook

    /// One sample per member book (`strategy` empty) and per member strategy.
    func samples(member: String? = nil, at time: Date = Date()) async throws -> [EquitySample] {
        let books = try await ledger.positions(member: member)
        let strategies = try await ledger.positions(member: member, byStrategy: true)
        var sums: [String: (member: String, strategy: String, realized: Decimal, unrealized: Decimal)] = [:]
        // A member's own orders (no strategy) are in their book only, not a strategy's curve.
        let strategyRows = strategies.filter { !$0.strategy.isEmpty }.map { ($0, $0.strategy) }
        for (record, strategy) in books.map({ ($0, "") }) + strategyRows {
            let key = record.member + "\u{0}" + strategy
            var sum = sums[key] ?? (record.member, strategy, 0, 0)
            let position = record.position
            sum.realized += position.realizedPnL
            if let price = prices.lastPrice(record.symbol) { sum.unrealized += position.unrealizedPnL(at: price) }
            sums[key] = sum
        }
        return sums.values.map {
            EquitySample(
                member: $0.member, strategy: $0.strategy, at: time, realizedPnL: $0.realized,
                unrealizedPnL: $0.unrealized)
        }.sorted { ($0.member, $0.strategy) < ($1.member, $1.strategy) }
    }

    /// `member`'s (or one strategy's) history since `since`, the last sample of each step, ending with now.
    func history(member: String, strategy: String?, since: Date, step: PnLStep) async throws -> PnLHistory {
        var samples = try await ledger.equityHistory(member: member, strategy: strategy ?? "", since: since)
        if let now = try await self.samples(member: member).first(where: { $0.strategy == (strategy ?? "") }) {
            samples.append(now)
        }
        var points: [EquitySample] = []
        var lastBucket: Int64?
        for sample in samples {
            let bucket = Int64((sample.at.timeIntervalSince1970 / Double(step.seconds)).rounded(.down))
            if bucket == lastBucket { points[points.count - 1] = sample } else { points.append(sample) }
            lastBucket = bucket
        }
        var peak: Decimal?
        var drawdown: Decimal = 0
        for point in points {
            peak = max(peak ?? point.equity, point.equity)
            drawdown = max(drawdown, (peak ?? 0) - point.equity)
        }
        return PnLHistory(
            member: member, strategy: strategy, step: step.rawValue,
            points: points.map {
                PnLPoint(
                    at: $0.at, equity: ExactDecimal.plain($0.equity), realizedPnL: ExactDecimal.plain($0.realizedPnL),
                    unrealizedPnL: ExactDecimal.plain($0.unrealizedPnL))
            }, maxDrawdown: ExactDecimal.plain(drawdown))
    }
}

/// Samples every member's and strategy's equity every `interval` into the
/// ledger's P&L history (`pnl_history`), writing only what changed since its
/// last sample; a minute keeps its last sample, so storage is at most 1,440 rows
/// per member book and per strategy a day, kept `retentionDays`. A fill shows in
/// the minute it happened, at the next sample.
public struct PnLRecorder: Service {
    let equity: EquityBook
    let interval: Duration
    let retentionDays: Int
    let logger: Logger

    public init(ledger: Ledger, prices: PriceBook, settings: WebSettings, logger: Logger) {
        equity = EquityBook(ledger: ledger, prices: prices)
        interval = settings.pnlInterval
        retentionDays = settings.pnlRetentionDays
        self.logger = logger
    }

    public func run() async throws {
        var written: [String: Decimal] = [:]
        var lastPrune: Date?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let now = Date()
                let changed = try await equity.samples(at: now).filter { sample in
                    let key = sample.member + "\u{0}" + sample.strategy
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

/// `GET /pnl` (a member group): the caller's equity curve (an admin's: anyone's with `?member=`).
struct PnLController {
    let equity: EquityBook

    func addRoutes(to router: some RouterMethods<MemberContext>) {
        router.on(Routes.pnl, use: history)
    }

    @Sendable func history(_ request: Request, context: MemberContext) async throws -> PnLHistory {
        let query: PnLQuery
        do { query = try PnLQuery(QueryParameters(request)) } catch { throw DeskHTTPError(error) }
        let member = try Readers.member(query.member, caller: context.caller) ?? context.caller.member
        return try await equity.history(
            member: member, strategy: query.strategy, since: query.since ?? Date().addingTimeInterval(-86_400),
            step: query.step)
    }
}

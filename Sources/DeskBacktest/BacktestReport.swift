import DeskCore
import Foundation

/// What `desk backtest --json` prints: one object, the same bytes for the same
/// inputs (keys sorted, decimals as exact strings, ratios to four places), except
/// `timing`, which says how long the run took.
public struct BacktestReport: Codable, Sendable, Equatable {
    public var ticks: Int
    /// The first and last tick's time (ISO 8601, UTC).
    public var start: String
    public var end: String
    /// `next-tick` or `same-tick`.
    public var fillAt: String
    /// Capital per member, the base of equity and returns.
    public var capital: String
    public var commissionPerShare: String
    public var slippageBps: String
    public var members: [String: Figures]
    /// How long it took: the only part that differs between two runs of the same inputs.
    public var timing: Timing?

    /// One member's (or one strategy's) results.
    public struct Figures: Codable, Sendable, Equatable {
        public var orders: Int
        public var fills: Int
        public var rejected: Int
        public var realizedPnL: String
        /// At the last price of each symbol in the data.
        public var unrealizedPnL: String
        /// Realized plus unrealized, less commission.
        public var totalPnL: String
        public var commission: String
        /// Largest fall of equity from a running peak, money.
        public var maxDrawdown: String
        /// Total P&L over capital.
        public var returnOnCapital: String
        /// Winning round trips over round trips (a position opened and closed, or reversed); nil without one.
        public var winRate: String?
        public var roundTrips: Int
        /// Annualized (√252) from daily returns of closing equity; nil with fewer than two days or no variation.
        public var sharpe: String?
        public var sortino: String?
        /// Annualized return (mean daily return × 252) over the largest drawdown as a
        /// fraction of capital; nil with fewer than two days or no drawdown.
        public var calmar: String?
        /// Share of the run's time with a position open.
        public var exposure: String?
        public var tradedNotional: String
        /// Open quantity per symbol at the end (flat symbols left out).
        public var positions: [String: String]
        /// Per strategy, for a member; nil for a strategy itself.
        public var strategies: [String: Figures]?

        enum CodingKeys: String, CodingKey {
            case orders, fills, rejected, commission, positions, strategies, sharpe, sortino, calmar, exposure
            case realizedPnL = "realized_pnl", unrealizedPnL = "unrealized_pnl", totalPnL = "total_pnl"
            case maxDrawdown = "max_drawdown", returnOnCapital = "return", winRate = "win_rate"
            case roundTrips = "round_trips", tradedNotional = "traded_notional"
        }
    }

    /// Run time (varies with the machine).
    public struct Timing: Codable, Sendable, Equatable {
        /// The run: from the strategies' start to the end of the data.
        public var elapsedSeconds: String
        public var ticksPerSecond: String
        /// The report after it: the ledger read back, the figures, report.html and equity.csv.
        public var reportSeconds: String?
        /// How ticks reached the strategies: `stream` or `strict` (`--lockstep`),
        /// and why a stream run went back to strict.
        public var lockstep: String?
        /// Stream mode: requests that reached the desk after the turn of the line
        /// their strategy had read had passed (a strategy asking from another
        /// thread or on a timer): taken at once, not the same in every run.
        public var lateRequests: Int?

        public init(elapsedSeconds: Double, ticks: Int, lockstep: String? = nil) {
            self.lockstep = lockstep
            self.elapsedSeconds = String(format: "%.3f", elapsedSeconds)
            self.ticksPerSecond = String(format: "%.0f", elapsedSeconds > 0 ? Double(ticks) / elapsedSeconds : 0)
        }

        enum CodingKeys: String, CodingKey {
            case elapsedSeconds = "elapsed_seconds", ticksPerSecond = "ticks_per_second"
            case reportSeconds = "report_seconds", lockstep
            case lateRequests = "late_requests"
        }
    }

    enum CodingKeys: String, CodingKey {
        case ticks, start, end, capital, members, timing
        case fillAt = "fill_at", commissionPerShare = "commission_per_share", slippageBps = "slippage_bps"
    }

    /// The report of a finished tracker (call `finish()` first).
    public init(
        tracker: PerformanceTracker, fillAt: String, commissionPerShare: Decimal, slippageBps: Decimal,
        timing: Timing? = nil
    ) {
        ticks = tracker.ticks
        start = tracker.first.map(Self.timestamp) ?? ""
        end = tracker.last.map(Self.timestamp) ?? ""
        self.fillAt = fillAt
        capital = ExactDecimal.plain(tracker.capital)
        self.commissionPerShare = ExactDecimal.plain(commissionPerShare)
        self.slippageBps = ExactDecimal.plain(slippageBps)
        self.timing = timing
        let span = tracker.first.flatMap { first in tracker.last.map { $0.timeIntervalSince(first) } }
        var members: [String: Figures] = [:]
        for (account, book) in tracker.books where account.strategy == nil {
            var figures = Self.figures(book, capital: tracker.capital, span: span)
            var strategies: [String: Figures] = [:]
            for (inner, strategyBook) in tracker.books where inner.member == account.member && inner.strategy != nil {
                strategies[inner.strategy!] = Self.figures(strategyBook, capital: tracker.capital, span: span)
            }
            figures.strategies = strategies
            members[account.member] = figures
        }
        self.members = members
    }

    static func figures(_ book: PerformanceTracker.Book, capital: Decimal, span: TimeInterval?) -> Figures {
        let returns = dailyReturns(book.dailyEquity, capital: capital)
        return Figures(
            orders: book.orders, fills: book.fills, rejected: book.rejected,
            realizedPnL: ExactDecimal.plain(book.realized), unrealizedPnL: ExactDecimal.plain(book.unrealized),
            totalPnL: ExactDecimal.plain(book.totalPnL), commission: ExactDecimal.plain(book.commission),
            maxDrawdown: ExactDecimal.plain(book.maxDrawdown),
            returnOnCapital: ratio(capital == 0 ? 0 : NSDecimalNumber(decimal: book.totalPnL / capital).doubleValue)
                ?? "0.0000",
            winRate: book.roundTrips == 0 ? nil : ratio(Double(book.winningRoundTrips) / Double(book.roundTrips)),
            roundTrips: book.roundTrips, sharpe: ratio(sharpe(returns)), sortino: ratio(sortino(returns)),
            calmar: ratio(calmar(returns, maxDrawdown: book.maxDrawdown, capital: capital)),
            exposure: span.flatMap { $0 > 0 ? ratio(min(1, book.exposedSeconds / $0)) : nil },
            tradedNotional: ExactDecimal.plain(book.tradedNotional),
            positions: book.positions.filter { $0.value.qty != 0 }.mapValues { ExactDecimal.plain($0.qty) },
            strategies: nil)
    }

    /// Day-over-day returns of closing equity, the first against the capital.
    static func dailyReturns(_ equity: [Decimal], capital: Decimal) -> [Double] {
        var previous = NSDecimalNumber(decimal: capital).doubleValue
        var returns: [Double] = []
        for value in equity {
            let current = NSDecimalNumber(decimal: value).doubleValue
            if previous != 0 { returns.append(current / previous - 1) }
            previous = current
        }
        return returns
    }

    /// Mean over sample standard deviation, × √252; nil with fewer than two returns or none varying.
    static func sharpe(_ returns: [Double]) -> Double? {
        guard returns.count >= 2 else { return nil }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let variance = returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(returns.count - 1)
        guard variance > 0 else { return nil }
        return mean / variance.squareRoot() * 252.0.squareRoot()
    }

    /// Mean over downside deviation (losses only, against zero), × √252; nil without a losing day.
    static func sortino(_ returns: [Double]) -> Double? {
        guard returns.count >= 2 else { return nil }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let downside = returns.reduce(0) { $0 + min($1, 0) * min($1, 0) } / Double(returns.count)
        guard downside > 0 else { return nil }
        return mean / downside.squareRoot() * 252.0.squareRoot()
    }

    /// Mean daily return × 252 over the largest drawdown as a fraction of capital; nil with
    /// fewer than two returns or no drawdown.
    static func calmar(_ returns: [Double], maxDrawdown: Decimal, capital: Decimal) -> Double? {
        guard returns.count >= 2, maxDrawdown > 0, capital > 0 else { return nil }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let drawdown = NSDecimalNumber(decimal: maxDrawdown / capital).doubleValue
        return mean * 252 / drawdown
    }

    /// Four decimals, the same text on every machine.
    static func ratio(_ value: Double?) -> String? {
        guard let value, value.isFinite else { return nil }
        let text = String(format: "%.4f", value)
        return text == "-0.0000" ? "0.0000" : text
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(
            .iso8601.year().month().day().timeZone(separator: .omitted).time(includingFractionalSeconds: true))
    }

    /// The report's file in a report folder, beside report.html and equity.csv.
    public static let fileName = "report.json"

    /// The report a backtest wrote in `folder`, or why there is none.
    public static func read(folder: URL) -> Result<BacktestReport, BacktestReportProblem> {
        let file = folder.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: file.path) else {
            return .failure(
                BacktestReportProblem(
                    "\(folder.path) is not a backtest report folder: it has no \(fileName) (desk backtest --report DIR writes one)"
                ))
        }
        do { return .success(try JSONDecoder().decode(BacktestReport.self, from: data)) } catch {
            return .failure(BacktestReportProblem("\(file.path) is not a report desk backtest wrote: \(error)"))
        }
    }

    /// The report as the one JSON object `--json` prints (keys sorted).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// One row per member and per strategy for a table, money in two decimals.
    public static let columns = [
        "MEMBER", "STRATEGY", "ORDERS", "FILLS", "REJECTED", "REALIZED", "UNREALIZED", "TOTAL P&L", "MAX DD",
        "RETURN", "WIN", "TRIPS", "SHARPE", "SORTINO", "EXPOSED", "NOTIONAL",
    ]

    /// The rows of `columns`, members in order, each followed by its strategies.
    public func rows() -> [[String]] {
        var rows: [[String]] = []
        for member in members.keys.sorted() {
            let figures = members[member]!
            rows.append(Self.row(member, "(all)", figures))
            for strategy in (figures.strategies ?? [:]).keys.sorted() {
                rows.append(Self.row(member, strategy, figures.strategies![strategy]!))
            }
        }
        return rows
    }

    static func row(_ member: String, _ strategy: String, _ figures: Figures) -> [String] {
        [
            member, strategy, "\(figures.orders)", "\(figures.fills)", "\(figures.rejected)",
            money(figures.realizedPnL, signed: true), money(figures.unrealizedPnL, signed: true),
            money(figures.totalPnL, signed: true), money(figures.maxDrawdown),
            percent(figures.returnOnCapital, signed: true), figures.winRate.map { percent($0) } ?? "-",
            "\(figures.roundTrips)", figures.sharpe ?? "-", figures.sortino ?? "-",
            figures.exposure.map { percent($0) } ?? "-", money(figures.tradedNotional),
        ]
    }

    /// Exact text → money as people read it: two decimals, a sign on P&L.
    public static func money(_ text: String, signed: Bool = false) -> String {
        guard case .success(let value) = ExactDecimal.parse(text) else { return text }
        let fixed = ExactDecimal.fixed(value, scale: 2)
        return signed && value > 0 ? "+" + fixed : fixed
    }

    /// A ratio as a percentage with one decimal (`signed`: `+` on a gain, as on P&L).
    public static func percent(_ text: String, signed: Bool = false) -> String {
        guard let value = Double(text) else { return text }
        let shown = String(format: "%.1f%%", value * 100)
        return signed && !shown.hasPrefix("-") && shown != "0.0%" ? "+" + shown : shown
    }
}

/// Why a folder holds no backtest report.
public struct BacktestReportProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

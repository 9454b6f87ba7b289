import DeskBacktest
import DeskCore
import Foundation

/// One point of an equity curve: a member's capital plus P&L at a time.
public struct EquityPoint: Sendable, Equatable {
    public var at: Date
    public var equity: Decimal

    public init(at: Date, equity: Decimal) {
        self.at = at
        self.equity = equity
    }
}

/// Equity curves of several runs chained into one (pure): each run starts at the
/// capital, so a window's curve is moved by what the windows before it made — it
/// starts where the previous one ended — and the statistics are computed from the
/// chained daily closes with `BacktestReport`'s rules.
public enum EquityChain {
    /// The curves of a run's `equity.csv` (`timestamp,member,equity`), per member in file order.
    public static func parse(csv: String) throws(ResearchFailure) -> [String: [EquityPoint]] {
        var curves: [String: [EquityPoint]] = [:]
        for (index, line) in csv.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if index == 0 && line.hasPrefix("timestamp,") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 3, let at = UTCTimestamp.parse(String(fields[0])),
                case .success(let equity) = ExactDecimal.parse(String(fields[2]))
            else {
                throw ResearchFailure("equity.csv line \(index + 1) is not timestamp,member,equity: \(line)")
            }
            curves[String(fields[1]), default: []].append(EquityPoint(at: at, equity: equity))
        }
        return curves
    }

    /// `segments` (each a run's curve from `capital`) chained: every segment moved by
    /// the P&L of the segments before it. An empty segment adds nothing.
    public static func stitch(_ segments: [[EquityPoint]], capital: Decimal) -> [EquityPoint] {
        var offset: Decimal = 0
        var chained: [EquityPoint] = []
        for segment in segments {
            chained += segment.map { EquityPoint(at: $0.at, equity: $0.equity + offset) }
            if let last = segment.last { offset += last.equity - capital }
        }
        return chained
    }

    /// Each segment's closing equity per New York day (its last point of the day), chained as `stitch` does.
    /// Days are grouped within a segment, so overlapping windows still give one close per window day.
    public static func dailyCloses(
        _ segments: [[EquityPoint]], capital: Decimal, calendar: SessionCalendar = SessionCalendar()
    ) -> [(day: TradingDay, equity: Decimal)] {
        var closes: [(day: TradingDay, equity: Decimal)] = []
        var offset: Decimal = 0
        for segment in segments {
            var own: [(day: TradingDay, equity: Decimal)] = []
            for point in segment {
                let day = calendar.day(of: point.at)
                if own.last?.day == day { own.removeLast() }
                own.append((day, point.equity + offset))
            }
            closes += own
            if let last = segment.last { offset += last.equity - capital }
        }
        return closes
    }

    /// The statistics of `segments` chained.
    public static func statistics(
        _ segments: [[EquityPoint]], capital: Decimal, calendar: SessionCalendar = SessionCalendar()
    ) -> ChainStatistics {
        let closes = dailyCloses(segments, capital: capital, calendar: calendar)
        let total = segments.reduce(Decimal(0)) { $0 + (($1.last?.equity).map { $0 - capital } ?? 0) }
        var peak = capital
        var drawdown: Decimal = 0
        for point in stitch(segments, capital: capital) {
            peak = max(peak, point.equity)
            drawdown = max(drawdown, peak - point.equity)
        }
        let returns = BacktestReport.dailyReturns(closes.map(\.equity), capital: capital)
        let onCapital = capital == 0 ? 0 : NSDecimalNumber(decimal: total / capital).doubleValue
        let days = closes.count
        return ChainStatistics(
            totalPnL: ExactDecimal.plain(total), returnOnCapital: BacktestReport.ratio(onCapital) ?? "0.0000",
            maxDrawdown: ExactDecimal.plain(drawdown), sharpe: BacktestReport.ratio(BacktestReport.sharpe(returns)),
            sortino: BacktestReport.ratio(BacktestReport.sortino(returns)), days: days,
            pnlPerDay: days == 0 ? "0" : ExactDecimal.plain(ExactDecimal.rounded(total / Decimal(days), scale: 4)),
            annualizedReturn: days == 0 ? nil : BacktestReport.ratio(onCapital / Double(days) * 252),
            annualized: days == 0 ? nil : onCapital / Double(days) * 252)
    }

    /// Out-of-sample annualized return over in-sample annualized return, four places;
    /// nil when the in-sample one is zero or unknown.
    public static func efficiency(inSample: ChainStatistics, outOfSample: ChainStatistics) -> String? {
        guard let inside = inSample.annualized, let outside = outOfSample.annualized, inside != 0 else { return nil }
        return BacktestReport.ratio(outside / inside)
    }
}

/// Statistics of a chained equity curve, under `desk backtest --json`'s names where it has them.
public struct ChainStatistics: Sendable, Equatable, Codable {
    /// Money: the sum of the segments' P&L.
    public var totalPnL: String
    /// Total P&L over capital.
    public var returnOnCapital: String
    /// Largest fall of the chained equity from its running peak (money).
    public var maxDrawdown: String
    /// From the chained daily closes, annualized (√252) as a single report's; nil with fewer than two days.
    public var sharpe: String?
    public var sortino: String?
    /// Days with a close (days that held ticks), summed over the segments.
    public var days: Int
    /// Total P&L over `days`, rounded to four places.
    public var pnlPerDay: String
    /// `return` over `days` × 252 (simple, not compounded).
    public var annualizedReturn: String?
    /// The same, unrounded, for the efficiency (not written).
    var annualized: Double?

    enum CodingKeys: String, CodingKey {
        case sharpe, sortino, days
        case totalPnL = "total_pnl", returnOnCapital = "return", maxDrawdown = "max_drawdown"
        case pnlPerDay = "pnl_per_day", annualizedReturn = "annualized_return"
    }

    public static func == (left: ChainStatistics, right: ChainStatistics) -> Bool {
        left.totalPnL == right.totalPnL && left.returnOnCapital == right.returnOnCapital
            && left.maxDrawdown == right.maxDrawdown && left.sharpe == right.sharpe && left.sortino == right.sortino
            && left.days == right.days && left.pnlPerDay == right.pnlPerDay
            && left.annualizedReturn == right.annualizedReturn
    }
}

import DeskBacktest
import DeskCore
import Foundation

/// How research orders runs by a figure of their reports (`--rank-by`).
///
/// A run's figure over all its members: `total_pnl` summed, `max_drawdown` the
/// largest of the members', `fills` summed; the ratios (`sharpe`, `sortino`,
/// `calmar`) are the member's when the run has exactly one member, and none
/// otherwise (ratios of separate accounts do not add up).
/// Higher is better, except `max_drawdown` (lower is better). Runs that failed,
/// and runs without the figure (a sharpe over fewer than two days), come last;
/// ties go to the lower run id.
public enum Ranking {
    /// `report`'s figure `by`, over all its members (see the type's rule); nil when it has none.
    public static func figure(_ report: BacktestReport, _ by: RankBy) -> Decimal? {
        let members = Array(report.members.values)
        func decimal(_ text: String?) -> Decimal? {
            guard let text, case .success(let value) = ExactDecimal.parse(text) else { return nil }
            return value
        }
        switch by {
        case .totalPnL:
            return members.reduce(Decimal(0)) { $0 + (decimal($1.totalPnL) ?? 0) }
        case .maxDrawdown:
            return members.compactMap { decimal($0.maxDrawdown) }.max() ?? 0
        case .sharpe, .sortino, .calmar:
            guard members.count == 1, let only = members.first else { return nil }
            return decimal(by == .sharpe ? only.sharpe : by == .sortino ? only.sortino : only.calmar)
        }
    }

    /// Fills over all of `report`'s members.
    public static func fills(_ report: BacktestReport) -> Int {
        report.members.values.reduce(0) { $0 + $1.fills }
    }

    /// `results`, best first by `by`; failed runs and runs without the figure last; ties by id.
    public static func rank(_ results: [BacktestJobResult], by: RankBy) -> [BacktestJobResult] {
        let keyed = results.map { result in (result, result.report.flatMap { figure($0, by) }) }
        return keyed.sorted { left, right in
            switch (left.1, right.1) {
            case (let a?, let b?) where a != b: return by == .maxDrawdown ? a < b : a > b
            case (.some, nil): return true
            case (nil, .some): return false
            default: return left.0.id < right.0.id
            }
        }.map(\.0)
    }
}

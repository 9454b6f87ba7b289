/// The figure research ranks runs by (`--rank-by`), under the name `desk backtest --json` uses.
public enum RankBy: String, Sendable, Codable, CaseIterable {
    case totalPnL = "total_pnl"
    case sharpe
    case sortino
    case calmar
    case maxDrawdown = "max_drawdown"
}

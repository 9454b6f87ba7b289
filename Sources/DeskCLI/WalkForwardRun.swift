import DeskBacktestEngine
import DeskResearch
import Foundation

/// `desk backtest --walk-forward …`: train windows swept, the best run on the test window after (slice h2).
public enum WalkForwardRun {
    public static func command(_ settings: BacktestSettings, _ request: ResearchRequest) async throws {
        throw DeskCommandError("--walk-forward is not built yet")
    }
}

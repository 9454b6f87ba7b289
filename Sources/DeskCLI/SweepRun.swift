import DeskBacktestEngine
import DeskResearch
import Foundation

/// `desk backtest --sweep SWEEP.json`: one run per combination, ranked (issue 28, slice h1).
public enum SweepRun {
    public static func command(_ settings: BacktestSettings, _ request: ResearchRequest) async throws {
        throw DeskCommandError("--sweep is not built yet")
    }
}

import DeskBacktestEngine
import DeskResearch
import Foundation

/// `desk backtest --server URL …`: the backtest submitted to a desk's queue (slice h4).
public enum RemoteBacktest {
    public static func command(_ settings: BacktestSettings, _ request: ResearchRequest) async throws {
        throw DeskCommandError("--server is not built yet")
    }
}

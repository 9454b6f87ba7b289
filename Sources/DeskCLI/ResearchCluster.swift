import DeskResearch
import Foundation

/// `--cluster ray://HOST:PORT`: research's runs as Ray tasks (slice h5).
public enum ResearchCluster {
    public static func executor(address: String) throws -> any BacktestExecutor {
        throw DeskCommandError("--cluster is not built yet")
    }
}

import DeskResearch
import Foundation

/// `--cluster ray://HOST:PORT`: research's runs as Ray tasks on that cluster, through the
/// Python driver run by `DESK_RAY_PYTHON` (default `python3`).
public enum ResearchCluster {
    public static func executor(address: String) throws -> any BacktestExecutor {
        let environment = ProcessInfo.processInfo.environment
        let python = environment[RayExecutor.pythonVariable].flatMap { $0.isEmpty ? nil : $0 }
        do {
            return RayExecutor(address: try RayAddress(address), python: python ?? RayExecutor.defaultPython)
        } catch {
            throw DeskCommandError(error.message)
        }
    }
}

import DeskCore
import Foundation

/// One strategy folder, found and configured.
public struct StrategyDefinition: Sendable, Equatable {
    /// The folder name: the strategy's name everywhere (CLI, logs, tokens).
    public var name: String
    public var folder: URL
    public var script: URL
    public var config: StrategyConfig
}

/// What discovery found: the usable strategies and the folders it refused, with reasons.
public struct DiscoveryReport: Sendable, Equatable {
    public var strategies: [StrategyDefinition]
    public var problems: [String: String]
}

/// Finds strategies: one folder each under the strategies directory, holding
/// `strategy.py` and optionally `config.json`. A bad folder is reported and
/// skipped; the others still load.
public enum StrategyDiscovery {
    public static func discover(in directory: URL, runtimes: StrategyRuntimes = .standard) -> DiscoveryReport {
        var report = DiscoveryReport(strategies: [], problems: [:])
        let root = directory.resolvingSymlinksInPath().standardizedFileURL
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else {
            report.problems["."] = "cannot read the strategies folder \(directory.path)"
            return report
        }
        for name in names.sorted() where !name.hasPrefix(".") && name != "__pycache__" {
            let folder = root.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue
            else { continue }
            switch load(name: name, folder: folder, root: root, runtimes: runtimes) {
            case .success(let definition): report.strategies.append(definition)
            case .failure(let problem): report.problems[name] = problem.description
            }
        }
        return report
    }

    /// Loads one strategy folder; its config.json may name one of `runtimes`.
    public static func load(
        name: String, folder: URL, root: URL, runtimes: StrategyRuntimes = .standard
    ) -> Result<StrategyDefinition, ConfigProblem> {
        guard Identifier.isSafe(name) else {
            return .failure(
                ConfigProblem(
                    path: folder.path, key: nil,
                    message: "folder name is not a safe identifier: \(Identifier.rule)"))
        }
        let resolved = folder.resolvingSymlinksInPath().standardizedFileURL
        guard resolved.path.hasPrefix(root.path + "/") else {
            return .failure(
                ConfigProblem(
                    path: folder.path, key: nil, message: "the folder links outside the strategies folder"))
        }
        let script = resolved.appendingPathComponent("strategy.py")
        guard FileManager.default.isReadableFile(atPath: script.path),
            script.resolvingSymlinksInPath().path.hasPrefix(root.path + "/")
        else {
            return .failure(ConfigProblem(path: script.path, key: nil, message: "strategy.py is missing"))
        }
        let configFile = resolved.appendingPathComponent("config.json")
        var config = StrategyConfig.defaults(folder: name)
        if let data = FileManager.default.contents(atPath: configFile.path) {
            switch StrategyConfig.parse(Array(data), folder: name, path: configFile.path, runtimes: runtimes) {
            case .success(let parsed): config = parsed
            case .failure(let problem): return .failure(problem)
            }
        }
        return .success(StrategyDefinition(name: name, folder: resolved, script: script, config: config))
    }
}

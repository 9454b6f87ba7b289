import DeskMarketData
import DeskRunner
import DeskTestSupport
import Foundation
import Synchronization

/// Credentials that hand out predictable tokens and remember what they did.
actor RecordingCredentials: StrategyCredentials {
    var issued: [String] = []
    var revoked: [String] = []

    /// Each strategy's venue, as a test moves it (`paper` unless set).
    var venues: [String: String] = [:]

    func move(_ strategy: String, to venue: String) { venues[strategy] = venue }

    func venue(member: String, strategy: String) -> String { venues[strategy] ?? "paper" }

    func issueToken(member: String, strategy: String, venue: String) -> String {
        issued.append("\(member)/\(strategy)@\(venue)")
        return "token-\(member)-\(strategy)-\(issued.count)"
    }

    func revokeTokens(member: String, strategy: String) { revoked.append("\(member)/\(strategy)") }
}

/// A strategies folder with Python strategies written by the test.
struct StrategyFolder {
    let folder: TemporaryDirectory
    var strategies: URL { folder.url.appendingPathComponent("strategies") }
    var logs: URL { folder.url.appendingPathComponent("logs") }

    init() throws {
        folder = try TemporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.url.path)
        try FileManager.default.createDirectory(at: strategies, withIntermediateDirectories: true)
    }

    func add(_ name: String, script: String, config: String? = nil) throws {
        let directory = strategies.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try script.write(to: directory.appendingPathComponent("strategy.py"), atomically: true, encoding: .utf8)
        if let config {
            try config.write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        }
    }

    func configuration(sandbox: SandboxOptions = .none, restart: RestartSettings? = nil) -> SupervisorConfiguration {
        SupervisorConfiguration(
            strategiesDirectory: strategies, logsDirectory: logs, deskURL: "unix:///nonexistent/desk.sock",
            python: "/usr/bin/python3", pythonPath: "", sandbox: sandbox, stopGrace: .seconds(2),
            restartOverride: restart)
    }

    func log(_ name: String) -> String {
        (try? String(contentsOf: logs.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
    }

    func remove() { folder.remove() }
}

/// Runs a supervisor for the duration of `body`, then shuts it down.
func withSupervisor<T: Sendable>(
    _ configuration: SupervisorConfiguration, feed: FeedHub, store: any StrategyStateStore = InMemoryStrategyStore(),
    credentials: RecordingCredentials = RecordingCredentials(), backend: (any StrategyBackend)? = nil,
    users: any StrategyUserStore = InMemoryStrategyUserStore(), runtimes: StrategyRuntimes = .standard,
    _ body: @Sendable (Supervisor) async throws -> T
) async throws -> T {
    let supervisor = Supervisor(
        configuration: configuration, feed: feed, credentials: credentials, store: store, users: users,
        backend: backend, runtimes: runtimes, logger: testLogger())
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await supervisor.run() }
        defer { group.cancelAll() }
        let result = try await body(supervisor)
        group.cancelAll()
        try? await group.waitForAll()
        return result
    }
}

/// A strategy that logs each line it reads as `GOT <symbol> <price>`.
let echoStrategy = """
    import json, sys
    print("READY", flush=True)
    for line in sys.stdin:
        tick = json.loads(line)
        print("GOT", tick["symbol"], tick["price"], flush=True)
    print("EOF", flush=True)
    """

/// Whether `pid` is a live process (gone or a zombie counts as ended).
func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// This process's open descriptors, each as what it refers to (`pipe:[123]`, a path).
func openDescriptors() -> Set<String> {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return Set(entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") })
}

/// This process's resident memory (VmRSS), bytes.
func residentBytes() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return (Int(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "") ?? 0) * 1024
}

import DeskCore
import Foundation
import SandboxSpec

/// Why a strategy could not be started, in the words the member reads.
public struct LaunchProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The one way a strategy is started, shared by live supervision (`Supervisor`)
/// and a backtest's lockstep (`Lockstep`): its folder and config.json read, a
/// fresh token, its uid, its private copy and HOME, an environment built from
/// nothing, its limits clamped by its member's caps, and its backend's launch.
public struct StrategyLauncher: Sendable {
    public let configuration: SupervisorConfiguration
    let credentials: any StrategyCredentials
    let users: any StrategyUserStore
    /// The runtimes strategies may name (config.json's `runtime`).
    let runtimes: StrategyRuntimes
    /// The backend that runs a strategy of this config, or why none can.
    let backend: @Sendable (StrategyConfig) -> Result<any StrategyBackend, ContainerProblem>

    /// A launcher over the desk's stores and the supervisor's backends.
    public init(
        configuration: SupervisorConfiguration, credentials: any StrategyCredentials, users: any StrategyUserStore,
        runtimes: StrategyRuntimes = .standard,
        backend: @escaping @Sendable (StrategyConfig) -> Result<any StrategyBackend, ContainerProblem>
    ) {
        self.configuration = configuration
        self.credentials = credentials
        self.users = users
        self.runtimes = runtimes
        self.backend = backend
    }

    /// Whether each strategy gets its own uid: the desk is root and sandboxes strategies.
    var switchesUser: Bool { getuid() == 0 && configuration.sandbox.enabled }

    /// What to say of a name that is no strategy.
    func unknown(_ name: String) -> String {
        "no strategy folder \(name) in \(configuration.strategiesDirectory.path)"
    }

    /// Strategy `name`'s folder and config.json, or what is wrong with them.
    public func definition(_ name: String) -> Result<StrategyDefinition, LaunchProblem> {
        let root = configuration.strategiesDirectory.resolvingSymlinksInPath().standardizedFileURL
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &isFolder),
            isFolder.boolValue
        else { return .failure(LaunchProblem(unknown(name))) }
        switch StrategyDiscovery.load(
            name: name, folder: root.appendingPathComponent(name), root: root, runtimes: runtimes)
        {
        case .success(let definition): return .success(definition)
        case .failure(let problem): return .failure(LaunchProblem(problem.description))
        }
    }

    /// Starts the strategy `definition` describes, its reads of stdin watched as
    /// `watch` says (a backtest's lockstep watches them). On failure nothing is
    /// left: the token is revoked, the counter closed.
    public func launch(_ definition: StrategyDefinition, watch: ReadWatch) async throws(LaunchProblem) -> StrategyRun {
        let name = definition.name
        let config = definition.config
        let log = StrategyLog(
            path: configuration.logPath(name), maxBytes: configuration.logMaxBytes, keep: configuration.logKeep)
        let token: String
        let venue: String
        do {
            venue = try await credentials.venue(member: config.member, strategy: name)
            token = try await credentials.issueToken(member: config.member, strategy: name, venue: venue)
        } catch {
            throw LaunchProblem("could not issue a token: \(error)")
        }
        var readiness: ReadinessCounter?
        do {
            if watch != .none {
                try FileManager.default.createDirectory(
                    at: configuration.sandboxDirectory, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
                readiness = try ReadinessCounter(
                    path: configuration.sandboxDirectory.appendingPathComponent("\(name).reads").path)
            }
            let user = try await user(for: name)
            let stage = try StrategyStage(root: configuration.sandboxDirectory).prepare(
                name: name, from: definition.folder, user: user)
            let spec = LaunchSpec(
                name: name, member: config.member,
                program: [configuration.python, "-s", "-u", stage.app.appendingPathComponent("strategy.py").path],
                workingDirectory: stage.app,
                environment: environment(config: config, name: name, token: token, home: stage.home.path),
                limits: configuration.memberCaps.caps(for: config.member).clamp(config.limits), log: log,
                user: user, home: stage.home,
                hiddenPaths: [
                    configuration.strategiesDirectory, configuration.logsDirectory, configuration.sandboxDirectory,
                ].map(\.path),
                readiness: readiness?.path, packetThreshold: watch.packetThreshold)
            let backend = try backend(config).get()
            log.note("starting \(name) for member \(config.member) on venue \(venue) (\(backend.name))")
            let process = try await backend.launch(spec)
            return StrategyRun(
                definition: definition, process: process, readiness: readiness, log: log, credentials: credentials)
        } catch {
            readiness?.close()
            log.note("could not start: \(error)")
            try? await credentials.revokeTokens(member: config.member, strategy: name)
            throw LaunchProblem("could not start: \(error)")
        }
    }

    /// The user strategy `name` runs as: its own uid (and a group of the same
    /// number) plus the desk socket's group, when the desk is root; else the desk's.
    private func user(for name: String) async throws -> StrategyUser? {
        guard switchesUser else { return nil }
        let uid = try await users.uid(for: name, in: configuration.sandbox.uids)
        return StrategyUser(uid: uid, gid: uid, groups: configuration.sandbox.clientGroup.map { [$0] } ?? [])
    }

    /// The strategy's environment, built from nothing: its config's `env`, then the desk's own variables.
    func environment(config: StrategyConfig, name: String, token: String, home: String) -> [String: String] {
        var environment = config.environment
        environment["DESK_SERVER_URL"] = configuration.deskURL
        environment["DESK_TOKEN"] = token
        environment["USER_ID"] = config.member
        environment["STRATEGY_NAME"] = name
        environment["PYTHONUNBUFFERED"] = "1"
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        environment["PYTHONNOUSERSITE"] = "1"
        environment["PYTHONPATH"] = configuration.pythonPath
        environment["PATH"] = "/usr/local/bin:/usr/bin:/bin"
        environment["HOME"] = home
        environment["TMPDIR"] = "/tmp"
        environment["LANG"] = "C.UTF-8"
        if let url = configuration.alpacaURL(
            runtime: config.runtime ?? configuration.defaultRuntime, runtimes: runtimes)
        {
            environment.merge(Supervisor.alpacaEnvironment(url: url, member: config.member, token: token)) { $1 }
        }
        return environment
    }
}

/// How a strategy's reads of stdin are watched.
public enum ReadWatch: Sendable, Equatable {
    /// Not at all (a live strategy).
    case none
    /// Each read it starts is counted by its `ReadinessCounter` (strict lockstep).
    case everyRead
    /// Its stdin is fed in packets written ahead (one line each, `writePacket`)
    /// and what it has read is the kernel's count (`unreadInput`). Only a read
    /// shorter than `threshold` bytes, or a vectored one — which would cut a
    /// packet — is reported to its `ReadinessCounter`, and the strategy is held
    /// there: a count above zero means the run must go back to strict lockstep.
    case packets(threshold: Int)

    var packetThreshold: Int? {
        if case .packets(let threshold) = self { return threshold }
        return nil
    }

    /// The packet threshold of a strategy whose longest line is `longestLine`
    /// bytes: the smallest read that takes every line whole, rounded up to 512
    /// bytes; nil when a line is longer than one packet holds (PIPE_BUF).
    public static func packetThreshold(longestLine: Int) -> Int? {
        guard longestLine <= SandboxSpec.largestPacket else { return nil }
        return min(SandboxSpec.largestPacket, (max(1, longestLine) + 511) / 512 * 512)
    }
}

/// One run of a started strategy: its process, its log and (in lockstep) its
/// readiness counter, until `finish` (it ended) or `abandon` (nobody wants it).
public struct StrategyRun: Sendable {
    public let definition: StrategyDefinition
    public let process: any RunningStrategy
    /// Its reads of stdin (lockstep only).
    public let readiness: ReadinessCounter?
    let log: StrategyLog
    let credentials: any StrategyCredentials

    public var name: String { definition.name }
    public var member: String { definition.config.member }

    /// It ended with `exit`: its log says so and is closed, and its token is revoked.
    public func finish(_ exit: StrategyExit) async {
        log.note("\(name) ended: \(exit)")
        log.close()
        readiness?.close()
        try? await credentials.revokeTokens(member: member, strategy: name)
    }

    /// It was stopped before it was taken into service (a stop came meanwhile).
    public func abandon(grace: Duration) async {
        readiness?.close()
        await process.stop(grace: grace)
        try? await credentials.revokeTokens(member: member, strategy: name)
    }
}

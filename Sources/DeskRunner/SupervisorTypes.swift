import DeskCore
import Foundation

/// Keeps strategy state across desk restarts.
public protocol StrategyStateStore: Sendable {
    func loadAll() async throws -> [StrategyStateRecord]
    func save(_ record: StrategyStateRecord) async throws
    /// Forgets a strategy whose folder is gone.
    func remove(_ name: String) async throws
}

/// Remembers the uid each strategy runs as, so that no two strategies ever share one.
public protocol StrategyUserStore: Sendable {
    /// The uid of `strategy`; the first call allocates the lowest one in `range`
    /// that no strategy holds (and throws when every one is held).
    func uid(for strategy: String, in range: ClosedRange<UInt32>) async throws -> UInt32
    /// Gives the uid of `strategy` (gone for good) back, to be given again.
    func release(_ strategy: String) async throws
}

extension StrategyUserStore {
    /// The uid of `strategy`, from `base` up.
    public func uid(for strategy: String, base: UInt32) async throws -> UInt32 {
        try await uid(for: strategy, in: base...(UInt32.max - 2))
    }
}

/// Uids in memory (tests).
public actor InMemoryStrategyUserStore: StrategyUserStore {
    private var uids: [String: UInt32] = [:]
    private let claims: UIDClaims
    /// Names this store's claims: no other store or desk on the machine gets its uids.
    private let owner = UIDClaims.memoryOwner(UUID().uuidString)
    public init(claims: UIDClaims = .machine) { self.claims = claims }
    public func uid(for strategy: String, in range: ClosedRange<UInt32>) throws -> UInt32 {
        if let known = uids[strategy] { return known }
        let held = Set(uids.values)
        var found: UInt32?
        for candidate in range where !held.contains(candidate) {
            if try claims.claim(candidate, owner: "\(owner) \(strategy)") {
                found = candidate
                break
            }
        }
        guard let next = found else {
            throw UIDClaimProblem(
                message:
                    "every strategy uid from \(range.lowerBound) to \(range.upperBound) is taken; delete strategies or give the desk a wider range"
            )
        }
        uids[strategy] = next
        return next
    }
    public func release(_ strategy: String) {
        guard let uid = uids.removeValue(forKey: strategy) else { return }
        claims.release(uid, owner: "\(owner) \(strategy)")
    }
}

/// Issues each started strategy its own token, bound to its member, strategy and venue.
public protocol StrategyCredentials: Sendable {
    /// The venue `strategy` runs on now (the desk's default venue unless it was moved).
    func venue(member: String, strategy: String) async throws -> String
    /// A fresh token for one run of `strategy`, good on `venue` only.
    func issueToken(member: String, strategy: String, venue: String) async throws -> String
    func revokeTokens(member: String, strategy: String) async throws
}

/// A store in memory (tests).
public actor InMemoryStrategyStore: StrategyStateStore {
    private var records: [String: StrategyStateRecord] = [:]
    public init() {}
    public func loadAll() -> [StrategyStateRecord] { records.values.sorted { $0.name < $1.name } }
    public func save(_ record: StrategyStateRecord) { records[record.name] = record }
    public func remove(_ name: String) { records[name] = nil }
}

/// How the supervisor runs strategies.
public struct SupervisorConfiguration: Sendable {
    public var strategiesDirectory: URL
    public var logsDirectory: URL
    /// Each strategy's staged folder and HOME (see `StrategyStage`); readable by the desk only.
    public var sandboxDirectory: URL
    /// What strategies get as DESK_SERVER_URL (`unix:///…/desk.sock` in the sandbox).
    public var deskURL: String
    /// The interpreter (`/usr/bin/python3` when present: readable by unprivileged users).
    public var python: String
    /// PYTHONPATH for strategies, so `desk_client` and its dependencies import.
    public var pythonPath: String
    public var sandbox: SandboxOptions
    public var stopGrace: Duration
    public var logMaxBytes: Int
    public var logKeep: Int
    /// Ticks buffered per strategy before the oldest are dropped.
    public var feedCapacity: Int
    /// Logs one member may follow at once (`?follow=1`); more are refused.
    public var logFollowersPerMember = 4
    /// Overrides every strategy's restart settings (tests, demo); nil keeps config.json's.
    public var restartOverride: RestartSettings?
    /// What runs strategies whose config.json names no `runtime`.
    public var defaultRuntime: StrategyRuntime
    /// How containers run; nil: the docker runtime is not available.
    public var docker: DockerSettings?
    /// What each member's strategies may have at most (memory, CPU); applied at every start.
    public var memberCaps = MemberCapsPolicy()
    /// The desk's TCP listener (`http://127.0.0.1:8080`): where an Alpaca SDK in a
    /// strategy that runs without the sandbox reaches the desk.
    public var deskTCPURL: String?

    /// Where an Alpaca SDK inside a process-backend strategy reaches the desk's
    /// Alpaca-compatible API: the sandbox's loopback, or the desk's TCP listener
    /// without a sandbox; nil when there is neither (the unix socket only).
    public var alpacaURL: String? {
        if !sandbox.enabled { return deskTCPURL }
        guard sandbox.isolateNetwork, let port = sandbox.loopbackPort else { return nil }
        return "http://127.0.0.1:\(port)"
    }

    /// `alpacaURL` for a strategy of `runtime`, as its registration in `runtimes` says (nil for an unknown runtime).
    public func alpacaURL(runtime: StrategyRuntime, runtimes: StrategyRuntimes = .standard) -> String? {
        runtimes[runtime]?.alpacaURL(self)
    }

    public init(
        strategiesDirectory: URL, logsDirectory: URL, sandboxDirectory: URL? = nil, deskURL: String, python: String,
        pythonPath: String, sandbox: SandboxOptions = SandboxOptions(), stopGrace: Duration = .seconds(5),
        logMaxBytes: Int = 10 << 20,
        logKeep: Int = 3, feedCapacity: Int = 1024, restartOverride: RestartSettings? = nil,
        defaultRuntime: StrategyRuntime = .process, docker: DockerSettings? = nil
    ) {
        self.defaultRuntime = defaultRuntime
        self.docker = docker
        self.strategiesDirectory = strategiesDirectory
        self.logsDirectory = logsDirectory
        self.sandboxDirectory =
            sandboxDirectory ?? logsDirectory.deletingLastPathComponent().appendingPathComponent("sandbox")
        self.deskURL = deskURL
        self.python = python
        self.pythonPath = pythonPath
        self.sandbox = sandbox
        self.stopGrace = stopGrace
        self.logMaxBytes = logMaxBytes
        self.logKeep = logKeep
        self.feedCapacity = feedCapacity
        self.restartOverride = restartOverride
    }

    /// Makes the logs folder, the desk's alone (strategies write theirs through the desk).
    public func makeLogsDirectory() {
        try? FileManager.default.createDirectory(
            at: logsDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Strategy `name`'s log file.
    public func logPath(_ name: String) -> String {
        logsDirectory.appendingPathComponent("\(name).log").path
    }

    /// The interpreter when none is chosen: /usr/bin/python3 (readable by unprivileged users), else python3.
    public static var defaultPython: String {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
    }
}

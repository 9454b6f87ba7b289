import DeskAPI
import DeskCore
import DeskMarketData
import Foundation
import Logging
import ServiceLifecycle

/// Runs members' strategies: starts, stops and restarts them, gives each a fresh
/// token, an environment built from scratch and its market data on stdin, keeps
/// their logs, restarts crashes with backoff, and remembers what was running.
public actor Supervisor: Service {
    private struct Managed {
        var record: StrategyStateRecord
        var generation = 0
        var process: (any RunningStrategy)?
        var subscription: FeedSubscription?
        var symbols: Set<String>?
        var restartsInARow = 0
        var lastLines: [String]?
        /// Lockstep (backtests): the strategy's requests for input, and the ticks given to it.
        var readiness: ReadinessCounter?
        var delivered = 0
    }

    public let configuration: SupervisorConfiguration
    public nonisolated let sandboxReport: SandboxReport
    /// The process backend's sandbox (deploys compile in it); nil when `init` was given a backend.
    public nonisolated let sandboxPlan: SandboxPlan?
    /// Who follows which member's logs: at most `SupervisorConfiguration.logFollowersPerMember` each.
    public nonisolated let logFollowers: MemberSlots
    private let feed: FeedHub
    private let credentials: any StrategyCredentials
    private let store: any StrategyStateStore
    private let users: any StrategyUserStore
    /// One backend per runtime; a backend given to `init` (tests) runs every strategy.
    private let backends: [StrategyRuntime: any StrategyBackend]
    /// The runtimes strategies may name, each with its backend's factory.
    private let runtimes: StrategyRuntimes
    private let logger: Logger
    private var managed: [String: Managed] = [:]
    private let launches: AsyncStream<(String, Int)>
    private let launchQueue: AsyncStream<(String, Int)>.Continuation
    private var shuttingDown = false

    /// `users` remembers each strategy's uid (the ledger, in the desk).
    public init(
        configuration: SupervisorConfiguration, feed: FeedHub, credentials: any StrategyCredentials,
        store: any StrategyStateStore, users: any StrategyUserStore = InMemoryStrategyUserStore(),
        backend: (any StrategyBackend)? = nil, runtimes: StrategyRuntimes = .standard, logger: Logger
    ) {
        self.runtimes = runtimes
        self.configuration = configuration
        self.feed = feed
        self.credentials = credentials
        self.store = store
        self.users = users
        self.logger = logger
        logFollowers = MemberSlots(perMember: configuration.logFollowersPerMember)
        if let backend {
            backends = Dictionary(uniqueKeysWithValues: runtimes.all.map { ($0.runtime, backend) })
            sandboxReport = SandboxReport(applied: ["backend \(backend.name), given by the caller"])
            sandboxPlan = nil
        } else {
            let plan = SandboxPlan.probe(
                options: configuration.sandbox, python: configuration.python, pythonPath: configuration.pythonPath)
            backends = runtimes.backends(RuntimeContext(configuration: configuration, plan: plan))
            sandboxReport = plan.report
            sandboxPlan = plan
        }
        (launches, launchQueue) = AsyncStream.makeStream(of: (String, Int).self)
        // The logs are the desk's alone (strategies write theirs through the desk).
        try? FileManager.default.createDirectory(
            at: configuration.logsDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
    }

    /// Whether each strategy gets its own uid: the desk is root and sandboxes strategies.
    nonisolated var switchesUser: Bool { getuid() == 0 && configuration.sandbox.enabled }

    // MARK: Service

    /// Restarts what was running before, then runs strategies until shutdown;
    /// at shutdown stops them all, remembering they should run next time.
    public func run() async throws {
        for line in sandboxReport.applied { logger.info("sandbox", metadata: ["applied": "\(line)"]) }
        if let problem = sandboxReport.problem {
            logger.error(
                "the strategy sandbox cannot be built: no strategy can start", metadata: ["reason": "\(problem)"])
        }
        for backend in Set(backends.keys).sorted(by: { $0.rawValue < $1.rawValue }).compactMap({ backends[$0] }) {
            for leftover in await backend.removeLeftovers() {
                logger.info(
                    "removed what an earlier run left behind",
                    metadata: ["backend": "\(backend.name)", "leftover": "\(leftover)"])
            }
        }
        for record in (try? await store.loadAll()) ?? [] {
            managed[record.name] = Managed(record: record)
            if record.desiredRunning {
                logger.info("restarting strategy that was running", metadata: ["strategy": "\(record.name)"])
                _ = launch(record.name)
            } else if record.state != .failed {
                managed[record.name]?.record.state = .stopped
            }
        }
        await withDiscardingTaskGroup { group in
            for await (name, generation) in launches.cancelOnGracefulShutdown() {
                group.addTask { await self.lifecycle(name: name, generation: generation) }
            }
            await shutdown()
        }
    }

    private func shutdown() async {
        shuttingDown = true
        launchQueue.finish()
        await withDiscardingTaskGroup { group in
            for (name, entry) in managed {
                guard let process = entry.process else { continue }
                managed[name]?.generation += 1
                let grace = configuration.stopGrace
                group.addTask { await process.stop(grace: grace) }
            }
        }
    }

    // MARK: Commands

    /// Starts the named strategies (all discovered ones when empty).
    public func start(_ names: [String]) async -> [StrategyActionResult] {
        var results: [StrategyActionResult] = []
        for name in resolve(names, results: &results) {
            if let process = managed[name]?.process, managed[name]?.record.desiredRunning == true {
                results.append(
                    StrategyActionResult(name: name, ok: true, message: "already running (pid \(process.pid))"))
                continue
            }
            results.append(launch(name))
        }
        return results
    }

    /// Stops the named strategies (all when empty), all at once: each gets
    /// SIGTERM together, and SIGKILL after the grace period if it is still running.
    public func stop(_ names: [String]) async -> [StrategyActionResult] {
        let targets = names.isEmpty ? managed.keys.sorted() : names
        var stopping: [String: any RunningStrategy] = [:]
        for name in targets {
            guard var entry = managed[name] else { continue }
            entry.generation += 1
            entry.record.desiredRunning = false
            if let process = entry.process { stopping[name] = process }
            managed[name] = entry
        }
        let grace = configuration.stopGrace
        await withDiscardingTaskGroup { group in
            for process in stopping.values { group.addTask { await process.stop(grace: grace) } }
        }
        var results: [StrategyActionResult] = []
        for name in targets {
            guard managed[name] != nil else {
                results.append(StrategyActionResult(name: name, ok: false, message: unknown(name)))
                continue
            }
            let wasFailed = managed[name]?.record.state == .failed
            managed[name]?.record.state = wasFailed && stopping[name] == nil ? .failed : .stopped
            managed[name]?.record.pid = nil
            await persist(name)
            results.append(
                StrategyActionResult(
                    name: name, ok: true, message: stopping[name] == nil ? "was not running" : "stopped"))
        }
        return results
    }

    /// What to say of a name that is no strategy.
    private func unknown(_ name: String) -> String {
        "no strategy folder \(name) in \(configuration.strategiesDirectory.path)"
    }

    /// Stops and starts the named strategies (all when empty).
    public func restart(_ names: [String]) async -> [StrategyActionResult] {
        let targets = names.isEmpty ? Array(Set(managed.keys).union(discoveredNames())).sorted() : names
        // `stop([])` means every strategy: restarting only strategies that are not known yet stops none.
        let known = targets.filter { managed[$0] != nil }
        if !known.isEmpty { _ = await stop(known) }
        return await start(targets)
    }

    /// Every strategy discovered or known, with its state. A strategy whose
    /// folder is gone and that no longer runs is forgotten.
    public func status() async -> [StrategyStatus] {
        let report = StrategyDiscovery.discover(in: configuration.strategiesDirectory, runtimes: runtimes)
        let present = Set(report.strategies.map(\.name)).union(report.problems.keys)
        for (name, entry) in managed where !present.contains(name) && entry.process == nil {
            managed[name] = nil
            do {
                try await store.remove(name)
                // Its uid goes back to be given again: uids are a bounded range.
                if switchesUser { try await users.release(name) }
            } catch {
                logger.error(
                    "could not forget a deleted strategy", metadata: ["strategy": "\(name)", "error": "\(error)"])
            }
        }
        var names = Set(managed.keys)
        names.formUnion(report.strategies.map(\.name))
        names.formUnion(report.problems.keys.filter { $0 != "." })
        return names.sorted().map { name in
            let entry = managed[name]
            let definition = report.strategies.first { $0.name == name }
            let statistics = feed.statistics.subscribers.first { $0.id == name }
            return StrategyStatus(
                name: name, member: entry?.record.member ?? definition?.config.member ?? "-",
                state: (entry?.record.state ?? .stopped).rawValue, pid: entry?.process?.pid,
                runtime: definition.map { runtime(for: $0.config).rawValue }, container: entry?.process?.container,
                restarts: entry?.record.restarts ?? 0, startedAt: entry?.record.startedAt,
                lastExit: entry?.record.lastExit, failure: entry?.record.failure,
                lastLogLines: entry?.record.state == .failed
                    ? (entry?.lastLines ?? StrategyLog.tail(path: logPath(name), lines: 10)) : nil,
                symbols: (entry?.symbols ?? definition?.config.symbols).map { $0.sorted() },
                ticksDelivered: statistics?.delivered ?? entry?.subscription?.delivered ?? entry?.delivered ?? 0,
                ticksDropped: statistics?.dropped ?? entry?.subscription?.dropped ?? 0,
                problem: report.problems[name], ordersPlaced: nil)
        }
    }

    /// The strategy's log file.
    public nonisolated func logPath(_ name: String) -> String {
        configuration.logsDirectory.appendingPathComponent("\(name).log").path
    }

    // MARK: Lockstep (backtests)

    /// Waits until each named strategy is running (and, in lockstep, watched) or has
    /// failed or stopped trying: the start of a backtest.
    public func waitUntilStarted(_ names: [String]) async {
        while !Task.isCancelled {
            let pending = names.filter { name in
                guard let entry = managed[name] else { return false }
                if entry.process != nil { return false }
                return entry.record.desiredRunning && entry.record.state != .failed
            }
            if pending.isEmpty { return }
            // Start-up only (an interpreter loading), never on the tick path.
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits until every strategy in lockstep has finished with the last tick it
    /// was given — it is blocked reading stdin for the next — or has ended. When
    /// the waiting task is cancelled (a deadline, a signal), returns the strategy
    /// it was waiting for; nil once every one has settled.
    public func settle() async -> String? {
        for name in managed.keys.sorted() {
            guard let entry = managed[name], entry.process != nil, let readiness = entry.readiness else { continue }
            if await readiness.wait(forReads: entry.delivered + 1) == .closed && Task.isCancelled { return name }
        }
        return nil
    }

    /// What became of a tick given in lockstep.
    public struct Delivery: Sendable, Equatable {
        /// How many strategies took it.
        public var given: Int
        /// The strategy that had not finished with it when the waiting task was
        /// cancelled (a deadline, a signal); nil when every one did.
        public var unanswered: String?
    }

    /// Gives `line` to each strategy in lockstep subscribed to its symbol, one
    /// after the other in name order, each only once the one before has finished
    /// with it (asks for input again, or ended): so the orders of one tick reach
    /// the desk in the same order in every run. Call `settle` once first. A
    /// cancelled caller stops waiting at once and learns whom it waited for.
    @discardableResult
    public func deliver(_ line: FeedLine) async -> Delivery {
        var given = 0
        for name in managed.keys.sorted() {
            if Task.isCancelled { break }
            guard let entry = managed[name], let process = entry.process, let readiness = entry.readiness else {
                continue
            }
            if let symbols = entry.symbols, !symbols.contains(line.tick.symbol) { continue }
            guard await process.write(line.bytes) else {
                // A full pipe is waited on until cancelled; a closed one is a strategy that ended.
                if Task.isCancelled { return Delivery(given: given, unanswered: name) }
                continue
            }
            let delivered = entry.delivered + 1
            managed[name]?.delivered = delivered
            given += 1
            if await readiness.wait(forReads: delivered + 1) == .closed && Task.isCancelled {
                return Delivery(given: given, unanswered: name)
            }
        }
        return Delivery(given: given, unanswered: nil)
    }

    /// The data is over: every strategy's stdin is closed, and those still
    /// running after `grace` are stopped. Returns once none runs.
    public func endOfData(grace: Duration) async {
        for entry in managed.values { entry.process?.closeInput() }
        let deadline = ContinuousClock.now + grace
        while managed.values.contains(where: { $0.process != nil }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        let running = managed.filter { $0.value.process != nil }.map(\.key)
        if !running.isEmpty { _ = await stop(running) }
        while managed.values.contains(where: { $0.process != nil }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    // MARK: Lifecycle

    private func discoveredNames() -> [String] {
        StrategyDiscovery.discover(in: configuration.strategiesDirectory, runtimes: runtimes).strategies.map(\.name)
    }

    private func resolve(_ names: [String], results: inout [StrategyActionResult]) -> [String] {
        if !names.isEmpty { return names }
        let report = StrategyDiscovery.discover(in: configuration.strategiesDirectory, runtimes: runtimes)
        for (name, problem) in report.problems.sorted(by: { $0.key < $1.key }) {
            results.append(StrategyActionResult(name: name, ok: false, message: problem))
        }
        return report.strategies.map(\.name)
    }

    private func launch(_ name: String) -> StrategyActionResult {
        if shuttingDown { return StrategyActionResult(name: name, ok: false, message: "the desk is shutting down") }
        let root = configuration.strategiesDirectory.resolvingSymlinksInPath().standardizedFileURL
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &isFolder),
            isFolder.boolValue
        else { return StrategyActionResult(name: name, ok: false, message: unknown(name)) }
        let definition: StrategyDefinition
        switch StrategyDiscovery.load(
            name: name, folder: root.appendingPathComponent(name), root: root, runtimes: runtimes)
        {
        case .success(let loaded): definition = loaded
        case .failure(let problem):
            return StrategyActionResult(name: name, ok: false, message: problem.description)
        }
        if case .failure(let problem) = backend(for: definition.config) {
            return StrategyActionResult(name: name, ok: false, message: problem.message)
        }
        var entry =
            managed[name]
            ?? Managed(
                record: StrategyStateRecord(
                    name: name, member: definition.config.member, desiredRunning: true, state: .starting))
        entry.generation += 1
        entry.record.member = definition.config.member
        entry.record.desiredRunning = true
        entry.record.state = .starting
        entry.record.failure = nil
        entry.restartsInARow = 0
        entry.lastLines = nil
        managed[name] = entry
        launchQueue.yield((name, entry.generation))
        return StrategyActionResult(name: name, ok: true, message: "starting (member \(definition.config.member))")
    }

    /// The runtime a strategy runs in: its config's, else the desk's default.
    nonisolated func runtime(for config: StrategyConfig) -> StrategyRuntime {
        config.runtime ?? configuration.defaultRuntime
    }

    private func backend(for config: StrategyConfig) -> Result<any StrategyBackend, ContainerProblem> {
        let runtime = runtime(for: config)
        guard let backend = backends[runtime] else {
            return .failure(
                ContainerProblem(
                    message: "runtime \"\(runtime.rawValue)\" is not available in this desk; use \"process\""))
        }
        return .success(backend)
    }

    private func isCurrent(_ name: String, _ generation: Int) -> Bool {
        managed[name]?.generation == generation && managed[name]?.record.desiredRunning == true && !shuttingDown
    }

    private func lifecycle(name: String, generation: Int) async {
        while isCurrent(name, generation) {
            let root = configuration.strategiesDirectory.resolvingSymlinksInPath().standardizedFileURL
            guard
                case .success(let definition) = StrategyDiscovery.load(
                    name: name, folder: root.appendingPathComponent(name), root: root, runtimes: runtimes)
            else {
                await markFailed(name, reason: "the strategy folder is no longer usable")
                return
            }
            let config = definition.config
            let log = StrategyLog(path: logPath(name), maxBytes: configuration.logMaxBytes, keep: configuration.logKeep)
            let token: String
            do {
                token = try await credentials.issueToken(member: config.member, strategy: name)
            } catch {
                await markFailed(name, reason: "could not issue a token: \(error)")
                return
            }
            let process: any RunningStrategy
            var readiness: ReadinessCounter?
            do {
                if configuration.lockstep {
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
                    readiness: readiness?.path)
                let backend = try backend(for: config).get()
                log.note("starting \(name) for member \(config.member) (\(backend.name))")
                process = try await backend.launch(spec)
            } catch {
                readiness?.close()
                log.note("could not start: \(error)")
                try? await credentials.revokeTokens(member: config.member, strategy: name)
                await markFailed(name, reason: "could not start: \(error)")
                return
            }
            let started = ContinuousClock.now
            let subscription =
                readiness == nil
                ? feed.subscribe(id: name, symbols: config.symbols, capacity: configuration.feedCapacity) : nil
            guard isCurrent(name, generation) else {
                subscription?.cancel()
                readiness?.close()
                await process.stop(grace: configuration.stopGrace)
                try? await credentials.revokeTokens(member: config.member, strategy: name)
                return
            }
            managed[name]?.process = process
            managed[name]?.subscription = subscription
            managed[name]?.readiness = readiness
            managed[name]?.delivered = 0
            managed[name]?.symbols = config.symbols
            managed[name]?.record.state = .running
            managed[name]?.record.pid = process.pid
            managed[name]?.record.startedAt = Date()
            await persist(name)
            logger.info(
                "strategy started",
                metadata: ["strategy": "\(name)", "member": "\(config.member)", "pid": "\(process.pid)"])

            let exit: StrategyExit
            if let subscription {
                exit = await Self.pump(subscription, into: process)
            } else {
                exit = await process.exitStatus()
                readiness?.ended(exit)
            }
            let ranFor = ContinuousClock.now - started
            log.note("\(name) ended: \(exit)")
            log.close()
            try? await credentials.revokeTokens(member: config.member, strategy: name)
            managed[name]?.process = nil
            managed[name]?.subscription = nil
            managed[name]?.record.pid = nil
            managed[name]?.record.lastExit = exit.description
            logger.info("strategy ended", metadata: ["strategy": "\(name)", "exit": "\(exit)"])
            if readiness != nil {
                // Lockstep: a strategy runs once, over the data; ending is the end of its run.
                readiness?.close()
                managed[name]?.readiness = nil
                if case .exited(0) = exit {
                    managed[name]?.record.state = .stopped
                    managed[name]?.record.desiredRunning = false
                    await persist(name)
                } else if isCurrent(name, generation) {
                    await markFailed(name, reason: "it ended before the data did: \(exit)")
                } else {
                    managed[name]?.record.state = .stopped
                    await persist(name)
                }
                return
            }
            guard isCurrent(name, generation) else {
                if managed[name]?.record.state != .failed { managed[name]?.record.state = .stopped }
                await persist(name)
                return
            }
            let settings = configuration.restartOverride ?? config.restart
            let (decision, streak) = RestartPolicy.decide(
                exit: exit, ranFor: ranFor, restartsInARow: managed[name]?.restartsInARow ?? 0, settings: settings)
            managed[name]?.restartsInARow = streak
            switch decision {
            case .stay:
                managed[name]?.record.state = .stopped
                managed[name]?.record.desiredRunning = false
                await persist(name)
                return
            case .fail(let reason):
                await markFailed(name, reason: reason)
                return
            case .restart(let delay):
                managed[name]?.record.state = .backoff
                managed[name]?.record.restarts += 1
                await persist(name)
                logger.warning(
                    "strategy crashed; restarting",
                    metadata: ["strategy": "\(name)", "exit": "\(exit)", "delay": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Feeds market data into the strategy until it exits; returns how it ended.
    private static func pump(_ subscription: FeedSubscription, into process: any RunningStrategy) async -> StrategyExit
    {
        await withTaskGroup(of: StrategyExit?.self) { group in
            group.addTask {
                for await line in subscription {
                    // Whatever else is already waiting goes in the same write.
                    var bytes = line.bytes
                    for more in subscription.takeBuffered(limit: 255) { bytes += more.bytes }
                    if !(await process.write(bytes)) { break }
                }
                // The feed ended (desk shutting down) or the strategy closed its stdin.
                process.closeInput()
                return nil
            }
            group.addTask {
                let status = await process.exitStatus()
                subscription.cancel()
                return status
            }
            var status: StrategyExit = .exited(0)
            for await result in group {
                if let result { status = result }
            }
            return status
        }
    }

    private func markFailed(_ name: String, reason: String) async {
        managed[name]?.record.state = .failed
        managed[name]?.record.failure = reason
        managed[name]?.record.desiredRunning = false
        managed[name]?.lastLines = StrategyLog.tail(path: logPath(name), lines: 20)
        await persist(name)
        logger.error("strategy failed", metadata: ["strategy": "\(name)", "reason": "\(reason)"])
    }

    private func persist(_ name: String) async {
        guard let record = managed[name]?.record else { return }
        do { try await store.save(record) } catch {
            logger.error("could not save strategy state", metadata: ["strategy": "\(name)", "error": "\(error)"])
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
    nonisolated func environment(config: StrategyConfig, name: String, token: String, home: String) -> [String: String]
    {
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
        if let url = configuration.alpacaURL(runtime: runtime(for: config), runtimes: runtimes) {
            environment.merge(Self.alpacaEnvironment(url: url, member: config.member, token: token)) { $1 }
        }
        return environment
    }

    /// What an alpaca-py strategy reads to trade through the desk: the desk's
    /// Alpaca-compatible API at `url` (REST, data and streams), the member as the
    /// key id and the strategy's own desk token as the secret (never the club's keys).
    public static func alpacaEnvironment(url: String, member: String, token: String) -> [String: String] {
        let stream = url.replacingOccurrences(of: "http://", with: "ws://")
            .replacingOccurrences(of: "https://", with: "wss://")
        return [
            "APCA_API_BASE_URL": url, "APCA_API_DATA_URL": url, "APCA_API_STREAM_URL": stream,
            "APCA_API_KEY_ID": member, "APCA_API_SECRET_KEY": token,
        ]
    }
}

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
        /// Fired once the lifecycle is done with `process` (its exit booked, its run finished).
        var processDone: OneShot<Void>?
        var subscription: FeedSubscription?
        var symbols: Set<String>?
        var restartsInARow = 0
        var lastLines: [String]?
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
    /// Where the desk delivers its strategies' order event lines (for those that ask for them).
    public nonisolated let orderEvents = StrategyEventRoutes()

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
        configuration.makeLogsDirectory()
    }

    /// How this desk starts a strategy (live here, or in a backtest's `Lockstep`).
    public nonisolated var launcher: StrategyLauncher {
        StrategyLauncher(
            configuration: configuration, credentials: credentials, users: users, runtimes: runtimes,
            backend: { [self] config in backend(for: config) })
    }

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
        await forgetDeleted()
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
    public func start(_ names: [String]) async -> [StrategyCommandResult] {
        await forgetDeleted()
        var results: [StrategyCommandResult] = []
        for name in resolve(names, results: &results) {
            if let process = managed[name]?.process, managed[name]?.record.desiredRunning == true {
                results.append(
                    StrategyCommandResult(name: name, ok: true, message: "already running (pid \(process.pid))"))
                continue
            }
            results.append(launch(name))
        }
        return results
    }

    /// Stops the named strategies (all when empty), all at once: each gets
    /// SIGTERM together, and SIGKILL after the grace period if it is still running.
    /// `reason`, when given, is why the desk stopped them (a loss rule): their status
    /// shows it (`failure`) until they start again.
    public func stop(_ names: [String], reason: String? = nil) async -> [StrategyCommandResult] {
        let targets = names.isEmpty ? managed.keys.sorted() : names
        var stopping: [String: any RunningStrategy] = [:]
        var done: [OneShot<Void>] = []
        for name in targets {
            guard var entry = managed[name] else { continue }
            entry.generation += 1
            entry.record.desiredRunning = false
            // Before the process ends: its lifecycle saves the record as it books the exit.
            if let reason { entry.record.failure = reason }
            if let process = entry.process { stopping[name] = process }
            if let processDone = entry.processDone { done.append(processDone) }
            managed[name] = entry
        }
        let grace = configuration.stopGrace
        await withDiscardingTaskGroup { group in
            for process in stopping.values { group.addTask { await process.stop(grace: grace) } }
        }
        // A stop is over when each lifecycle has booked its exit: a delete right after forgets the strategy.
        for processDone in done { await processDone.wait() }
        var results: [StrategyCommandResult] = []
        for name in targets {
            guard managed[name] != nil else {
                results.append(StrategyCommandResult(name: name, ok: false, message: launcher.unknown(name)))
                continue
            }
            let wasFailed = managed[name]?.record.state == .failed
            managed[name]?.record.state = wasFailed && stopping[name] == nil ? .failed : .stopped
            managed[name]?.record.pid = nil
            await persist(name)
            results.append(
                StrategyCommandResult(
                    name: name, ok: true, message: stopping[name] == nil ? "was not running" : "stopped"))
        }
        return results
    }

    /// Stops and starts the named strategies (all when empty).
    public func restart(_ names: [String]) async -> [StrategyCommandResult] {
        let targets = names.isEmpty ? Array(Set(managed.keys).union(discoveredNames())).sorted() : names
        // `stop([])` means every strategy: restarting only strategies that are not known yet stops none.
        let known = targets.filter { managed[$0] != nil }
        if !known.isEmpty { _ = await stop(known) }
        return await start(targets)
    }

    /// Every strategy discovered or known, with its state; a strategy whose
    /// folder is gone and that no longer runs is not listed. A read: what it
    /// leaves out is forgotten by `forgetDeleted`, where state changes.
    public func status() async -> [SupervisedStrategy] {
        let report = StrategyDiscovery.discover(in: configuration.strategiesDirectory, runtimes: runtimes)
        let present = Set(report.strategies.map(\.name)).union(report.problems.keys)
        var names = Set(managed.filter { present.contains($0.key) || $0.value.process != nil }.keys)
        names.formUnion(report.strategies.map(\.name))
        names.formUnion(report.problems.keys.filter { $0 != "." })
        return names.sorted().map { name in
            let entry = managed[name]
            let definition = report.strategies.first { $0.name == name }
            let statistics = feed.statistics.subscribers.first { $0.id == name }
            return SupervisedStrategy(
                name: name, member: entry?.record.member ?? definition?.config.member ?? "-",
                state: entry?.record.state ?? .stopped, pid: entry?.process?.pid,
                runtime: definition.map { runtime(for: $0.config) }, container: entry?.process?.container,
                restarts: entry?.record.restarts ?? 0, startedAt: entry?.record.startedAt,
                lastExit: entry?.record.lastExit, failure: entry?.record.failure,
                lastLogLines: entry?.record.state == .failed
                    ? (entry?.lastLines ?? StrategyLog.tail(path: logPath(name), lines: 10)) : nil,
                symbols: (entry?.symbols ?? definition?.config.symbols).map { $0.sorted() },
                ticksDelivered: statistics?.delivered ?? entry?.subscription?.delivered ?? 0,
                ticksDropped: statistics?.dropped ?? entry?.subscription?.dropped ?? 0,
                problem: report.problems[name])
        }
    }

    /// The strategy's log file.
    public nonisolated func logPath(_ name: String) -> String { configuration.logPath(name) }

    /// Forgets every strategy whose folder is gone and that no longer runs: its
    /// saved state, and its uid, which goes back to be given again (uids are a
    /// bounded range). Called where folders change (a delete, a start) and at start-up.
    public func forgetDeleted() async {
        let report = StrategyDiscovery.discover(in: configuration.strategiesDirectory, runtimes: runtimes)
        let present = Set(report.strategies.map(\.name)).union(report.problems.keys)
        for (name, entry) in managed where !present.contains(name) && entry.process == nil {
            managed[name] = nil
            do {
                try await store.remove(name)
                if launcher.switchesUser { try await users.release(name) }
            } catch {
                logger.error(
                    "could not forget a deleted strategy", metadata: ["strategy": "\(name)", "error": "\(error)"])
            }
        }
    }

    // MARK: Lifecycle

    private func discoveredNames() -> [String] {
        StrategyDiscovery.discover(in: configuration.strategiesDirectory, runtimes: runtimes).strategies.map(\.name)
    }

    private func resolve(_ names: [String], results: inout [StrategyCommandResult]) -> [String] {
        if !names.isEmpty { return names }
        let report = StrategyDiscovery.discover(in: configuration.strategiesDirectory, runtimes: runtimes)
        for (name, problem) in report.problems.sorted(by: { $0.key < $1.key }) {
            results.append(StrategyCommandResult(name: name, ok: false, message: problem))
        }
        return report.strategies.map(\.name)
    }

    private func launch(_ name: String) -> StrategyCommandResult {
        if shuttingDown { return StrategyCommandResult(name: name, ok: false, message: "the desk is shutting down") }
        let definition: StrategyDefinition
        switch launcher.definition(name) {
        case .success(let loaded): definition = loaded
        case .failure(let problem): return StrategyCommandResult(name: name, ok: false, message: problem.message)
        }
        if case .failure(let problem) = backend(for: definition.config) {
            return StrategyCommandResult(name: name, ok: false, message: problem.message)
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
        return StrategyCommandResult(name: name, ok: true, message: "starting (member \(definition.config.member))")
    }

    /// The runtime a strategy runs in: its config's, else the desk's default.
    nonisolated func runtime(for config: StrategyConfig) -> StrategyRuntime {
        config.runtime ?? configuration.defaultRuntime
    }

    private nonisolated func backend(for config: StrategyConfig) -> Result<any StrategyBackend, ContainerProblem> {
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
            guard case .success(let definition) = launcher.definition(name) else {
                await markFailed(name, reason: "the strategy folder is no longer usable")
                return
            }
            let config = definition.config
            let run: StrategyRun
            do {
                run = try await launcher.launch(definition, watch: .none)
            } catch {
                await markFailed(name, reason: error.message)
                return
            }
            let process = run.process
            let started = ContinuousClock.now
            let subscription = feed.subscribe(id: name, symbols: config.symbols, capacity: configuration.feedCapacity)
            guard isCurrent(name, generation) else {
                subscription.cancel()
                await run.abandon(grace: configuration.stopGrace)
                return
            }
            // Its own order events, merged into its feed in order (config.json's "events").
            let route =
                config.events.contains(.fills)
                ? orderEvents.route(member: config.member, strategy: name) { subscription.pushEvent($0) } : nil
            let processDone = OneShot<Void>()
            managed[name]?.process = process
            managed[name]?.processDone = processDone
            managed[name]?.subscription = subscription
            managed[name]?.symbols = config.symbols
            managed[name]?.record.state = .running
            managed[name]?.record.pid = process.pid
            managed[name]?.record.startedAt = Date()
            await persist(name)
            logger.info(
                "strategy started",
                metadata: ["strategy": "\(name)", "member": "\(config.member)", "pid": "\(process.pid)"])

            let exit = await Self.pump(subscription, into: process)
            if let route { orderEvents.remove(member: config.member, strategy: name, id: route) }
            let ranFor = ContinuousClock.now - started
            await run.finish(exit)
            managed[name]?.process = nil
            managed[name]?.processDone = nil
            processDone.fire()
            managed[name]?.subscription = nil
            managed[name]?.record.pid = nil
            managed[name]?.record.lastExit = exit.description
            logger.info("strategy ended", metadata: ["strategy": "\(name)", "exit": "\(exit)"])
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

import DeskCore
import DeskMarketData
import Foundation
import Logging
import Synchronization

/// How a backtest hands its ticks to the strategies. Both give every strategy
/// the same lines and the desk the same requests at the same logical times, so
/// the ledger and the report are the same.
public enum LockstepMode: String, Sendable, Equatable, CaseIterable {
    /// Ticks are written ahead; each request is taken at the tick the strategy
    /// had read when it asked (the kernel's count of what it read), so the desk
    /// waits only for a strategy with a request in flight or one that lags.
    /// A strategy whose reads are not line by line goes back to `strict`.
    case stream
    /// One tick at a time: each strategy is given it and waited for until it
    /// asks for the next.
    case strict
}

/// Why a backtest's strategies could not run on.
public enum LockstepProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The strategy could not be started at all (no such folder, a bad config.json,
    /// a runtime this desk does not have).
    case notStartable(strategy: String, reason: String)
    /// The strategy failed: it could not be launched, or it ended before the data
    /// did; with its last log lines.
    case failed(strategy: String, reason: String, lastLines: [String])

    /// The strategy it is about.
    public var strategy: String {
        switch self {
        case .notStartable(let strategy, _), .failed(let strategy, _, _): strategy
        }
    }

    public var description: String {
        switch self {
        case .notStartable(let strategy, let reason): return "strategy \(strategy) could not start: \(reason)"
        case .failed(let strategy, let reason, let lastLines):
            let lines = lastLines.map { "  | \($0)" }.joined(separator: "\n")
            return "strategy \(strategy) failed: \(reason)\nits last log lines:\n\(lines)"
        }
    }
}

/// A backtest's strategies, driven one tick at a time: each started once (no
/// feed subscription, no restarts) with its reads of stdin watched
/// (`ReadinessCounter`), given each tick in turn and waited for until it asks for
/// the next. Live supervision is `Supervisor`'s; both start strategies through
/// the same `StrategyLauncher`.
///
/// `run()` watches the strategies' exits (run it beside the driver); `close`
/// stops what still runs and ends `run()`.
///
/// A strategy whose config.json asks for its order events (`"events": ["fills"]`)
/// gets the lines booked since its last turn at the start of its next turn,
/// before that turn's tick: each line written on its own and waited for like a
/// tick (its read of it counts as a request for input), so the fills a tick
/// caused reach it before the next tick, the same way in every run.
public actor Lockstep {
    private struct Entry {
        let run: StrategyRun
        let readiness: ReadinessCounter
        /// Its order event lines waiting for its next turn; nil when it asked for none.
        let events: PendingLines?
        let ended = OneShot<StrategyExit>()
        /// Fed in packets written ahead (stream mode); else given each line in its turn.
        var packets = false
        var delivered = 0
        var exited = false
        var stopping = false
        var failure: (reason: String, lastLines: [String])?
    }

    private let launcher: StrategyLauncher
    private let orderEvents: StrategyEventRoutes
    private let logger: Logger
    private var entries: [String: Entry] = [:]
    /// Names in the order ticks are given: name order, so every run is the same.
    private var order: [String] = []
    private var members: [(strategy: String, member: String)] = []
    /// The lines of each strategy fed in packets.
    private var plans: [String: StreamPlan] = [:]
    /// The read counters of the strategies fed in packets: one that counts a read means it must go back to strict.
    private var packetReads: [(name: String, readiness: ReadinessCounter)] = []
    private let started: AsyncStream<StrategyRun>
    private let startedQueue: AsyncStream<StrategyRun>.Continuation
    /// Stream mode's request gate; nil in strict mode.
    private let gate: StreamGate?

    /// Strategies started by `launcher` (the desk's: its tokens, uids, sandbox), their
    /// order event lines delivered by the desk to `orderEvents`; in stream mode
    /// with `gate`, the gate the desk's faces pass strategies' requests through.
    public init(
        launcher: StrategyLauncher, orderEvents: StrategyEventRoutes = StrategyEventRoutes(), gate: StreamGate? = nil,
        logger: Logger
    ) {
        self.launcher = launcher
        self.orderEvents = orderEvents
        self.gate = gate
        self.logger = logger
        launcher.configuration.makeLogsDirectory()
        (started, startedQueue) = AsyncStream.makeStream(of: StrategyRun.self)
    }

    /// Watches each started strategy until it ends; returns once `close` was
    /// called and every one has ended.
    public nonisolated func run() async {
        await withDiscardingTaskGroup { group in
            for await run in started {
                group.addTask {
                    let exit = await run.process.exitStatus()
                    // Whoever waits for its next read learns at once that it ended.
                    run.readiness?.ended(exit)
                    await self.ended(run, exit)
                }
            }
        }
    }

    /// Starts the named strategies, one after the other; returns once each runs,
    /// or the first problem (the ones started before it keep running until `close`).
    /// In stream mode (a `gate`), `lines` are the run's tick lines: a strategy that
    /// asks for no order events is fed the lines of its symbols in packets, written
    /// ahead (`StreamPlan`); the others are given each line in its turn.
    public func start(_ names: [String], lines: [FeedLine] = []) async -> LockstepProblem? {
        var definitions: [StrategyDefinition] = []
        for name in names {
            switch launcher.definition(name) {
            case .success(let definition):
                if case .failure(let problem) = launcher.backend(definition.config) {
                    return .notStartable(strategy: name, reason: problem.message)
                }
                definitions.append(definition)
            case .failure(let problem): return .notStartable(strategy: name, reason: problem.message)
            }
        }
        for definition in definitions {
            members.append((definition.name, definition.config.member))
            let run: StrategyRun
            let plan =
                gate == nil || definition.config.events.contains(.fills)
                ? nil : StreamPlan(lines: lines, symbols: definition.config.symbols)
            do {
                run = try await launcher.launch(
                    definition, watch: plan.map { ReadWatch.packets(threshold: $0.threshold) } ?? .everyRead)
            } catch {
                logger.error(
                    "strategy failed", metadata: ["strategy": "\(definition.name)", "reason": "\(error.message)"])
                return .failed(
                    strategy: definition.name, reason: error.message, lastLines: lastLines(definition.name))
            }
            guard let readiness = run.readiness else { continue }
            var events: PendingLines?
            if definition.config.events.contains(.fills) {
                let pending = PendingLines()
                _ = orderEvents.route(member: definition.config.member, strategy: definition.name) {
                    pending.append($0)
                }
                events = pending
            }
            entries[definition.name] = Entry(run: run, readiness: readiness, events: events)
            entries[definition.name]?.packets = plan != nil
            if let plan { plans[definition.name] = plan }
            order = entries.keys.sorted()
            startedQueue.yield(run)
            logger.info(
                "strategy started",
                metadata: [
                    "strategy": "\(definition.name)", "member": "\(run.member)", "pid": "\(run.process.pid)",
                ])
        }
        packetReads = order.compactMap { name in
            guard let entry = entries[name], entry.packets else { return nil }
            return (name, entry.readiness)
        }
        gate?.arm(
            order.enumerated().compactMap { index, name in
                guard let plan = plans[name], let entry = entries[name] else { return nil }
                return (name, index, entry.run.process, plan.lines, plan.ticks)
            })
        return nil
    }

    /// The started strategies and their members, in name order.
    public func strategies() -> [(strategy: String, member: String)] {
        members.sorted { $0.strategy < $1.strategy }
    }

    /// The first strategy (in name order) that failed; nil while none has.
    public func failure() -> LockstepProblem? {
        for name in order {
            if let failure = entries[name]?.failure {
                return .failed(strategy: name, reason: failure.reason, lastLines: failure.lastLines)
            }
        }
        return nil
    }

    /// Waits until every strategy has finished with the last tick it was given —
    /// it is blocked reading stdin for the next — or has ended. When the waiting
    /// task is cancelled (a deadline, a signal), returns the strategy it was
    /// waiting for; nil once every one has settled.
    public func settle(moved: @escaping @Sendable () -> Void = {}) async -> Settled {
        for name in order {
            guard let entry = entries[name], !entry.exited else { continue }
            if entry.packets, let gate {
                gate.update { $0.beginSettle(name) }
                switch await packetTurn(name, gate, moved) {
                case .taken: continue
                case .unanswered: return Settled(unanswered: name)
                case .fallback(let strategy): return Settled(fallback: strategy)
                }
            }
            if await entry.readiness.wait(forReads: entry.delivered + 1) == .closed && Task.isCancelled {
                return Settled(unanswered: name)
            }
        }
        return Settled()
    }

    /// What became of the settle phase.
    public struct Settled: Sendable, Equatable {
        /// The strategy that had not asked for its first line when the waiting task was cancelled.
        public var unanswered: String?
        /// A strategy fed in packets that reads stdin in pieces smaller than a line: run again in strict.
        public var fallback: String?

        /// A settle phase as it went.
        public init(unanswered: String? = nil, fallback: String? = nil) {
            self.unanswered = unanswered
            self.fallback = fallback
        }
    }

    /// What became of a tick.
    public struct Delivery: Sendable, Equatable {
        /// How many strategies took it.
        public var given: Int
        /// The strategy that had not finished with it when the waiting task was
        /// cancelled (a deadline, a signal); nil when every one did.
        public var unanswered: String?
        /// A strategy fed in packets that reads stdin in pieces smaller than a line: run again in strict.
        public var fallback: String?

        /// A delivery as it went.
        public init(given: Int, unanswered: String?, fallback: String? = nil) {
            self.given = given
            self.unanswered = unanswered
            self.fallback = fallback
        }
    }

    /// Gives `line` to each strategy subscribed to its symbol, one after the
    /// other in name order, each only once the one before has finished with it
    /// (asks for input again, or ended): so the orders of one tick reach the desk
    /// in the same order in every run. Each strategy's turn starts with its order
    /// event lines booked since its last turn (every strategy that has some takes
    /// its turn, subscribed to the symbol or not). Call `settle` once first. A
    /// cancelled caller stops waiting at once and learns whom it waited for.
    /// In stream mode, `tick` is the line's index in the run (a strategy fed in
    /// packets read it, maybe long ago: its turn takes its requests stamped at it
    /// and waits until it is done with it), and `moved` is told whenever the
    /// strategy waited for reads on or a request of it is answered.
    @discardableResult
    public func deliver(_ line: FeedLine, tick: Int = 0, moved: @escaping @Sendable () -> Void = {}) async -> Delivery {
        await turns(line, tick: tick, moved: moved)
    }

    /// In stream mode: tick `tick`'s desk phase begins (before any strategy's turn at it).
    public nonisolated func beginDeskPhase(_ tick: Int) {
        gate?.beginDeskPhase(tick)
    }

    /// Gives each strategy the order event lines booked since its last turn (the
    /// data is over, and the last tick's may be waiting), as `deliver` does before a tick.
    @discardableResult
    public func deliverEvents() async -> Delivery {
        await turns(nil)
    }

    private func turns(_ line: FeedLine?, tick: Int = 0, moved: @escaping @Sendable () -> Void = {}) async -> Delivery {
        var given = 0
        for (index, name) in order.enumerated() {
            if Task.isCancelled { break }
            let fed = line != nil && (gate?.update { $0.beginTurn(name, index: index, tick: tick) } ?? false)
            guard let entry = entries[name], !entry.exited || fed else { continue }
            if fed, let gate {
                switch await packetTurn(name, gate, moved) {
                case .taken:
                    given += 1
                    continue
                case .unanswered: return Delivery(given: given + 1, unanswered: name)
                case .fallback(let strategy): return Delivery(given: given, unanswered: nil, fallback: strategy)
                }
            }
            guard !entry.packets else { continue }
            if let events = entry.events {
                switch await giveEach(events, to: name) {
                case .taken: break
                case .ended: continue
                case .unanswered: return Delivery(given: given, unanswered: name)
                }
            }
            guard let line, let tick = line.tick else { continue }
            if let symbols = entry.run.definition.config.symbols, !symbols.contains(tick.symbol) { continue }
            switch await give(line, to: name) {
            case .taken: given += 1
            case .ended: continue
            case .unanswered(let written): return Delivery(given: given + (written ? 1 : 0), unanswered: name)
            }
        }
        return Delivery(given: given, unanswered: nil)
    }

    /// What became of one line given to one strategy.
    private enum Given: Equatable {
        /// It finished with it (asks for input again).
        case taken
        /// It had ended (its stdin closed), or ended meanwhile.
        case ended
        /// The waiting task was cancelled before it finished with it (`written`:
        /// after the line was written, while it worked on it).
        case unanswered(written: Bool)
    }

    /// The turn of `name`, fed in packets: its requests stamped at the turn's line
    /// run one at a time in the order they came, until it is done with the line
    /// (`StreamSchedule`). A strategy that reads stdin in pieces smaller than a
    /// line (`ReadWatch.packets`) ends it: the run goes back to strict.
    private func packetTurn(_ name: String, _ gate: StreamGate, _ moved: @Sendable () -> Void) async -> PacketTurn {
        var answered = gate.answered
        var idle = 0
        while true {
            if Task.isCancelled { return .unanswered }
            if let reader = packetReads.first(where: { $0.readiness.count > 0 }) { return .fallback(reader.name) }
            let (step, advanced) = gate.advance(name)
            let nowAnswered = gate.answered
            if advanced || nowAnswered != answered {
                moved()
                answered = nowAnswered
                idle = 0
            }
            switch step {
            case .done: return .taken
            case .release: idle = 0
            case .wait:
                // Reading has no wake-up: look again soon (a request arriving wakes the wait at once).
                idle += 1
                if idle < 20 {
                    sched_yield()
                } else {
                    await gate.pause(.microseconds(min(1000, 50 << min(5, (idle - 20) / 8))))
                }
            }
        }
    }

    /// What became of a turn of a strategy fed in packets.
    private enum PacketTurn: Equatable {
        /// It is done with the line, or ended.
        case taken
        /// The waiting task was cancelled first (a deadline, a signal).
        case unanswered
        /// This strategy reads stdin in pieces smaller than a line.
        case fallback(String)
    }

    /// Gives `name` its waiting order event lines one by one, and those its
    /// handling of them causes, until none waits.
    private func giveEach(_ events: PendingLines, to name: String) async -> Given {
        var pending = events.take()
        while !pending.isEmpty {
            for line in pending {
                let given = await give(line, to: name)
                if given != .taken { return given }
            }
            pending = events.take()
        }
        return .taken
    }

    /// Writes `line` to `name`'s stdin and waits until it asks for input again.
    private func give(_ line: FeedLine, to name: String) async -> Given {
        guard let entry = entries[name], !entry.exited else { return .ended }
        guard await entry.run.process.write(line.bytes) else {
            // A full pipe is waited on until cancelled; a closed one is a strategy that ended.
            return Task.isCancelled ? .unanswered(written: false) : .ended
        }
        let delivered = entry.delivered + 1
        entries[name]?.delivered = delivered
        if await entry.readiness.wait(forReads: delivered + 1) == .closed && Task.isCancelled {
            return .unanswered(written: true)
        }
        return .taken
    }

    /// The data is over: every strategy's stdin is closed, and those still
    /// running after `grace` are stopped. Returns once none runs.
    public func endOfData(grace: Duration) async {
        for entry in entries.values where !entry.exited { entry.run.process.closeInput() }
        let endings = entries.values.map(\.ended)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for ending in endings { _ = await ending.wait() }
            }
            group.addTask {
                do { try await Task.sleep(for: grace) } catch { return }
                await self.stopRunning(grace: grace)
            }
            // Every strategy ended (the stop included, when it was needed): the sleep is not needed any more.
            _ = await group.next()
            group.cancelAll()
        }
    }

    /// Stops every strategy that still runs (SIGTERM, SIGKILL after `grace`) and
    /// ends `run()` once every one has ended.
    public func close(grace: Duration) async {
        gate?.close()
        startedQueue.finish()
        await stopRunning(grace: grace)
    }

    private func stopRunning(grace: Duration) async {
        var stopping: [any RunningStrategy] = []
        for name in order where entries[name]?.exited == false {
            entries[name]?.stopping = true
            if let process = entries[name]?.run.process { stopping.append(process) }
        }
        await withDiscardingTaskGroup { group in
            for process in stopping { group.addTask { await process.stop(grace: grace) } }
        }
    }

    /// A strategy ended: ending is the end of its run. Exit 0, or an end the
    /// lockstep asked for, is a finished run; anything else failed it.
    private func ended(_ run: StrategyRun, _ exit: StrategyExit) async {
        let name = run.name
        gate?.ended(name)
        await run.finish(exit)
        entries[name]?.exited = true
        logger.info("strategy ended", metadata: ["strategy": "\(name)", "exit": "\(exit)"])
        if exit != .exited(0), entries[name]?.stopping == false {
            let reason = "it ended before the data did: \(exit)"
            entries[name]?.failure = (reason, lastLines(name))
            logger.error("strategy failed", metadata: ["strategy": "\(name)", "reason": "\(reason)"])
        }
        entries[name]?.ended.fire(exit)
    }

    private func lastLines(_ name: String) -> [String] {
        StrategyLog.tail(path: launcher.configuration.logPath(name), lines: 20)
    }
}

/// A strategy's order event lines waiting for its next turn: appended by the
/// desk as it books them (never waiting), taken by the lockstep.
final class PendingLines: Sendable {
    private let lines = Mutex<[FeedLine]>([])

    func append(_ line: FeedLine) { lines.withLock { $0.append(line) } }

    /// Every line waiting, oldest first; none wait afterwards.
    func take() -> [FeedLine] {
        lines.withLock { lines in
            defer { lines = [] }
            return lines
        }
    }
}

/// The lines a strategy fed in packets is given in a stream run: the tick lines
/// of its symbols, and the smallest read of stdin that takes each whole (the
/// longest rounded up to 512 bytes); nil when a line is longer than one packet
/// holds (PIPE_BUF): that strategy is given each line in its turn.
struct StreamPlan: Equatable {
    let lines: [[UInt8]]
    /// Each line's tick (its index in the run).
    let ticks: [Int]
    let threshold: Int

    init?(lines all: [FeedLine], symbols: Set<String>?) {
        var lines: [[UInt8]] = []
        var ticks: [Int] = []
        for (index, line) in all.enumerated() {
            if let symbols, let tick = line.tick, !symbols.contains(tick.symbol) { continue }
            lines.append(line.bytes)
            ticks.append(index)
        }
        guard let threshold = ReadWatch.packetThreshold(longestLine: lines.map(\.count).max() ?? 1) else {
            return nil
        }
        self.lines = lines
        self.ticks = ticks
        self.threshold = threshold
    }
}

import DeskApp
import DeskBacktest
import DeskBroker
import DeskCore
import DeskLedger
import DeskMarketData
import DeskOrders
import DeskRunner
import Foundation
import ServiceLifecycle
import Synchronization

/// What `desk backtest` does: the named strategy folders over recorded ticks, on
/// a fresh ledger in a work folder, with the paper broker, the desk's risk
/// limits and the strategies' own config.json — only the clock (the data's) and
/// the feed (one tick at a time, in lockstep) differ from a live desk.
public enum BacktestRun {
    /// What to run, over what, and how fills are made.
    public struct Options: Sendable {
        public var strategies: [String]
        public var strategiesDirectory: URL
        public var dataFiles: [URL]
        /// nil: a new folder under ./backtests/.
        public var workDirectory: URL?
        public var configFile: String?
        public var fillAt: PaperBook.FillModel
        public var commissionPerShare: Decimal
        public var slippageBps: Decimal
        public var capital: Decimal
        /// Where report.html and equity.csv go; nil: the work folder.
        public var reportDirectory: URL?
        public var pythonPath: String?
        /// How long strategies have to end after the data is over.
        public var endGrace: Duration
        /// How long one tick may take, every strategy's turn with it included (and
        /// how long strategies have to ask for their first tick once started).
        public var tickTimeout: Duration
        public var quiet: Bool

        public init(
            strategies: [String], strategiesDirectory: URL, dataFiles: [URL], workDirectory: URL? = nil,
            configFile: String? = nil, fillAt: PaperBook.FillModel = .nextTick, commissionPerShare: Decimal = 0,
            slippageBps: Decimal = 0, capital: Decimal = 100_000, reportDirectory: URL? = nil,
            pythonPath: String? = nil, endGrace: Duration = .seconds(5), tickTimeout: Duration = .seconds(30),
            quiet: Bool = false
        ) {
            self.strategies = strategies
            self.strategiesDirectory = strategiesDirectory
            self.dataFiles = dataFiles
            self.workDirectory = workDirectory
            self.configFile = configFile
            self.fillAt = fillAt
            self.commissionPerShare = commissionPerShare
            self.slippageBps = slippageBps
            self.capital = capital
            self.reportDirectory = reportDirectory
            self.pythonPath = pythonPath
            self.endGrace = endGrace
            self.tickTimeout = tickTimeout
            self.quiet = quiet
        }
    }

    /// Why a backtest could not run or complete.
    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// A finished run.
    public struct Outcome: Sendable {
        public var report: BacktestReport
        public var workDirectory: URL
        public var reportPage: URL
        public var equityFile: URL
    }

    /// The data files' ticks merged by time (a stable merge: ties keep file order,
    /// then line order), or `file:line: what is wrong`.
    public static func load(_ files: [URL]) throws(Failure) -> [Tick] {
        var all: [Tick] = []
        for file in files {
            do {
                all += try ReplaySource(file: file, speed: .asFastAsPossible).readTicks()
            } catch {
                throw Failure(message: error.description)
            }
        }
        let indexed = all.enumerated().sorted { left, right in
            left.element.at != right.element.at ? left.element.at < right.element.at : left.offset < right.offset
        }
        return indexed.map(\.element)
    }

    /// A new work folder under `./backtests/`, named by the wall clock.
    static func newWorkDirectory() -> URL {
        let base = URL(fileURLWithPath: "backtests").standardizedFileURL
        let stamp = Date().formatted(
            .iso8601.year().month().day().dateTimeSeparator(.standard).time(includingFractionalSeconds: false)
                .timeSeparator(.omitted).dateSeparator(.omitted)
        )
        .replacingOccurrences(of: "T", with: "-").replacingOccurrences(of: "Z", with: "")
        var candidate = base.appendingPathComponent(stamp)
        var suffix = 2
        while FileManager.default.fileExists(atPath: candidate.path) {
            candidate = base.appendingPathComponent("\(stamp)-\(suffix)")
            suffix += 1
        }
        return candidate
    }

    /// Runs the backtest; `note` gets the lines meant for people (stderr).
    public static func run(
        _ options: Options, environment: DeskEnvironment = DeskEnvironment(), note: @escaping @Sendable (String) -> Void
    ) async throws(Failure) -> Outcome {
        let ticks = try load(options.dataFiles)
        guard let first = ticks.first else {
            throw Failure(
                message: "the data has no ticks: \(options.dataFiles.map(\.path).joined(separator: ", ")) hold none")
        }
        let names = try strategyNames(options)
        let work = (options.workDirectory ?? newWorkDirectory()).standardizedFileURL
        let database = work.appendingPathComponent("desk.db").path
        if FileManager.default.fileExists(atPath: database) {
            throw Failure(
                message:
                    "\(work.path) already holds a backtest's ledger: pass a new --work folder (or delete that one)")
        }
        do {
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            // Sandboxed strategies (their own uids) reach the socket in this folder.
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.path)
        } catch {
            throw Failure(message: "cannot make the work folder \(work.path): \(error.localizedDescription)")
        }
        note("backtest work folder: \(work.path)")
        let socket = work.appendingPathComponent("desk.sock").path
        var arguments = [
            "--port", "0", "--db", database, "--strategies-dir", options.strategiesDirectory.path,
            "--logs-dir", work.appendingPathComponent("logs").path, "--unix-socket", socket,
        ]
        if let config = options.configFile { arguments += ["--config", config] }
        if let pythonPath = options.pythonPath { arguments += ["--python-path", pythonPath] }
        var configuration: DeskConfiguration
        do {
            configuration = try ServeOptions.parse(arguments).resolve(environment)
        } catch let error as ConfigurationError {
            throw Failure(message: error.message)
        } catch {
            throw Failure(message: "\(error)")
        }
        // The data comes from the driver, one tick at a time: no feed of the desk's own.
        configuration.feed = .none
        let clock = SimulatedClock(start: first.at)
        configuration.clock = clock
        configuration.paperFills = options.fillAt
        configuration.slippageBps = options.slippageBps
        configuration.closesSessions = false
        configuration.runtime?.lockstep = true
        configuration.runtime?.stopGrace = options.endGrace
        let logger = DeskServerMain.logger(environment, default: .error)
        let launch: DeskLaunch
        do {
            launch = try await DeskLaunch.prepare(configuration: configuration, logger: logger)
        } catch let error as DeskStartupError {
            throw Failure(message: error.message)
        } catch {
            throw Failure(message: "the backtest's desk could not start: \(error)")
        }
        let application = launch.application
        guard let supervisor = application.supervisor, let broker = application.venues.defaultVenue as? PaperVenue
        else {
            throw Failure(message: "the backtest's desk has no strategy supervisor")
        }
        if let problem = supervisor.sandboxReport.problem {
            throw Failure(
                message:
                    "the strategy sandbox cannot be built here: \(problem) (a backtest needs it: it watches each strategy's reads of stdin)"
            )
        }
        let driver = Driver(
            application: application, supervisor: supervisor, broker: broker, clock: clock, ticks: ticks,
            names: names, session: configuration.session, tickTimeout: options.tickTimeout, quiet: options.quiet,
            note: note)
        let started = ContinuousClock.now
        do {
            try await launch.run(
                extraServices: [
                    .init(
                        service: driver, successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .gracefullyShutdownGroup)
                ])
        } catch {
            throw Failure(message: "the backtest's desk stopped: \(error)")
        }
        let ended = ContinuousClock.now
        let elapsed = ended - started
        let outcome = driver.outcome.withLock { $0 }
        if let failure = outcome.failure { throw Failure(message: failure) }
        let ledger = try? Ledger(path: database)
        guard let ledger else { throw Failure(message: "cannot read the backtest's ledger \(database)") }
        defer { ledger.close() }
        let tracker: PerformanceTracker
        do {
            tracker = try await track(
                ticks: ticks, fillsAfterTick: outcome.fillsAfterTick, ledger: ledger, names: names,
                supervisor: supervisor, options: options)
        } catch {
            throw Failure(message: "cannot read the backtest's ledger: \(error)")
        }
        var report = BacktestReport(
            tracker: tracker, fillAt: options.fillAt.rawValue, commissionPerShare: options.commissionPerShare,
            slippageBps: options.slippageBps, timing: .init(elapsedSeconds: elapsed.seconds, ticks: ticks.count))
        let reportFolder = (options.reportDirectory ?? work).standardizedFileURL
        let page = reportFolder.appendingPathComponent("report.html")
        let equity = reportFolder.appendingPathComponent("equity.csv")
        do {
            try FileManager.default.createDirectory(at: reportFolder, withIntermediateDirectories: true)
            let curves = Dictionary(
                uniqueKeysWithValues: tracker.books.filter { $0.key.strategy == nil }.map {
                    ($0.key.member, $0.value.samples)
                })
            try Data(ReportPage.render(report, equity: curves).utf8).write(to: page, options: .atomic)
            try Data(equityCSV(curves).utf8).write(to: equity, options: .atomic)
        } catch {
            throw Failure(message: "cannot write the report in \(reportFolder.path): \(error.localizedDescription)")
        }
        report.timing?.reportSeconds = String(format: "%.3f", (ContinuousClock.now - ended).seconds)
        return Outcome(report: report, workDirectory: work, reportPage: page, equityFile: equity)
    }

    /// The report for people: the run's span and fill model, then a row per member and per strategy.
    public static func table(_ report: BacktestReport) -> String {
        var lines = [
            "backtest: \(report.ticks) ticks, \(report.start) to \(report.end), fills at \(report.fillAt), commission \(report.commissionPerShare)/share, slippage \(report.slippageBps) bps, capital \(BacktestReport.money(report.capital)) per member",
            "",
        ]
        lines.append(TextTable(headers: BacktestReport.columns, rows: report.rows()).render())
        return lines.joined(separator: "\n")
    }

    /// The strategies to run: those named, else every folder in the strategies folder.
    static func strategyNames(_ options: Options) throws(Failure) -> [String] {
        let report = StrategyDiscovery.discover(in: options.strategiesDirectory)
        if let problem = report.problems["."] {
            throw Failure(message: "\(problem): pass --strategies FOLDER (the folder that holds the strategy folders)")
        }
        if options.strategies.isEmpty {
            if let (name, problem) = report.problems.sorted(by: { $0.key < $1.key }).first {
                throw Failure(message: "strategy \(name): \(problem)")
            }
            guard !report.strategies.isEmpty else {
                throw Failure(message: "no strategy folders in \(options.strategiesDirectory.path)")
            }
            return report.strategies.map(\.name).sorted()
        }
        let names = options.strategies.map(strategyName)
        for name in names {
            if let problem = report.problems[name] { throw Failure(message: "strategy \(name): \(problem)") }
            guard report.strategies.contains(where: { $0.name == name }) else {
                throw Failure(message: "no strategy folder \(name) in \(options.strategiesDirectory.path)")
            }
        }
        return names
    }

    /// `timestamp,member,equity` per equity sample, members in name order.
    static func equityCSV(_ curves: [String: [(at: Date, equity: Decimal)]]) -> String {
        var lines = ["timestamp,member,equity"]
        for member in curves.keys.sorted() {
            for sample in curves[member]! {
                lines.append("\(UTCTimestamp.iso8601(sample.at)),\(member),\(ExactDecimal.plain(sample.equity))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The run's figures: every tick, and after each the fills booked while it
    /// was the last (the broker's on its price, then the strategies' on it), in
    /// the ledger's order; then every order.
    static func track(
        ticks: [Tick], fillsAfterTick: [Int], ledger: Ledger, names: [String], supervisor: Supervisor,
        options: Options
    ) async throws -> PerformanceTracker {
        var tracker = PerformanceTracker(capital: options.capital)
        for status in await supervisor.status() where names.contains(status.name) {
            tracker.open(member: status.member, strategy: status.name)
        }
        let fills = try await ledger.allFills()
        func book(_ fills: ArraySlice<FillRecord>) {
            for fill in fills {
                tracker.fill(
                    member: fill.member, strategy: fill.strategy, symbol: fill.symbol, side: fill.side, qty: fill.qty,
                    price: fill.price, commission: fill.qty * options.commissionPerShare, at: fill.filledAt)
            }
        }
        var next = 0
        for (index, tick) in ticks.enumerated() {
            tracker.tick(symbol: tick.symbol, price: tick.price, at: tick.at)
            let upTo = index < fillsAfterTick.count ? min(fillsAfterTick[index], fills.count) : fills.count
            if upTo > next {
                book(fills[next..<upTo])
                next = upTo
            }
        }
        // Fills booked after the last tick (orders answered as the data ended).
        book(fills[next...])
        for group in try await ledger.orderCounts() {
            for _ in 0..<group.count {
                tracker.order(
                    member: group.member, strategy: group.strategy,
                    rejected: group.status == OrderStatus.rejected.rawValue)
            }
        }
        tracker.finish()
        return tracker
    }

    /// What the driver found: the fills booked by the end of each tick, or why the run failed.
    struct DriverOutcome: Sendable {
        var fillsAfterTick: [Int] = []
        var failure: String?
    }

    /// Starts the strategies, then for each tick: moves the clock to it, expires
    /// day orders at any session close passed, lets the broker fill on its
    /// price (booked before anyone sees it), gives it to the strategies, and waits
    /// until each has finished with it. Returns at the end of the data (which
    /// shuts the desk down), leaving in `outcome` what it found.
    ///
    /// Each tick, and the strategies' first request for input, has `tickTimeout`: a
    /// strategy that has not finished with it by then (it stopped reading its
    /// input) fails the run, named with the tick; SIGTERM or SIGINT (the group's
    /// graceful shutdown) end the run the same way. Either way the desk then shuts
    /// down, which stops the strategies.
    struct Driver: Service {
        let application: DeskApplication
        let supervisor: Supervisor
        let broker: PaperVenue
        let clock: SimulatedClock
        let ticks: [Tick]
        let names: [String]
        let session: SessionCalendar
        let tickTimeout: Duration
        let quiet: Bool
        let note: @Sendable (String) -> Void
        let outcome = Shared(DriverOutcome())

        func run() async throws {
            let deadline = TickDeadline(timeout: tickTimeout)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await cancelWhenGracefulShutdown { await drive(deadline) } }
                group.addTask { await deadline.watch() }
                // The run ended, or a tick overran its deadline: either way the other stops.
                _ = await group.next()
                group.cancelAll()
            }
        }

        private func drive(_ deadline: TickDeadline) async {
            await application.waitUntilListening()
            await application.orderDesk.ready()
            for result in await supervisor.start(names) where !result.ok {
                fail("strategy \(result.name) could not start: \(result.message)")
                return
            }
            await supervisor.waitUntilStarted(names)
            if let failure = await failed() {
                fail(failure)
                return
            }
            var fillsAfterTick: [Int] = []
            fillsAfterTick.reserveCapacity(ticks.count)
            let desk = application.orderDesk
            let metrics = application.metrics
            var nextClose = session.nextClose(after: ticks[0].at)
            let progress = Progress(total: ticks.count, quiet: quiet, note: note)
            deadline.begin()
            if let waiting = await supervisor.settle() {
                stopped(at: nil, waitingFor: waiting, deadline)
                return
            }
            for (index, tick) in ticks.enumerated() {
                deadline.begin()
                // A tick stamped at the close (a bar ending at 16:00) is still the session's.
                while tick.at > nextClose {
                    clock.set(nextClose)
                    let expired = broker.expireDayOrders(at: nextClose)
                    if !expired.isEmpty { await desk.apply(expired) }
                    nextClose = session.nextClose(after: nextClose)
                }
                clock.set(tick.at)
                let fills = broker.trade(symbol: tick.symbol, price: tick.price, size: tick.size, at: tick.at)
                if !fills.isEmpty { await desk.apply(fills) }
                if Task.isCancelled {
                    stopped(at: index, waitingFor: nil, deadline)
                    return
                }
                let delivery = await supervisor.deliver(FeedLine(tick: tick))
                if Task.isCancelled {
                    stopped(at: index, waitingFor: delivery.unanswered, deadline)
                    return
                }
                fillsAfterTick.append(metrics.fillsBooked)
                if index & 1023 == 1023 {
                    if let failure = await failed() {
                        fail(failure)
                        return
                    }
                    progress.show(done: index + 1)
                }
            }
            deadline.end()
            progress.finish()
            if let failure = await failed() {
                fail(failure)
                return
            }
            await supervisor.endOfData(grace: supervisor.configuration.stopGrace)
            outcome.withLock { $0.fillsAfterTick = fillsAfterTick }
            if let failure = await failed() { fail(failure) }
        }

        /// The run was stopped at tick `index` (nil: before the first), waiting for
        /// strategy `waitingFor`: by its deadline, or by a signal.
        private func stopped(at index: Int?, waitingFor strategy: String?, _ deadline: TickDeadline) {
            let tick = index.map { index in
                let line = String(decoding: FeedLine(tick: ticks[index]).bytes.dropLast(), as: UTF8.self)
                return "tick \(index + 1) of \(ticks.count) (\(UTCTimestamp.iso8601(ticks[index].at)) \(line))"
            }
            let limit = "\(String(format: "%g", tickTimeout.seconds)) s (--tick-timeout)"
            guard deadline.overran else {
                guard let tick else {
                    fail("interrupted by a signal before the first tick; the strategies were stopped")
                    return
                }
                let whom = strategy.map { ": strategy \($0) had not finished with it" } ?? ""
                fail("interrupted by a signal at \(tick)\(whom); the strategies were stopped")
                return
            }
            switch (strategy, tick) {
            case (let strategy?, let tick?):
                fail(
                    "strategy \(strategy) did not finish with \(tick) within \(limit): it stopped reading its input, or needs longer per tick; the run was stopped"
                )
            case (let strategy?, nil):
                fail(
                    "strategy \(strategy) did not ask for its first tick within \(limit) of starting: it does not read its input; the run was stopped"
                )
            case (nil, _):
                fail("\(tick ?? "the start") took longer than \(limit); the run was stopped")
            }
        }

        /// A strategy that crashed, with its last log lines; nil when none did.
        private func failed() async -> String? {
            for status in await supervisor.status() where names.contains(status.name) && status.state == "failed" {
                let lines = (status.lastLogLines ?? []).map { "  | \($0)" }.joined(separator: "\n")
                return "strategy \(status.name) failed: \(status.failure ?? "it ended")\nits last log lines:\n\(lines)"
            }
            return nil
        }

        private func fail(_ message: String) {
            outcome.withLock { $0.failure = message }
        }
    }

    /// The deadline of the tick in progress, and a watch that notices when one passes.
    final class TickDeadline: Sendable {
        let timeout: Duration
        private struct State {
            var sequence = 0
            var since: ContinuousClock.Instant?
            var overran = false
        }
        private let state = Mutex(State())

        init(timeout: Duration) { self.timeout = timeout }

        /// A tick (or the wait for the first request for input) begins now.
        func begin() {
            let now = ContinuousClock.now
            state.withLock {
                $0.sequence += 1
                $0.since = now
            }
        }

        /// No tick is in progress any more (the data is over).
        func end() { state.withLock { $0.since = nil } }

        /// Whether a tick took longer than the timeout.
        var overran: Bool { state.withLock { $0.overran } }

        /// Returns once a tick has taken longer than the timeout (it is then `overran`), or when cancelled.
        func watch() async {
            while true {
                let (sequence, since) = state.withLock { ($0.sequence, $0.since) }
                do {
                    try await Task.sleep(until: (since ?? .now) + timeout, clock: .continuous)
                } catch {
                    return
                }
                let late = state.withLock { state -> Bool in
                    guard let since = state.since, state.sequence == sequence, ContinuousClock.now - since >= timeout
                    else { return false }
                    state.overran = true
                    return true
                }
                if late { return }
            }
        }
    }

    /// `ticks done / total, ticks/s, ETA` on stderr, at most twice a second.
    final class Progress: Sendable {
        let total: Int
        let quiet: Bool
        let note: @Sendable (String) -> Void
        let started = ContinuousClock.now
        let last = Mutex(ContinuousClock.now)

        init(total: Int, quiet: Bool, note: @escaping @Sendable (String) -> Void) {
            self.total = total
            self.quiet = quiet
            self.note = note
        }

        func show(done: Int) {
            guard !quiet else { return }
            let now = ContinuousClock.now
            let due = last.withLock { last in
                guard now - last >= .milliseconds(500) else { return false }
                last = now
                return true
            }
            guard due else { return }
            let seconds = (now - started).seconds
            let rate = seconds > 0 ? Double(done) / seconds : 0
            let eta = rate > 0 ? Double(total - done) / rate : 0
            note(
                "\(done) / \(total) ticks, \(Int(rate)) ticks/s, ETA \(Int(eta.rounded())) s"
            )
        }

        func finish() {
            guard !quiet else { return }
            let seconds = (ContinuousClock.now - started).seconds
            note("\(total) / \(total) ticks in \(String(format: "%.1f", seconds)) s")
        }
    }
}

/// A value a command's driver service leaves for the command (the driver is
/// copied into the service group; this box is shared).
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result { value.withLock { body(&$0) } }
}

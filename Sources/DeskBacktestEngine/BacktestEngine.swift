import DeskApp
import DeskBacktest
import DeskBroker
import DeskCore
import DeskLedger
import DeskMarketData
import DeskRunner
import Foundation
import ServiceLifecycle

/// A backtest: the named strategy folders over recorded ticks, on a fresh ledger
/// in a work folder, with the paper broker, the desk's risk limits and the
/// strategies' own config.json — only the clock (the data's) and the feed (one
/// tick at a time, in lockstep) differ from a live desk.
public enum BacktestEngine {
    /// The data files' ticks merged by time (a stable merge: ties keep file order,
    /// then line order), or `file:line: what is wrong`.
    public static func load(_ files: [URL]) throws(BacktestFailure) -> [Tick] {
        var all: [Tick] = []
        for file in files {
            do {
                all += try ReplaySource.ticks(in: file)
            } catch {
                throw BacktestFailure(message: error.description)
            }
        }
        let indexed = all.enumerated().sorted { left, right in
            left.element.at != right.element.at ? left.element.at < right.element.at : left.offset < right.offset
        }
        return indexed.map(\.element)
    }

    /// The ticks of the exchange days `first`…`last` (New York dates, both included; nil: open).
    public static func window(_ ticks: [Tick], first: TradingDay?, last: TradingDay?) -> [Tick] {
        guard first != nil || last != nil else { return ticks }
        let calendar = SessionCalendar()
        return ticks.filter { tick in
            let day = calendar.day(of: tick.at)
            return (first.map { day >= $0 } ?? true) && (last.map { day <= $0 } ?? true)
        }
    }

    /// A new work folder under `./backtests/`, named by the wall clock.
    public static func newWorkDirectory() -> URL {
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

    /// Runs the backtest; `note` gets the lines meant for people (stderr). A
    /// stream run in which a strategy reads stdin in pieces smaller than a line is
    /// done again in strict lockstep, in a clean work folder.
    public static func run(
        _ settings: BacktestSettings, environment: DeskEnvironment = DeskEnvironment(),
        note: @escaping @Sendable (String) -> Void
    ) async throws(BacktestFailure) -> BacktestOutcome {
        do {
            return try await runOnce(settings, environment: environment, note: note)
        } catch let failure {
            guard let strategy = failure.fallback, let work = failure.workDirectory else { throw failure }
            let why = "strategy \(strategy) reads stdin in pieces smaller than a line"
            note("\(why): the backtest runs again in strict lockstep (--lockstep strict)")
            do {
                try removeFolder(work)
            } catch {
                throw BacktestFailure(message: "cannot clear the work folder \(work.path) to run again: \(error)")
            }
            var strict = settings
            strict.lockstep = .strict
            strict.workDirectory = work
            var outcome = try await runOnce(strict, environment: environment, note: note)
            outcome.report.timing?.lockstep = "strict (fallback: \(why))"
            do {
                try writeReport(outcome.report, in: outcome.reportPage.deletingLastPathComponent())
            } catch {
                throw BacktestFailure(message: "cannot write the report: \(error.localizedDescription)")
            }
            return outcome
        }
    }

    private static func runOnce(
        _ settings: BacktestSettings, environment: DeskEnvironment, note: @escaping @Sendable (String) -> Void
    ) async throws(BacktestFailure) -> BacktestOutcome {
        let ticks = window(try load(settings.dataFiles), first: settings.firstDay, last: settings.lastDay)
        guard let first = ticks.first else {
            let files = settings.dataFiles.map(\.path).joined(separator: ", ")
            if settings.firstDay != nil || settings.lastDay != nil {
                let from = settings.firstDay.map { "\($0)" } ?? "the start"
                let to = settings.lastDay.map { "\($0)" } ?? "the end"
                throw BacktestFailure(message: "the data has no ticks from \(from) to \(to) (New York dates): \(files)")
            }
            throw BacktestFailure(message: "the data has no ticks: \(files) hold none")
        }
        let names = try strategyNames(settings)
        var actions: [CorporateAction] = []
        if let file = settings.corporateActionsFile {
            do { actions = try CorporateActionFile.load(path: file.path) } catch {
                throw BacktestFailure(message: "--corporate-actions \(error)")
            }
        }
        let work = (settings.workDirectory ?? newWorkDirectory()).standardizedFileURL
        let desk = PrivateDesk(
            workDirectory: work, ledgerName: BacktestSettings.ledgerName,
            strategiesDirectory: settings.strategiesDirectory,
            feed: .none, configFile: settings.configFile, pythonPath: settings.pythonPath)
        let database = desk.databasePath
        let socketBytes = desk.unixSocketPath.utf8.count
        guard socketBytes <= PrivateDesk.unixSocketPathLimit else {
            throw BacktestFailure(
                message:
                    "the work folder's path is too long for the backtest's desk socket (\(desk.unixSocketPath) is \(socketBytes) bytes; a unix socket's path takes at most \(PrivateDesk.unixSocketPathLimit)): pass a shorter --work, such as /tmp/bt"
            )
        }
        if FileManager.default.fileExists(atPath: database) {
            throw BacktestFailure(
                message:
                    "\(work.path) already holds a backtest's ledger: pass a new --work folder (or delete that one)")
        }
        do {
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            // Sandboxed strategies (their own uids) reach the socket in this folder.
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.path)
        } catch {
            throw BacktestFailure(message: "cannot make the work folder \(work.path): \(error.localizedDescription)")
        }
        note("backtest work folder: \(work.path)")
        var configuration: DeskConfiguration
        do {
            configuration = try DeskConfiguration.privateDesk(desk, environment: environment)
            configuration.ledgerDurability = try environment.backtestLedgerDurability()
        } catch {
            throw BacktestFailure(message: error.message)
        }
        // The data comes from the driver, one tick at a time, on the data's clock.
        let clock = SimulatedClock(start: first.at)
        configuration.clock = clock
        configuration.paperFills = settings.fillAt
        configuration.slippageBps = settings.slippageBps
        configuration.closesSessions = false
        // Stream mode: the strategies' requests pass the gate, each taken at the turn of the line it had read.
        let gate = settings.lockstep == .stream ? StreamGate() : nil
        configuration.requestGate = gate
        let logger = DeskServerMain.logger(environment, default: .error)
        let launch: DeskLaunch
        do {
            launch = try await DeskLaunch.prepare(configuration: configuration, logger: logger)
        } catch let error as DeskStartupError {
            throw BacktestFailure(message: error.message)
        } catch {
            throw BacktestFailure(message: "the backtest's desk could not start: \(error)")
        }
        let application = launch.application
        guard let supervisor = application.supervisor else {
            throw BacktestFailure(message: "the backtest's desk has no strategy supervisor")
        }
        let market = application.paperVenue
        if let problem = supervisor.sandboxReport.problem {
            throw BacktestFailure(
                message:
                    "the strategy sandbox cannot be built here: \(problem) (a backtest needs it: it watches each strategy's reads of stdin)"
            )
        }
        let lockstep = Lockstep(
            launcher: supervisor.launcher, orderEvents: supervisor.orderEvents, gate: gate, logger: logger)
        let driver = BacktestDriver(
            application: application, lockstep: lockstep, market: market, clock: clock, ticks: ticks, names: names,
            session: configuration.session, actions: actions, streaming: gate != nil, tickTimeout: settings.tickTimeout,
            endGrace: settings.endGrace, quiet: settings.quiet, note: note)
        let started = ContinuousClock.now
        do {
            try await launch.run(
                extraServices: [
                    .init(
                        service: driver, successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .gracefullyShutdownGroup)
                ])
        } catch {
            throw BacktestFailure(message: "the backtest's desk stopped: \(error)")
        }
        let ended = ContinuousClock.now
        let elapsed = ended - started
        let fillsAfterTick: [Int]
        switch driver.outcome.value {
        case .success(let fills)?: fillsAfterTick = fills
        case .failure(var failure)?:
            if failure.fallback != nil { failure.workDirectory = work }
            throw failure
        case nil: throw BacktestFailure(message: "the backtest's desk stopped before its run began")
        }
        let ledger = try? Ledger(readingExisting: database)
        guard let ledger else { throw BacktestFailure(message: "cannot read the backtest's ledger \(database)") }
        defer { ledger.close() }
        let tracker: PerformanceTracker
        do {
            tracker = try await track(
                ticks: ticks, fillsAfterTick: fillsAfterTick, actions: driver.appliedActions.points, ledger: ledger,
                strategies: await lockstep.strategies(), settings: settings)
        } catch {
            throw BacktestFailure(message: "cannot read the backtest's ledger: \(error)")
        }
        var report = BacktestReport(
            tracker: tracker, fillAt: settings.fillAt.rawValue, commissionPerShare: settings.commissionPerShare,
            slippageBps: settings.slippageBps,
            timing: .init(elapsedSeconds: elapsed.seconds, ticks: ticks.count, lockstep: settings.lockstep.rawValue))
        report.timing?.lateRequests = gate?.lateRequests
        let reportFolder = (settings.reportDirectory ?? work).standardizedFileURL
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
            // What a promotion request attaches as its evidence (`desk strategies promote --backtest DIR`).
            try writeReport(report, in: reportFolder)
        } catch {
            throw BacktestFailure(
                message: "cannot write the report in \(reportFolder.path): \(error.localizedDescription)")
        }
        report.timing?.reportSeconds = String(format: "%.3f", (ContinuousClock.now - ended).seconds)
        return BacktestOutcome(report: report, workDirectory: work, reportPage: page, equityFile: equity)
    }

    /// Writes report.json in `folder`.
    static func writeReport(_ report: BacktestReport, in folder: URL) throws {
        try Data(report.json().utf8).write(to: folder.appendingPathComponent(BacktestReport.fileName), options: .atomic)
    }

    /// Removes `folder`. A file that vanishes meanwhile (the first attempt's ledger
    /// deleting its -wal and -shm files as it closes) is no error: it tries again.
    static func removeFolder(_ folder: URL, attempts: Int = 10) throws {
        for attempt in 1...attempts {
            do {
                try FileManager.default.removeItem(at: folder)
                return
            } catch {
                guard FileManager.default.fileExists(atPath: folder.path) else { return }
                if attempt == attempts { throw error }
            }
        }
    }

    /// The strategies to run: those named, else every folder in the strategies folder.
    static func strategyNames(_ settings: BacktestSettings) throws(BacktestFailure) -> [String] {
        let report = StrategyDiscovery.discover(in: settings.strategiesDirectory)
        if let problem = report.problems["."] {
            throw BacktestFailure(
                message: "\(problem): pass --strategies FOLDER (the folder that holds the strategy folders)")
        }
        if settings.strategies.isEmpty {
            if let (name, problem) = report.problems.sorted(by: { $0.key < $1.key }).first {
                throw BacktestFailure(message: "strategy \(name): \(problem)")
            }
            guard !report.strategies.isEmpty else {
                throw BacktestFailure(message: "no strategy folders in \(settings.strategiesDirectory.path)")
            }
            return report.strategies.map(\.name).sorted()
        }
        let names = settings.strategies
        for name in names {
            if let problem = report.problems[name] { throw BacktestFailure(message: "strategy \(name): \(problem)") }
            guard report.strategies.contains(where: { $0.name == name }) else {
                throw BacktestFailure(message: "no strategy folder \(name) in \(settings.strategiesDirectory.path)")
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
        ticks: [Tick], fillsAfterTick: [Int], actions: [AppliedActions.Point] = [], ledger: Ledger,
        strategies: [(strategy: String, member: String)], settings: BacktestSettings
    ) async throws -> PerformanceTracker {
        var tracker = PerformanceTracker(capital: settings.capital)
        for (strategy, member) in strategies { tracker.open(member: member, strategy: strategy) }
        let fills = try await ledger.allFills()
        func book(_ fills: ArraySlice<FillRecord>) {
            for fill in fills {
                tracker.fill(
                    member: fill.member, strategy: fill.strategy, symbol: fill.symbol, side: fill.side, qty: fill.qty,
                    price: fill.price, commission: fill.qty * settings.commissionPerShare, at: fill.filledAt)
            }
        }
        var next = 0
        var pendingActions = actions[...]
        for (index, tick) in ticks.enumerated() {
            // Actions applied before this tick, after the fills booked before them (at a session close).
            while let point = pendingActions.first, point.tick == index {
                pendingActions.removeFirst()
                let upTo = min(point.fillsBefore, fills.count)
                if upTo > next {
                    book(fills[next..<upTo])
                    next = upTo
                }
                tracker.corporateAction(point.action, at: point.at)
            }
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
}

import DeskAPI
import DeskApp
import DeskCore
import DeskHTTP
import DeskRunner
import DeskServices
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// `desk demo`: the whole desk on one machine — paper broker, a fresh SQLite
/// ledger in a work folder, the synthetic feed and the example strategies — with
/// progress while it runs and a report per member at the end.
public enum DeskDemo {
    /// How long, where, which strategies and which feed the demo runs with.
    public struct Options: Sendable {
        public var duration: Duration
        public var workDirectory: URL
        public var strategiesDirectory: URL
        public var feedRate: Double
        public var seed: UInt64
        public var progressEvery: Duration
        /// PYTHONPATH for the strategies; nil: the desk's default (see `DeskCheckout`).
        public var pythonPath: String?
        /// How `pythonPath` was chosen, for the demo's first line.
        public var pythonPathOrigin: String

        public init(
            duration: Duration, workDirectory: URL, strategiesDirectory: URL, feedRate: Double, seed: UInt64,
            progressEvery: Duration = .seconds(5), pythonPath: String? = nil,
            pythonPathOrigin: String = "the desk's default"
        ) {
            self.pythonPath = pythonPath
            self.pythonPathOrigin = pythonPathOrigin
            self.duration = duration
            self.workDirectory = workDirectory
            self.strategiesDirectory = strategiesDirectory
            self.feedRate = feedRate
            self.seed = seed
            self.progressEvery = progressEvery
        }
    }

    /// Runs the demo; `print` receives every line of output. Throws when no
    /// strategy could run (each one failed), after printing why.
    public static func run(
        _ options: Options, environment: DeskEnvironment = DeskEnvironment(),
        print: @escaping @Sendable (String) -> Void
    )
        async throws
    {
        let work = options.workDirectory.standardizedFileURL
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        // Strategies running as unprivileged users need to reach the socket in this folder.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.path)
        let desk = PrivateDesk(
            workDirectory: work, ledgerName: "trading_desk.db", strategiesDirectory: options.strategiesDirectory,
            feed: .synthetic(
                symbols: FeedSetting.defaultSymbols, ticksPerSecond: options.feedRate, seed: options.seed),
            pythonPath: options.pythonPath)
        let database = desk.databasePath
        // The lock first: a demo must never wipe the ledger of a desk that runs on it.
        let lock: DeskLock
        do { lock = try DeskLock.acquire(database: database).lock } catch {
            throw DemoError(message: error.description)
        }
        if let kept = keepLastRun(work: work, desk: desk) {
            print("the last demo's ledger and logs are kept in \(kept.path); this run starts a fresh ledger")
        }

        var configuration: DeskConfiguration
        do {
            configuration = try DeskConfiguration.privateDesk(desk, environment: environment)
        } catch {
            throw DemoError(message: error.message)
        }
        configuration.runtime?.restartOverride = RestartSettings(
            policy: .onFailure, maxRestarts: 3, backoffInitial: .milliseconds(500), backoffMax: .seconds(5))
        let logger = DeskServerMain.logger(environment, default: .warning)
        let launch: DeskLaunch
        do {
            launch = try await DeskLaunch.prepare(configuration: configuration, logger: logger, lock: lock)
        } catch let error as DeskStartupError {
            throw DemoError(message: error.message)
        }
        let application = launch.application
        guard let supervisor = application.supervisor else { throw DemoError(message: "no strategies folder") }
        if let pythonPath = configuration.runtime?.pythonPath {
            print("python path: \(pythonPath) (\(options.pythonPathOrigin))")
        }
        for line in supervisor.sandboxReport.applied { print("sandbox: \(line)") }
        if let problem = supervisor.sandboxReport.problem {
            throw DemoError(message: "the strategy sandbox cannot be built here: \(problem)")
        }
        let driver = Driver(application: application, supervisor: supervisor, options: options, print: print)
        try await launch.run(
            extraServices: [.init(service: driver, successTerminationBehavior: .gracefullyShutdownGroup)]
        ) { listening in
            print(
                "desk listening on unix://\(listening.unixSocketPath ?? "-") and http://127.0.0.1:\(listening.port ?? 0)"
            )
        }
        print(try await report(application.useCases.portfolio))
        print("ledger: \(database)  (inspect with: desk orders --db \(database); desk positions --db \(database))")
        print("strategy logs: \(work.appendingPathComponent("logs").path)")
        if let verdict = driver.outcome.value { throw DemoError(message: verdict) }
    }

    /// Moves the last run's ledger and logs, if any, into `<work>/previous/` (replacing
    /// the run before it), so a new demo starts fresh without wiping them; where they went.
    static func keepLastRun(work: URL, desk: PrivateDesk) -> URL? {
        let manager = FileManager.default
        guard manager.fileExists(atPath: desk.databasePath) else { return nil }
        let previous = work.appendingPathComponent("previous")
        try? manager.removeItem(at: previous)
        try? manager.createDirectory(at: previous, withIntermediateDirectories: true)
        let logs = work.appendingPathComponent("logs")
        for path in desk.ledgerFiles + [logs.path] where manager.fileExists(atPath: path) {
            let name = URL(fileURLWithPath: path).lastPathComponent
            if (try? manager.moveItem(atPath: path, toPath: previous.appendingPathComponent(name).path)) == nil {
                try? manager.removeItem(atPath: path)
            }
        }
        return previous
    }

    /// Why the demo failed.
    public struct DemoError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Starts every strategy, prints progress (and each failed strategy's last
    /// log lines), and returns after the duration (which shuts the desk down
    /// gracefully), leaving in `outcome` why the demo failed, if it did.
    struct Driver: Service {
        let application: DeskApplication
        let supervisor: Supervisor
        let options: Options
        let print: @Sendable (String) -> Void
        /// Set when no strategy could run.
        let outcome = OneShot<String>()

        func run() async throws {
            await application.waitUntilListening()
            var started: [String] = []
            for result in await supervisor.start([]) {
                print("\(result.ok ? "started" : "NOT started") \(result.name): \(result.message)")
                if result.ok { started.append(result.name) }
            }
            var reported: Set<String> = []
            let clock = ContinuousClock()
            let end = clock.now + options.duration
            let began = clock.now
            while clock.now < end {
                do {
                    try await cancelWhenGracefulShutdown {
                        try await Task.sleep(for: min(options.progressEvery, end - clock.now))
                    }
                } catch { break }
                let elapsed = Int((clock.now - began) / .seconds(1))
                print(try await progress(elapsed: elapsed))
                reportFailures(await supervisor.status(), reported: &reported)
            }
            let statuses = await supervisor.status()
            reportFailures(statuses, reported: &reported)
            let failing = statuses.filter { started.contains($0.name) && [.failed, .backoff].contains($0.state) }
            if started.isEmpty {
                outcome.fire("no strategy could run: none started (see above)")
            } else if failing.count == started.count {
                outcome.fire(
                    "no strategy could run: \(failing.map(\.name).joined(separator: ", ")) failed (their last log lines are above; logs in \(options.workDirectory.appendingPathComponent("logs").path))"
                )
            }
        }

        /// Prints each newly failed strategy's failure and last log lines, once.
        func reportFailures(_ statuses: [SupervisedStrategy], reported: inout Set<String>) {
            for status in statuses where status.state == .failed && !reported.contains(status.name) {
                reported.insert(status.name)
                print(
                    "strategy \(status.name) FAILED: \(status.failure ?? "-") (last exit: \(status.lastExit ?? "-")); its last log lines:"
                )
                for line in (status.lastLogLines ?? []).suffix(10) { print("    | \(line)") }
            }
        }

        func progress(elapsed: Int) async throws -> String {
            let portfolio = application.useCases.portfolio
            let orders = try await portfolio.orders(
                for: .ledgerOwner, OrderQuery(member: nil, limit: OrderQuery.maximumLimit))
            let filled = orders.filter { $0.status == .filled || $0.status == .partiallyFilled }.count
            let rejected = orders.filter { $0.status == .rejected }.count
            let holdings = try await portfolio.positions(for: .ledgerOwner, member: nil, byStrategy: false)
            let members = Dictionary(grouping: holdings, by: \.record.member)
            let pnl = members.keys.sorted().map { member -> String in
                let total = members[member]!.reduce(Decimal(0)) { sum, holding in
                    let position = holding.record.position
                    let unrealized = holding.lastPrice.map(position.unrealizedPnL(at:)) ?? 0
                    return sum + position.realizedPnL + unrealized
                }
                return "\(member) P&L \(ReportFormat.pnl(total))"
            }
            let running = await supervisor.status().filter { $0.state == .running }.count
            return
                "[\(String(format: "%3d", elapsed))s] ticks \(application.feed.statistics.ticksPublished) | strategies running \(running) | orders \(orders.count) (filled \(filled), rejected \(rejected)) | \(pnl.isEmpty ? "no positions yet" : pnl.joined(separator: " | "))"
        }
    }

    /// The final per-member report.
    static func report(_ portfolio: Portfolio) async throws -> String {
        let orders = try await portfolio.orders(
            for: .ledgerOwner, OrderQuery(member: nil, limit: OrderQuery.maximumLimit))
        let holdings = try await portfolio.positions(for: .ledgerOwner, member: nil, byStrategy: false)
        let members = Set(orders.map(\.member)).union(holdings.map(\.record.member)).sorted()
        var lines = ["", "=== final report ==="]
        for member in members {
            let mine = orders.filter { $0.member == member }
            let fills = mine.filter { $0.filledQty > 0 }.count
            lines.append(
                "\(member): \(mine.count) orders, \(fills) with fills, \(mine.filter { $0.status == .rejected }.count) rejected"
            )
            var realized: Decimal = 0
            var unrealized: Decimal = 0
            for holding in holdings where holding.record.member == member {
                let record = holding.record
                let position = record.position
                let price = holding.lastPrice
                realized += position.realizedPnL
                unrealized += price.map(position.unrealizedPnL(at:)) ?? 0
                lines.append(
                    "    \(record.symbol): qty \(ReportFormat.quantity(position.qty)), avg \(position.averageEntryPrice.map(ReportFormat.price) ?? "-"), last \(price.map(ReportFormat.price) ?? "-"), realized \(ReportFormat.pnl(position.realizedPnL)), unrealized \(ReportFormat.pnl(price.map(position.unrealizedPnL(at:)) ?? 0))"
                )
            }
            lines.append(
                "    total P&L \(ReportFormat.pnl(realized + unrealized)) (realized \(ReportFormat.pnl(realized)), unrealized \(ReportFormat.pnl(unrealized)))"
            )
        }
        if members.isEmpty { lines.append("no orders were placed") }
        lines.append("(money rounded to cents, half away from zero; exact values: desk positions --json)")
        return lines.joined(separator: "\n")
    }
}

extension DeskDemo {
    /// The strategies folder: as given, else ./strategies, else the checkout's.
    public static func strategiesFolder(_ given: String?) -> String {
        if let given { return given }
        if FileManager.default.fileExists(atPath: "./strategies") { return "./strategies" }
        return DeskCheckout.locate()?.appendingPathComponent("strategies").path ?? "./strategies"
    }

    /// `desk demo`: picks the strategies' Python path (`--python-path`, else
    /// DESK_PYTHONPATH, else the checkout's) and runs, printing to standard output.
    public static func command(
        duration: Int, work: String, strategies: String, feedRate: Double, seed: UInt64, pythonPath: String?
    ) async throws {
        let environment = DeskEnvironment()
        let chosen: (path: String?, how: String)
        if let pythonPath {
            chosen = (pythonPath, "from --python-path")
        } else if let variable = environment[.pythonPath] {
            chosen = (variable, "from DESK_PYTHONPATH")
        } else {
            let found = DeskCheckout.defaultPythonPath(checkout: DeskCheckout.locate())
            chosen = (found.pythonPath, found.how)
        }
        do {
            try await run(
                Options(
                    duration: .seconds(duration), workDirectory: URL(fileURLWithPath: work),
                    strategiesDirectory: URL(fileURLWithPath: strategies), feedRate: feedRate, seed: seed,
                    pythonPath: chosen.path, pythonPathOrigin: chosen.how),
                environment: environment, print: printLine)
        } catch let error as DemoError {
            throw DeskCommandError(error.message)
        }
    }
}

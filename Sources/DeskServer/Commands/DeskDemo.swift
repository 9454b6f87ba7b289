import DeskCore
import DeskLedger
import DeskRunner
import Foundation
import Logging
import ServiceLifecycle

/// `desk demo`: the whole desk on one machine — paper broker, a fresh SQLite
/// ledger in a work folder, the synthetic feed and the example strategies — with
/// progress while it runs and a report per member at the end.
public enum DeskDemo {
    public struct Options: Sendable {
        public var duration: Duration
        public var workDirectory: URL
        public var strategiesDirectory: URL
        public var feedRate: Double
        public var seed: UInt64
        public var progressEvery: Duration

        public init(
            duration: Duration, workDirectory: URL, strategiesDirectory: URL, feedRate: Double, seed: UInt64,
            progressEvery: Duration = .seconds(5)
        ) {
            self.duration = duration
            self.workDirectory = workDirectory
            self.strategiesDirectory = strategiesDirectory
            self.feedRate = feedRate
            self.seed = seed
            self.progressEvery = progressEvery
        }
    }

    /// Runs the demo; `print` receives every line of output.
    public static func run(
        _ options: Options, environment: [String: String], print: @escaping @Sendable (String) -> Void
    )
        async throws
    {
        let work = options.workDirectory.standardizedFileURL
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        // Strategies running as unprivileged users need to reach the socket in this folder.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.path)
        let database = work.appendingPathComponent("trading_desk.db").path
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        try? FileManager.default.removeItem(at: work.appendingPathComponent("logs"))

        var settings = ServeSettings(
            port: 0, databasePath: database, feed: "synthetic", feedRate: options.feedRate, feedSeed: options.seed,
            strategiesDirectory: options.strategiesDirectory.path,
            logsDirectory: work.appendingPathComponent("logs").path)
        settings.unixSocket = work.appendingPathComponent("desk.sock").path
        var configuration: DeskConfiguration
        switch settings.resolve(environment: environment) {
        case .success(let resolved): configuration = resolved
        case .failure(let problem): throw DemoError(message: problem.message)
        }
        configuration.runtime?.restartOverride = RestartSettings(
            policy: .onFailure, maxRestarts: 3, backoffInitial: .milliseconds(500), backoffMax: .seconds(5))
        var logger = Logger(label: "desk")
        logger.logLevel = environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
        let application = try DeskApplication(configuration: configuration, logger: logger)
        _ = try await AdminTokenFile.ensure(ledger: application.ledger)
        guard let supervisor = application.supervisor else { throw DemoError(message: "no strategies folder") }
        for line in supervisor.sandboxReport.applied { print("sandbox: \(line)") }
        if let problem = supervisor.sandboxReport.problem {
            throw DemoError(
                message:
                    "the strategy sandbox cannot be built here: \(problem)"
            )
        }
        let driver = Driver(application: application, supervisor: supervisor, options: options, print: print)
        try await application.run(
            extraServices: [.init(service: driver, successTerminationBehavior: .gracefullyShutdownGroup)]
        ) { listening in
            print(
                "desk listening on unix://\(listening.unixSocketPath ?? "-") and http://127.0.0.1:\(listening.port ?? 0)"
            )
        }
        print(try await report(application.ledger, lastPrice: application.broker.lastPrice))
        print("ledger: \(database)  (inspect with: desk orders --db \(database); desk positions --db \(database))")
        print("strategy logs: \(work.appendingPathComponent("logs").path)")
    }

    struct DemoError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Starts every strategy, prints progress, and returns after the duration
    /// (which shuts the desk down gracefully).
    struct Driver: Service {
        let application: DeskApplication
        let supervisor: Supervisor
        let options: Options
        let print: @Sendable (String) -> Void

        func run() async throws {
            await application.waitUntilListening()
            for result in await supervisor.start([]) {
                print("\(result.ok ? "started" : "NOT started") \(result.name): \(result.message)")
            }
            let clock = ContinuousClock()
            let end = clock.now + options.duration
            let started = clock.now
            while clock.now < end {
                do {
                    try await cancelWhenGracefulShutdown {
                        try await Task.sleep(for: min(options.progressEvery, end - clock.now))
                    }
                } catch { return }
                let elapsed = Int((clock.now - started) / .seconds(1))
                print(try await progress(elapsed: elapsed))
            }
        }

        func progress(elapsed: Int) async throws -> String {
            let ledger = application.ledger
            let orders = try await ledger.orders(OrderQuery(member: nil, limit: OrderQuery.maximumLimit))
            let filled = orders.filter { $0.status == .filled || $0.status == .partiallyFilled }.count
            let rejected = orders.filter { $0.status == .rejected }.count
            let positions = try await ledger.positions(member: nil)
            let members = Dictionary(grouping: positions, by: \.userId)
            let pnl = members.keys.sorted().map { member -> String in
                let total = members[member]!.reduce(Decimal(0)) { sum, record in
                    let position = record.position
                    let unrealized = application.broker.lastPrice(record.symbol).map(position.unrealizedPnL(at:)) ?? 0
                    return sum + position.realizedPnL + unrealized
                }
                return "\(member) P&L \(DeskDemo.signed(total))"
            }
            let running = await supervisor.status().filter { $0.state == "running" }.count
            return
                "[\(String(format: "%3d", elapsed))s] ticks \(application.feed.statistics.ticksPublished) | strategies running \(running) | orders \(orders.count) (filled \(filled), rejected \(rejected)) | \(pnl.isEmpty ? "no positions yet" : pnl.joined(separator: " | "))"
        }
    }

    /// The final per-member report.
    static func report(_ ledger: Ledger, lastPrice: (String) -> Decimal?) async throws -> String {
        let orders = try await ledger.orders(OrderQuery(member: nil, limit: OrderQuery.maximumLimit))
        let positions = try await ledger.positions(member: nil)
        let members = Set(orders.map(\.userId)).union(positions.map(\.userId)).sorted()
        var lines = ["", "=== final report ==="]
        for member in members {
            let mine = orders.filter { $0.userId == member }
            let fills = mine.filter { $0.filledQty > 0 }.count
            lines.append(
                "\(member): \(mine.count) orders, \(fills) with fills, \(mine.filter { $0.status == .rejected }.count) rejected"
            )
            var realized: Decimal = 0
            var unrealized: Decimal = 0
            for record in positions where record.userId == member {
                let position = record.position
                let price = lastPrice(record.symbol)
                realized += position.realizedPnL
                unrealized += price.map(position.unrealizedPnL(at:)) ?? 0
                lines.append(
                    "    \(record.symbol): qty \(ExactDecimal.plain(position.qty)), avg \(position.averageEntryPrice.map(ExactDecimal.plain) ?? "-"), last \(price.map(ExactDecimal.plain) ?? "-"), realized \(signed(position.realizedPnL)), unrealized \(signed(price.map(position.unrealizedPnL(at:)) ?? 0))"
                )
            }
            lines.append(
                "    total P&L \(signed(realized + unrealized)) (realized \(signed(realized)), unrealized \(signed(unrealized)))"
            )
        }
        if members.isEmpty { lines.append("no orders were placed") }
        return lines.joined(separator: "\n")
    }

    static func signed(_ value: Decimal) -> String {
        let rounded = ExactDecimal.rounded(value, scale: 2)
        return (rounded > 0 ? "+" : "") + ExactDecimal.plain(rounded)
    }
}

import DeskCore
import DeskMarketData
import DeskRunner
import DeskTestSupport
import Foundation
import Testing

/// A backtest's strategies through `Lockstep`, started by the same `StrategyLauncher`
/// as live ones, in the full sandbox (the launcher reports their reads of stdin).
@Suite("Lockstep: a backtest's strategies, one tick at a time", .serialized, .timeLimit(.minutes(2)))
struct LockstepTests {
    init() throws {
        try #require(getuid() == 0, "the sandbox switches uids and needs root (CI runs as root)")
    }

    /// Runs `body` with a lockstep over `folder`'s strategies (uids from `base`), its
    /// exit watch beside it; closes it afterwards and checks that `run()` returned.
    func withLockstep(
        _ folder: StrategyFolder, base: UInt32, credentials: RecordingCredentials = RecordingCredentials(),
        orderEvents: StrategyEventRoutes = StrategyEventRoutes(), _ body: @Sendable (Lockstep) async throws -> Void
    ) async throws {
        let configuration = folder.configuration(sandbox: SandboxOptions(baseUID: base))
        let plan = SandboxPlan.probe(
            options: configuration.sandbox, python: configuration.python, pythonPath: configuration.pythonPath)
        try #require(plan.report.problem == nil, "\(plan.report.problem ?? "")")
        let backend = ProcessBackend(plan: plan)
        let launcher = StrategyLauncher(
            configuration: configuration, credentials: credentials, users: InMemoryStrategyUserStore(),
            backend: { _ in .success(backend) })
        let lockstep = Lockstep(launcher: launcher, orderEvents: orderEvents, logger: testLogger())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await lockstep.run() }
            do {
                try await body(lockstep)
            } catch {
                await lockstep.close(grace: .seconds(1))
                throw error
            }
            await lockstep.close(grace: .seconds(1))
            // `run()` returns once every strategy has ended.
            try await group.waitForAll()
        }
    }

    static func line(_ symbol: String, _ price: Int) -> FeedLine {
        FeedLine(tick: Tick(symbol: symbol, price: Decimal(price), at: Date(timeIntervalSince1970: 1_800_000_000)))
    }

    @Test("each tick goes to its symbol's strategies in name order; at the end of data they end and nothing failed")
    func ticksAndEndOfData() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("a_apple", script: echoStrategy, config: #"{"user_id": "alice", "symbols": ["AAPL"]}"#)
        try folder.add("b_all", script: echoStrategy, config: #"{"user_id": "bob"}"#)
        let credentials = RecordingCredentials()
        try await withLockstep(folder, base: 63_640, credentials: credentials) { lockstep in
            #expect(await lockstep.start(["b_all", "a_apple"]) == nil)
            #expect(await lockstep.strategies().map(\.strategy) == ["a_apple", "b_all"])
            #expect(await lockstep.strategies().map(\.member) == ["alice", "bob"])
            #expect(await lockstep.settle() == Lockstep.Settled())
            #expect(await lockstep.deliver(Self.line("AAPL", 1)) == Lockstep.Delivery(given: 2, unanswered: nil))
            #expect(await lockstep.deliver(Self.line("MSFT", 2)) == Lockstep.Delivery(given: 1, unanswered: nil))
            #expect(await lockstep.deliver(Self.line("AAPL", 3)) == Lockstep.Delivery(given: 2, unanswered: nil))
            await lockstep.endOfData(grace: .seconds(5))
            #expect(await lockstep.failure() == nil)
        }
        #expect(folder.log("a_apple").contains("GOT AAPL 1") && folder.log("a_apple").contains("GOT AAPL 3"))
        #expect(!folder.log("a_apple").contains("MSFT"))
        #expect(folder.log("b_all").contains("GOT MSFT 2") && folder.log("b_all").contains("EOF"))
        #expect(folder.log("a_apple").contains("a_apple ended: exit code 0"))
        // One token per strategy, revoked once it ended.
        #expect(await credentials.issued.sorted() == ["alice/a_apple@paper", "bob/b_all@paper"])
        #expect(await credentials.revoked.sorted() == ["alice/a_apple", "bob/b_all"])
    }

    @Test("a strategy that crashes before the data ends fails the run with its last lines; the others go on")
    func crashIsAFailure() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add(
            "crashing",
            script: """
                import sys
                for n, line in enumerate(sys.stdin):
                    print('tick', n, flush=True)
                    if n == 1: raise SystemExit('boom on tick 2')
                """)
        try folder.add("steady", script: echoStrategy)
        try await withLockstep(folder, base: 63_650) { lockstep in
            #expect(await lockstep.start(["crashing", "steady"]) == nil)
            #expect(await lockstep.settle() == Lockstep.Settled())
            for price in 1...4 { await lockstep.deliver(Self.line("AAPL", price)) }
            let failure = try #require(await lockstep.failure())
            guard case .failed(let strategy, let reason, let lastLines) = failure else {
                Issue.record("\(failure)")
                return
            }
            #expect(strategy == "crashing")
            #expect(reason == "it ended before the data did: exit code 1")
            #expect(lastLines.contains { $0.contains("boom on tick 2") }, "\(lastLines)")
            #expect(failure.description.hasPrefix("strategy crashing failed: it ended before the data did"))
        }
        #expect(folder.log("steady").contains("GOT AAPL 4"), "the others had every tick")
    }

    @Test("a strategy that stops reading is named when the waiting caller is cancelled, and close stops it")
    func stallerIsNamed() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("staller", script: "import sys, time\nsys.stdin.readline()\ntime.sleep(3600)\n")
        try await withLockstep(folder, base: 63_660) { lockstep in
            #expect(await lockstep.start(["staller"]) == nil)
            #expect(await lockstep.settle() == Lockstep.Settled())
            let delivery = await withTaskGroup(of: Lockstep.Delivery?.self) { group in
                group.addTask { await lockstep.deliver(Self.line("AAPL", 1)) }
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(300))
                    return nil
                }
                _ = await group.next()
                group.cancelAll()
                var delivery: Lockstep.Delivery?
                for await result in group { delivery = delivery ?? result }
                return delivery
            }
            #expect(delivery == Lockstep.Delivery(given: 1, unanswered: "staller"))
        }
        #expect(folder.log("staller").contains("staller ended: killed by signal"), "\(folder.log("staller"))")
    }

    /// A line about `member`'s `strategy`'s order `id`: a fill of 5 AAPL at 101.5, position 5 after it.
    static func fillLine(_ id: String, member: String, strategy: String) throws -> FeedLine {
        let order = Order(
            id: id, member: member, strategy: strategy,
            terms: OrderTerms(symbol: "AAPL", qty: 5, side: .buy, type: .market),
            placedAt: Date(timeIntervalSince1970: 1_800_000_000))
        return try #require(
            OrderEventLine.line(
                order: OrderRecord(order, progress: OrderProgress(qty: 5)), event: .fill(qty: 5, price: 101.5),
                position: 5, at: Date(timeIntervalSince1970: 1_800_000_001)))
    }

    @Test(
        "a strategy that asks for its order events reads those booked since its turn before its next tick, each awaited; no other strategy sees them"
    )
    func orderEventsBeforeTheNextTick() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        let lines = "import sys\nfor line in sys.stdin:\n    print('LINE', line.strip(), flush=True)\n"
        try folder.add("a_events", script: lines, config: #"{"user_id": "alice", "events": ["fills"]}"#)
        try folder.add("b_plain", script: lines, config: #"{"user_id": "bob", "symbols": ["AAPL"]}"#)
        try folder.add(
            "c_msft", script: lines, config: #"{"user_id": "carol", "symbols": ["MSFT"], "events": ["fills"]}"#)
        let routes = StrategyEventRoutes()
        var made: [String: FeedLine] = [:]
        for (id, member, strategy) in [
            ("o-1", "alice", "a_events"), ("o-2", "alice", "a_events"), ("o-3", "bob", "b_plain"),
            ("o-4", "bob", "a_events"), ("o-5", "carol", "c_msft"), ("o-6", "alice", "a_events"),
        ] {
            made[id] = try Self.fillLine(id, member: member, strategy: strategy)
        }
        let fills = made
        try await withLockstep(folder, base: 63_680, orderEvents: routes) { lockstep in
            #expect(await lockstep.start(["a_events", "b_plain", "c_msft"]) == nil)
            #expect(await lockstep.settle() == Lockstep.Settled())
            #expect(await lockstep.deliver(Self.line("AAPL", 1)) == Lockstep.Delivery(given: 2, unanswered: nil))
            // Booked while the strategies worked on tick 1: each strategy's own, and no one's for b_plain.
            #expect(routes.deliver(fills["o-1"]!, member: "alice", strategy: "a_events"))
            #expect(routes.deliver(fills["o-2"]!, member: "alice", strategy: "a_events"))
            #expect(!routes.deliver(fills["o-3"]!, member: "bob", strategy: "b_plain"))
            #expect(!routes.deliver(fills["o-4"]!, member: "bob", strategy: "a_events"))
            // c_msft's own fill reaches it although the next tick is not its symbol's.
            #expect(routes.deliver(fills["o-5"]!, member: "carol", strategy: "c_msft"))
            #expect(await lockstep.deliver(Self.line("AAPL", 2)) == Lockstep.Delivery(given: 2, unanswered: nil))
            #expect(routes.deliver(fills["o-6"]!, member: "alice", strategy: "a_events"))
            #expect(await lockstep.deliverEvents() == Lockstep.Delivery(given: 0, unanswered: nil))
            await lockstep.endOfData(grace: .seconds(5))
            #expect(await lockstep.failure() == nil)
        }
        let got = { (name: String) in
            folder.log(name).split(separator: "\n").filter { $0.contains("LINE ") }.map {
                String($0[$0.range(of: "LINE ")!.upperBound...])
            }
        }
        let fill = { (id: String) in
            #"{"type":"fill","order_id":"\#(id)","symbol":"AAPL","side":"buy","qty":5,"price":101.5,"position":5,"ts":"2027-01-15T08:00:01.000Z"}"#
        }
        let tick = { (price: Int) in #"{"symbol":"AAPL","price":\#(price),"ts":"2027-01-15T08:00:00.000Z"}"# }
        #expect(got("a_events") == [tick(1), fill("o-1"), fill("o-2"), tick(2), fill("o-6")])
        #expect(got("b_plain") == [tick(1), tick(2)])
        #expect(got("c_msft") == [fill("o-5")])
    }

    @Test("a strategy that cannot start is named before anything runs")
    func notStartable() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("fine", script: echoStrategy)
        try await withLockstep(folder, base: 63_670) { lockstep in
            let problem = await lockstep.start(["fine", "nosuch"])
            #expect(
                problem
                    == .notStartable(
                        strategy: "nosuch", reason: "no strategy folder nosuch in \(folder.strategies.path)"))
            #expect(await lockstep.strategies().isEmpty, "nothing was started")
        }
    }
}

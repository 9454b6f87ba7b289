import DeskMarketData
import DeskTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Ticks and sources")
struct TickSourceTests {
    static let at = Date(timeIntervalSince1970: 1_795_000_000.123)

    @Test(
        "JSON lines carry exact numbers and leave absent fields out",
        arguments: [
            (
                Tick(symbol: "AAPL", price: Decimal(string: "145.5")!, at: at),
                #"{"symbol":"AAPL","price":145.5,"ts":"2026-11-18T11:06:40.123Z"}"#
            ),
            (
                Tick(symbol: "PENNY", price: Decimal(string: "0.0001")!, at: at, size: 100, kind: .trade),
                #"{"symbol":"PENNY","price":0.0001,"ts":"2026-11-18T11:06:40.123Z","size":100,"type":"trade"}"#
            ),
            (
                Tick(
                    symbol: "BRK.A", price: Decimal(string: "1000000.25")!, at: at, bid: Decimal(string: "1000000.2")!,
                    ask: Decimal(string: "1000000.30")!, kind: .quote),
                #"{"symbol":"BRK.A","price":1000000.25,"ts":"2026-11-18T11:06:40.123Z","bid":1000000.2,"ask":1000000.3,"type":"quote"}"#
            ),
        ])
    func jsonLine(tick: Tick, line: String) throws {
        #expect(tick.jsonLine == line + "\n")
        let parsed = try JSONSerialization.jsonObject(with: Data(tick.jsonLine.utf8)) as? [String: Any]
        #expect(parsed?["symbol"] as? String == tick.symbol)
    }

    @Test("the synthetic walk is deterministic per seed, in cents, and never below a cent")
    func synthetic() {
        let prices: [String: Decimal] = ["AAPL": 150, "MSFT": Decimal(string: "0.05")!]
        var first = SyntheticSource.Walk(startPrices: prices, seed: 42, volatility: 0.05)
        var second = SyntheticSource.Walk(startPrices: prices, seed: 42, volatility: 0.05)
        var other = SyntheticSource.Walk(startPrices: prices, seed: 43, volatility: 0.05)
        let a = (0..<1000).map { _ in first.next(at: Self.at) }
        let b = (0..<1000).map { _ in second.next(at: Self.at) }
        let c = (0..<1000).map { _ in other.next(at: Self.at) }
        #expect(a == b)
        #expect(a != c)
        #expect(Set(a.map(\.symbol)) == ["AAPL", "MSFT"])
        #expect(a.prefix(2).map(\.symbol) == ["AAPL", "MSFT"])
        for tick in a {
            #expect(tick.price >= Decimal(string: "0.01")!)
            #expect(tick.price * 100 == Decimal(Int64(truncating: NSDecimalNumber(decimal: tick.price * 100))))
        }
    }

    @Test("CSV replay: header in any order, exact prices, epoch or ISO timestamps")
    func csv() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("ticks.csv")
        try "symbol,price,timestamp,size\nAAPL,145.10,2026-11-25T14:30:00Z,100\nMSFT,300.5,1795617041.5,\n\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let source = try ReplaySource(file: URL(fileURLWithPath: path), speed: .asFastAsPossible)
        #expect(source.ticks.map(\.symbol) == ["AAPL", "MSFT"])
        #expect(source.ticks[0].price == Decimal(string: "145.1")!)
        #expect(source.ticks[0].size == 100)
        #expect(source.ticks[1].size == nil)
    }

    @Test(
        "bad replay lines are reported with file and line",
        arguments: [
            ("a.csv", "symbol,price\nAAPL,1\n", 1, "timestamp, symbol and price"),
            ("b.csv", "timestamp,symbol,price\n1,AAPL,1\n2,AAPL\n", 3, "has 2 fields"),
            ("c.csv", "timestamp,symbol,price\n1,AAPL,abc\n", 2, "not a positive decimal"),
            ("d.csv", "timestamp,symbol,price\nyesterday,AAPL,1\n", 2, "neither ISO-8601"),
            ("e.csv", "timestamp,symbol,price\n2,AAPL,1\n1,AAPL,1\n", 3, "backwards"),
            (
                "f.jsonl", "{\"symbol\":\"AAPL\",\"price\":1,\"ts\":1}\n{\"symbol\":\"AAPL\",\"ts\":2}\n", 2,
                "missing \"price\""
            ),
            ("g.jsonl", "not json\n", 1, "not a flat JSON object"),
            ("h.jsonl", "{\"symbol\":\"aapl\",\"price\":1,\"ts\":1}\n", 1, "is not a ticker"),
        ])
    func badLines(name: String, content: String, line: Int, fragment: String) throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try content.write(toFile: folder.path(name), atomically: true, encoding: .utf8)
        do {
            _ = try ReplaySource(file: URL(fileURLWithPath: folder.path(name)), speed: .recorded)
            Issue.record("expected an error")
        } catch let error as ReplayFileError {
            #expect(error.line == line)
            #expect(error.description.contains(name))
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    @Test("JSON-lines replay keeps numbers exact (no float noise)")
    func jsonLines() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("ticks.jsonl")
        try #"{"symbol":"AAPL","price":145.10,"ts":"2026-11-25T14:30:00.250Z","size":"7","extra":{"nested":false}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ReplayFileError.self) { try ReplaySource(file: URL(fileURLWithPath: path), speed: .recorded) }
        try "{\"symbol\":\"AAPL\",\"price\":0.30000000000000004,\"ts\":1795000000000,\"size\":\"7\",\"venue\":\"x\"}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let tick = try #require(try ReplaySource(file: URL(fileURLWithPath: path), speed: .recorded).ticks.first)
        #expect(tick.price == Decimal(string: "0.30000000000000004")!)
        #expect(tick.at == Date(timeIntervalSince1970: 1_795_000_000))
        #expect(tick.size == 7)
    }

    @Test(
        "replay speeds parse",
        arguments: [("recorded", ReplaySpeed.recorded), ("fast", .asFastAsPossible), ("10x", .scaled(10))])
    func speeds(text: String, speed: ReplaySpeed) {
        #expect(ReplaySpeed.parse(text) == speed)
        #expect(ReplaySpeed.parse("sometimes") == nil)
    }
}

@Suite("Feed hub")
struct FeedHubTests {
    static func tick(_ symbol: String, _ price: Int) -> Tick {
        Tick(symbol: symbol, price: Decimal(price), at: Date())
    }

    @Test("subscribers get only their symbols; observers see everything; wanted symbols are the union")
    func filtering() async {
        let hub = FeedHub(source: nil, logger: testLogger())
        let apple = hub.subscribe(id: "apple", symbols: ["AAPL"])
        let both = hub.subscribe(id: "both", symbols: ["AAPL", "MSFT"])
        let seen = Counter()
        hub.observe { _ in seen.add() }
        #expect(hub.wantedSymbols == ["AAPL", "MSFT"])
        for (symbol, price) in [("AAPL", 1), ("MSFT", 2), ("GOOG", 3), ("AAPL", 4)] {
            hub.publish(Self.tick(symbol, price))
        }
        hub.finish()
        var appleSeen: [String] = []
        for await line in apple { appleSeen.append("\(line.tick.symbol)\(line.tick.price)") }
        var bothSeen: [String] = []
        for await line in both { bothSeen.append(line.tick.symbol) }
        #expect(appleSeen == ["AAPL1", "AAPL4"])
        #expect(bothSeen == ["AAPL", "MSFT", "AAPL"])
        #expect(seen.value == 4)
        let everything = FeedHub(source: nil, logger: testLogger())
        _ = everything.subscribe(id: "all", symbols: nil)
        #expect(everything.wantedSymbols == nil)
    }

    @Test("a subscriber that never reads loses the oldest lines; the others get everything")
    func boundedBuffers() async {
        let hub = FeedHub(source: nil, logger: testLogger())
        let stuck = hub.subscribe(id: "stuck", symbols: nil, capacity: 10)
        let reader = hub.subscribe(id: "reader", symbols: nil, capacity: 10)
        let received = Counter()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in reader { received.add() }
            }
            for price in 1...1000 {
                hub.publish(Self.tick("AAPL", price))
                if price % 5 == 0 { await Task.yield() }
                while reader.buffered >= 9 { await Task.yield() }
            }
            hub.finish()
        }
        #expect(received.value == 1000)
        #expect(reader.dropped == 0)
        #expect(stuck.dropped == 990)
        #expect(stuck.buffered == 10)
        var kept: [Decimal] = []
        for await line in stuck { kept.append(line.tick.price) }
        #expect(kept == (991...1000).map { Decimal($0) })
        let statistics = hub.statistics
        #expect(statistics.ticksPublished == 1000)
    }

    @Test("cancel ends a waiting consumer and removes the subscription")
    func cancel() async {
        let hub = FeedHub(source: nil, logger: testLogger())
        let subscription = hub.subscribe(id: "x", symbols: nil)
        await withTaskGroup(of: FeedLine?.self) { group in
            group.addTask {
                var iterator = subscription.makeAsyncIterator()
                return await iterator.next()
            }
            try? await Task.sleep(for: .milliseconds(20))
            subscription.cancel()
            #expect(await group.next()! == nil)
        }
        #expect(hub.statistics.subscribers.isEmpty)
        hub.publish(Self.tick("AAPL", 1))
        #expect(subscription.delivered == 0)
    }

    @Test("a replay runs through the hub to a subscriber and the paper-broker observer")
    func replayThroughHub() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("t.csv")
        try "timestamp,symbol,price\n1,AAPL,10\n2,MSFT,20\n3,AAPL,11\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let hub = FeedHub(
            source: try ReplaySource(file: URL(fileURLWithPath: path), speed: .asFastAsPossible), logger: testLogger())
        let subscription = hub.subscribe(id: "s", symbols: ["AAPL"])
        let observed = Counter()
        hub.observe { _ in observed.add() }
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await hub.run() }
            var prices: [Decimal] = []
            for await line in subscription {
                prices.append(line.tick.price)
                if prices.count == 2 { break }
            }
            #expect(prices == [10, 11])
            group.cancelAll()
        }
        #expect(observed.value == 3)
    }
}

/// A thread-safe counter for tests.
final class Counter: Sendable {
    private let count = Synchronization.Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

import DeskMarketData
import DeskTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

@Suite("Feed hub", .timeLimit(.minutes(1)))
struct FeedHubTests {
    static func tick(_ symbol: String, _ price: Int) -> Tick {
        Tick(symbol: symbol, price: Decimal(price), at: Date(timeIntervalSince1970: 1_795_617_000))
    }

    /// Every line a finished subscription still holds.
    static func drain(_ subscription: FeedSubscription) async -> [Tick] {
        var ticks: [Tick] = []
        for await line in subscription { ticks += line.tick.map { [$0] } ?? [] }
        return ticks
    }

    @Test(
        "subscribers get only their symbols; wanted symbols are the union, nil when anyone wants everything",
        arguments: [
            ([], []),
            ([["AAPL"]], ["AAPL"]),
            ([["AAPL"], ["AAPL", "MSFT"], []], ["AAPL", "MSFT"]),
            ([["AAPL"], nil], nil),
        ] as [([Set<String>?], Set<String>?)])
    func filtering(wants: [Set<String>?], wanted: Set<String>?) async {
        let hub = FeedHub(source: nil, logger: quietLogger())
        let subscriptions = wants.enumerated().map { hub.subscribe(id: "s\($0.offset)", symbols: $0.element) }
        #expect(hub.wantedSymbols == wanted)
        let published = [("AAPL", 1), ("MSFT", 2), ("GOOG", 3), ("AAPL", 4)].map { Self.tick($0.0, $0.1) }
        for tick in published { hub.publish(tick) }
        hub.finish()
        for (subscription, symbols) in zip(subscriptions, wants) {
            let expected = published.filter { symbols?.contains($0.symbol) ?? true }
            #expect(await Self.drain(subscription) == expected, "\(subscription.id)")
            #expect(subscription.delivered == expected.count)
            #expect(subscription.dropped == 0)
        }
        #expect(hub.statistics.ticksPublished == 4)
    }

    @Test("a consumer takes what is already buffered in one go, in order, counted as delivered")
    func takeBuffered() async {
        let hub = FeedHub(source: nil, logger: quietLogger())
        let subscription = hub.subscribe(id: "s", symbols: nil, capacity: 10)
        for price in 1...5 { hub.publish(Self.tick("AAPL", price)) }
        var iterator = subscription.makeAsyncIterator()
        #expect(await iterator.next()?.tick == Self.tick("AAPL", 1))
        #expect(subscription.takeBuffered(limit: 3).map(\.tick) == (2...4).map { Self.tick("AAPL", $0) })
        #expect(subscription.takeBuffered(limit: 3).map(\.tick) == [Self.tick("AAPL", 5)])
        #expect(subscription.takeBuffered(limit: 3).isEmpty)
        #expect(subscription.delivered == 5 && subscription.dropped == 0)
        hub.finish()
    }

    @Test("observers see every tick first, with or without subscribers; lines are shared and exact")
    func observersAndLines() async {
        let hub = FeedHub(source: nil, logger: quietLogger())
        let observed = Collected<Tick>()
        hub.observe { observed.append($0) }
        hub.publish(Self.tick("AAPL", 1))
        #expect(observed.all == [Self.tick("AAPL", 1)])
        let subscription = hub.subscribe(id: "s", symbols: ["MSFT"])
        let quote = Tick(symbol: "MSFT", price: dec("420.10"), at: Date(timeIntervalSince1970: 0), size: 3)
        hub.publish(quote)
        hub.finish()
        var iterator = subscription.makeAsyncIterator()
        let line = await iterator.next()
        #expect(line?.tick == quote)
        #expect(line.map { String(decoding: $0.bytes, as: UTF8.self) } == quote.jsonLine)
        #expect(quote.jsonLine.contains(#""price":420.1,"#))
        #expect(await iterator.next() == nil)
        #expect(observed.count == 2)
        #expect(hub.statistics.ticksPublished == 2)
    }

    @Test("a subscriber that never reads loses its oldest lines; the others receive everything")
    func boundedBuffers() async {
        let hub = FeedHub(source: nil, logger: quietLogger())
        let stuck = hub.subscribe(id: "stuck", symbols: nil, capacity: 10)
        let reader = hub.subscribe(id: "reader", symbols: nil, capacity: 16)
        let received = Collected<Decimal>()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await line in reader { if let tick = line.tick { received.append(tick.price) } }
            }
            for price in 1...2000 {
                hub.publish(Self.tick("AAPL", price))
                #expect(stuck.buffered <= 10)
                // Let the reader keep up, so only the stuck subscriber drops lines.
                while reader.buffered >= 12 { await Task.yield() }
            }
            hub.finish()
        }
        #expect(received.all == (1...2000).map { Decimal($0) })
        #expect(reader.dropped == 0 && reader.delivered == 2000)
        #expect(stuck.dropped == 1990 && stuck.delivered == 0 && stuck.buffered == 10)
        // The newest ten lines are the ones kept.
        #expect(await Self.drain(stuck).map(\.price) == (1991...2000).map { Decimal($0) })
        #expect(stuck.delivered == 10)
    }

    @Test("under concurrent publishers every line is delivered once or counted as dropped, in publish order")
    func concurrentAccounting() async {
        let hub = FeedHub(source: nil, logger: quietLogger())
        let publishers = ["AAPL", "MSFT", "GOOG"]
        let perPublisher = 3000
        let subscriptions = (0..<6).map { index in
            hub.subscribe(id: "s\(index)", symbols: index == 0 ? nil : [publishers[index % 3]], capacity: 8)
        }
        let observed = Collected<Int>()
        hub.observe { _ in observed.append(1) }
        await withTaskGroup(of: (String, [Tick]).self) { group in
            for subscription in subscriptions {
                group.addTask {
                    var ticks: [Tick] = []
                    for await line in subscription {
                        ticks += line.tick.map { [$0] } ?? []
                        if ticks.count % 7 == 0 { await Task.yield() }
                    }
                    return (subscription.id, ticks)
                }
            }
            await withTaskGroup(of: Void.self) { publishing in
                for symbol in publishers {
                    publishing.addTask {
                        for price in 1...perPublisher {
                            hub.publish(Self.tick(symbol, price))
                            if price % 50 == 0 { await Task.yield() }
                        }
                    }
                }
            }
            hub.finish()
            for await (id, ticks) in group {
                let subscription = subscriptions.first { $0.id == id }!
                let expected = subscription.symbols == nil ? publishers.count * perPublisher : perPublisher
                #expect(ticks.count == subscription.delivered)
                #expect(subscription.delivered + subscription.dropped == expected, "\(id)")
                for symbol in publishers {
                    let prices = ticks.filter { $0.symbol == symbol }.map(\.price)
                    #expect(prices == prices.sorted() && Set(prices).count == prices.count, "\(id) \(symbol)")
                }
            }
        }
        #expect(observed.count == publishers.count * perPublisher)
        #expect(hub.statistics.ticksPublished == publishers.count * perPublisher)
    }

    @Test("statistics report each subscriber's counts, sorted by id")
    func statistics() {
        let hub = FeedHub(source: nil, logger: quietLogger())
        _ = hub.subscribe(id: "b", symbols: ["AAPL"], capacity: 2)
        _ = hub.subscribe(id: "a", symbols: nil, capacity: 0)
        for price in 1...5 { hub.publish(Self.tick("AAPL", price)) }
        hub.publish(Self.tick("MSFT", 6))
        let statistics = hub.statistics
        #expect(statistics.ticksPublished == 6)
        #expect(statistics.sourceState == .none)
        #expect(
            statistics.subscribers == [
                .init(id: "a", symbols: nil, capacity: 1, delivered: 0, dropped: 5, buffered: 1),
                .init(id: "b", symbols: ["AAPL"], capacity: 2, delivered: 0, dropped: 3, buffered: 2),
            ])
    }

    @Test("cancel: a waiting next() returns nil, the hub forgets the subscription, later lines are not kept")
    func cancel() async {
        let hub = FeedHub(source: nil, logger: quietLogger())
        let subscription = hub.subscribe(id: "x", symbols: nil)
        let other = hub.subscribe(id: "y", symbols: ["AAPL"])
        await withTaskGroup(of: FeedLine?.self) { group in
            group.addTask {
                var iterator = subscription.makeAsyncIterator()
                return await iterator.next()
            }
            // Cancel only once the consumer is waiting: a publish would reach it directly.
            try? await Task.sleep(for: .milliseconds(20))
            subscription.cancel()
            #expect(await group.next()! == nil)
        }
        #expect(hub.statistics.subscribers.map(\.id) == ["y"])
        #expect(hub.wantedSymbols == ["AAPL"])
        hub.publish(Self.tick("AAPL", 1))
        #expect(subscription.buffered == 0 && subscription.delivered == 0)
        var iterator = subscription.makeAsyncIterator()
        #expect(await iterator.next() == nil)
        subscription.cancel()  // twice is fine
        #expect(other.buffered == 1)
    }

    @Test("cancel discards what is buffered; cancelling the consuming task ends the subscription")
    func cancelBufferedAndTask() async {
        let hub = FeedHub(source: nil, logger: quietLogger())
        let buffered = hub.subscribe(id: "buffered", symbols: nil)
        hub.publish(Self.tick("AAPL", 1))
        buffered.cancel()
        #expect(await Self.drain(buffered).isEmpty)

        let waiting = hub.subscribe(id: "waiting", symbols: nil)
        await withTaskGroup(of: Int.self) { group in
            group.addTask { await Self.drain(waiting).count }
            try? await Task.sleep(for: .milliseconds(20))
            group.cancelAll()
            #expect(await group.next() == 0)
        }
        #expect(waiting.isFinished)
        #expect(hub.statistics.subscribers.isEmpty)
    }

    @Test("a new subscription with the same id replaces the old one, which ends")
    func replace() async {
        let hub = FeedHub(source: nil, logger: quietLogger())
        let old = hub.subscribe(id: "alice", symbols: ["AAPL"])
        hub.publish(Self.tick("AAPL", 1))
        let new = hub.subscribe(id: "alice", symbols: ["MSFT"])
        hub.publish(Self.tick("MSFT", 2))
        old.cancel()  // must not remove the new one
        #expect(await Self.drain(old).isEmpty)
        #expect(hub.statistics.subscribers.map(\.id) == ["alice"])
        #expect(hub.wantedSymbols == ["MSFT"])
        hub.finish()
        #expect(await Self.drain(new).map(\.price) == [2])
    }

    @Test("graceful shutdown of the service group finishes every subscription after its buffered lines")
    func shutdown() async throws {
        let source = SyntheticSource(symbols: ["AAPL": 100], ticksPerSecond: 200, seed: 1)
        let hub = FeedHub(source: source, logger: quietLogger())
        let waiting = hub.subscribe(id: "waiting", symbols: ["AAPL"])
        let stuck = hub.subscribe(id: "stuck", symbols: nil, capacity: 3)
        let group = ServiceGroup(services: [hub], logger: quietLogger())
        try await withThrowingTaskGroup(of: Int.self) { tasks in
            tasks.addTask {
                try await group.run()
                return -1
            }
            tasks.addTask { await Self.drain(waiting).count }
            #expect(await eventually { stuck.dropped > 0 && waiting.delivered >= 5 })
            #expect(hub.statistics.sourceState == .running)
            await group.triggerGracefulShutdown()
            var results: [Int] = []
            for try await result in tasks { results.append(result) }
            #expect(results.contains(-1))
            #expect(results.contains { $0 >= 5 })
        }
        #expect(hub.statistics.sourceState == .stopped)
        #expect(hub.statistics.subscribers.isEmpty)
        #expect(await Self.drain(stuck).count == 3)
        let late = hub.subscribe(id: "late", symbols: nil)
        #expect(late.isFinished)
        #expect(await Self.drain(late).isEmpty)
    }

    @Test("when the source ends or fails the hub stays up until shutdown, still publishing")
    func sourceEndsOrFails() async throws {
        for failure in [nil, "connection reset"] {
            let hub = FeedHub(
                source: ListSource(ticks: [Self.tick("AAPL", 1)], failure: failure), logger: quietLogger())
            let observed = Collected<Tick>()
            hub.observe { observed.append($0) }
            let subscription = hub.subscribe(id: "s", symbols: nil)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await hub.run() }
                let expected: FeedStatistics.SourceState = failure.map { .failed($0) } ?? .ended
                #expect(await eventually { hub.statistics.sourceState == expected })
                hub.publish(Self.tick("AAPL", 2))
                var iterator = subscription.makeAsyncIterator()
                #expect(await iterator.next()?.tick?.price == 1)
                #expect(await iterator.next()?.tick?.price == 2)
                try await Task.sleep(for: .milliseconds(20))
                #expect(!subscription.isFinished)  // run() has not returned
                tasks.cancelAll()
                try await tasks.waitForAll()
                #expect(await iterator.next() == nil)
            }
            #expect(observed.count == 2)
        }
    }

    @Test("a replay runs through the hub to a subscriber as fast as possible")
    func replayThroughHub() async throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var jsonl = ""
        for index in 0..<3000 {
            let symbol = ["AAPL", "MSFT", "GOOG"][index % 3]
            jsonl += #"{"symbol":"\#(symbol)","price":\#(100 + index).05,"ts":\#(1_795_617_000 + index),"size":1}"#
            jsonl += "\n"
        }
        let file = try folder.write("day.jsonl", jsonl)
        let hub = FeedHub(source: try ReplaySource(file: file, speed: .asFastAsPossible), logger: quietLogger())
        let subscription = hub.subscribe(id: "s", symbols: ["AAPL", "GOOG"], capacity: 5000)
        let observed = Collected<Int>()
        hub.observe { _ in observed.append(1) }
        await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await hub.run() }
            var lines: [String] = []
            for await line in subscription {
                lines.append(String(decoding: line.bytes, as: UTF8.self))
                if lines.count == 2000 { break }
            }
            #expect(
                lines.first
                    == #"{"symbol":"AAPL","price":100.05,"ts":"2026-11-25T14:30:00.000Z","size":1,"type":"trade"}"#
                    + "\n")
            #expect(
                lines.last
                    == #"{"symbol":"GOOG","price":3099.05,"ts":"2026-11-25T15:19:59.000Z","size":1,"type":"trade"}"#
                    + "\n")
            #expect(await eventually { hub.statistics.sourceState == .ended })
            tasks.cancelAll()
        }
        #expect(observed.count == 3000)
        #expect(subscription.dropped == 0)
    }
}

import DeskMarketData
import DeskTestSupport
import Foundation
import Testing

@Suite("Synthetic source", .timeLimit(.minutes(1)))
struct SyntheticTests {
    static let at = Date(timeIntervalSince1970: 1_795_617_000)
    static let prices: [String: Decimal] = ["MSFT": dec("420.00"), "AAPL": 150, "PENNY": dec("0.05")]

    static func walk(seed: UInt64, count: Int, volatility: Decimal = dec("0.01")) -> [Tick] {
        var walk = SyntheticSource.Walk(symbols: prices, seed: seed, volatility: volatility)
        return (0..<count).map { _ in walk.next(at: at) }
    }

    /// Whether `value` has at most `digits` decimal places.
    static func hasAtMost(_ digits: Int, decimalsIn value: Decimal) -> Bool {
        var scaled = value
        for _ in 0..<digits { scaled *= 10 }
        var whole = Decimal()
        NSDecimalRound(&whole, &scaled, 0, .down)
        return whole == scaled
    }

    @Test("the same seed gives the same ticks; another seed gives others")
    func deterministic() {
        let first = Self.walk(seed: 42, count: 3000)
        #expect(first == Self.walk(seed: 42, count: 3000))
        #expect(first != Self.walk(seed: 43, count: 3000))
        // Pinned values: a change to the walk shows up here.
        #expect(first.prefix(6).map(\.symbol) == ["AAPL", "MSFT", "PENNY", "AAPL", "MSFT", "PENNY"])
        #expect(
            first.prefix(6).map(\.price) == ["152.41", "418.64", "0.0494", "153.27", "412.08", "0.05"].map(dec))
        #expect(first.prefix(6).map(\.size) == [292, 251, 409, 208, 496, 490])
        #expect(first[2].bid == dec("0.0394") && first[2].ask == dec("0.0494"))
    }

    @Test(
        "prices keep to cents (4 decimals below $1), never below a cent; sizes 1...500; a one-cent spread",
        arguments: [UInt64(1), 7, 42, 0xDEAD_BEEF])
    func shape(seed: UInt64) {
        let ticks = Self.walk(seed: seed, count: 6000, volatility: dec("0.05"))
        #expect(Set(ticks.map(\.symbol)) == ["AAPL", "MSFT", "PENNY"])
        #expect(ticks.enumerated().allSatisfy { $0.element.symbol == ["AAPL", "MSFT", "PENNY"][$0.offset % 3] })
        for tick in ticks {
            #expect(tick.price >= dec("0.01"))
            #expect(Self.hasAtMost(tick.price < 1 ? 4 : 2, decimalsIn: tick.price), "\(tick.price)")
            let size = try! #require(tick.size)
            #expect(size >= 1 && size <= 500 && Self.hasAtMost(0, decimalsIn: size))
            let bid = try! #require(tick.bid)
            let ask = try! #require(tick.ask)
            #expect(ask - bid == dec("0.01") && bid <= tick.price && tick.price <= ask && bid >= dec("0.01"))
            #expect(tick.kind == .trade)
        }
        // The walk moves.
        #expect(Set(ticks.filter { $0.symbol == "AAPL" }.map(\.price)).count > 100)
    }

    @Test(
        "the spread is configurable; quoted sizes are 1...500 whole shares and leave the walk's prices alone",
        arguments: ["0", "0.01", "0.05", "1.25"])
    func spread(text: String) {
        let spread = dec(text)
        var walk = SyntheticSource.Walk(symbols: Self.prices, seed: 42, volatility: dec("0.01"), spread: spread)
        let ticks = (0..<3000).map { _ in walk.next(at: Self.at) }
        #expect(ticks.map(\.price) == Self.walk(seed: 42, count: 3000).map(\.price))
        for tick in ticks {
            let (bid, ask) = (try! #require(tick.bid), try! #require(tick.ask))
            #expect(ask - bid == spread && bid <= tick.price && tick.price <= ask, "\(tick.jsonLine)")
            #expect(bid == tick.price || ask == tick.price)
            for size in [try! #require(tick.bidSize), try! #require(tick.askSize)] {
                #expect(size >= 1 && size <= 500 && Self.hasAtMost(0, decimalsIn: size))
            }
        }
        #expect(Set(ticks.compactMap(\.askSize)).count > 100)
        #expect(SyntheticSource(symbols: [:], ticksPerSecond: 1, seed: 1).spread == dec("0.01"))
    }

    @Test("a price below a cent starts at a cent; zero volatility stands still")
    func edges() {
        var walk = SyntheticSource.Walk(symbols: ["DUST": dec("0.00001")], seed: 1, volatility: 0)
        let ticks = (0..<10).map { _ in walk.next(at: Self.at) }
        #expect(ticks.allSatisfy { $0.price == dec("0.01") })
    }

    @Test("run emits the walk (as fast as possible up to its limit)")
    func runMatchesWalk() async throws {
        let source = SyntheticSource(
            symbols: Self.prices, ticksPerSecond: 0, seed: 9, volatility: dec("0.01"), limit: 1000)
        let received = Collected<Tick>()
        try await source.run { received.append($0) }
        let expected = Self.walk(seed: 9, count: 1000)
        #expect(received.all.map(\.price) == expected.map(\.price))
        #expect(received.all.map(\.symbol) == expected.map(\.symbol))
        #expect(received.all.map(\.size) == expected.map(\.size))
        #expect(SyntheticSource(symbols: [:], ticksPerSecond: 0, seed: 1).name.contains("0 symbols"))
    }

    @Test("a float-literal volatility is read as the decimal it names")
    func volatilityLiteral() {
        #expect(SyntheticSource(symbols: [:], ticksPerSecond: 1, seed: 1, volatility: 0.002).volatility == dec("0.002"))
        #expect(SyntheticSource(symbols: [:], ticksPerSecond: 1, seed: 1).volatility == dec("0.001"))
    }

    @Test("a set rate is kept: no faster (how fast it can go is the fan-out benchmark's)")
    func rate() async throws {
        // 200 ticks at 2000/s take at least 0.1 s; 10,000 at 50,000/s at least 0.2 s.
        for (rate, count, least) in [(2000.0, 200, 0.099), (50_000, 10_000, 0.19)] {
            let source = SyntheticSource(symbols: Self.prices, ticksPerSecond: rate, seed: 1, limit: count)
            let received = Collected<Int>()
            let start = ContinuousClock.now
            try await source.run { _ in received.append(1) }
            let elapsed = ContinuousClock.now - start
            #expect(received.count == count)
            #expect(elapsed >= .seconds(least), "\(rate)/s: \(elapsed)")
        }
    }

    @Test("cancelling a paced run ends it")
    func cancel() async throws {
        let source = SyntheticSource(symbols: Self.prices, ticksPerSecond: 10, seed: 1)
        let received = Collected<Int>()
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await source.run { _ in received.append(1) } }
            #expect(await eventually { received.count >= 1 })
            group.cancelAll()
        }
        // The group returned, so the run ended (unlimited at 10/s, it would go on forever);
        // nothing arrives after that.
        let afterwards = received.count
        try await Task.sleep(for: .milliseconds(200))
        #expect(received.count == afterwards)
    }
}

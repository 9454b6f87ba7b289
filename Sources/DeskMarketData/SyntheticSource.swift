import DeskCore
import Foundation

/// A seeded random walk per symbol: the embedded default feed, so the desk runs
/// without any market data subscription. The same seed gives the same ticks (all
/// but their timestamps, which are the wall clock).
public struct SyntheticSource: TickSource {
    /// Starting price per symbol.
    public let startPrices: [String: Decimal]
    /// Ticks per second over all symbols together; 0 (or anything not positive and
    /// finite) means as fast as possible.
    public let ticksPerSecond: Double
    /// Seed of the random walk.
    public let seed: UInt64
    /// Standard deviation of one step, as a fraction of the price (0.001 = 0.1 %).
    public let volatility: Decimal
    /// Stop after this many ticks; nil runs until cancelled.
    public let limit: Int?
    /// Dollars between the bid and the ask of every tick (`--feed-spread`).
    public let spread: Decimal

    /// The default ``volatility``, 0.001, written exactly (a `0.001` float literal
    /// would pass through `Double`).
    public static let defaultVolatility = Decimal(sign: .plus, exponent: -3, significand: 1)
    /// The default ``spread``: one cent.
    public static let defaultSpread = Decimal(sign: .plus, exponent: -2, significand: 1)

    /// A walk over `symbols` (start prices), `ticksPerSecond` over all symbols (0: as
    /// fast as possible), deterministic for `seed`. `volatility` is rounded to 8
    /// decimal places, so a float literal's noise is dropped; `spread` (dollars,
    /// zero or more) is the distance from the bid to the ask.
    public init(
        symbols: [String: Decimal], ticksPerSecond: Double, seed: UInt64,
        volatility: Decimal = SyntheticSource.defaultVolatility, limit: Int? = nil,
        spread: Decimal = SyntheticSource.defaultSpread
    ) {
        self.spread = spread.magnitude
        startPrices = symbols
        self.ticksPerSecond = ticksPerSecond
        self.seed = seed
        self.volatility = ExactDecimal.rounded(volatility.magnitude, scale: 8)
        self.limit = limit
    }

    /// `synthetic (3 symbols, 20 ticks/s, seed 1)`.
    public var name: String {
        let rate = ticksPerSecond.isFinite && ticksPerSecond > 0 ? "\(ticksPerSecond) ticks/s" : "as fast as possible"
        return "synthetic (\(startPrices.count) symbols, \(rate), seed \(seed))"
    }

    /// Emits the walk, round-robin over the symbols sorted by name, stamped with the
    /// wall clock. At a set rate it sleeps in batches (at least 1 ms at a time), so
    /// 50 000 ticks/s costs no sleep per tick; a schedule more than a second behind
    /// (a slow machine, a debugger) is restarted rather than caught up in one burst.
    /// Returns when the limit is reached or the task is cancelled.
    public func run(_ emit: @Sendable (Tick) async -> Void) async throws {
        guard !startPrices.isEmpty else { return }
        var walk = Walk(symbols: startPrices, seed: seed, volatility: volatility, spread: spread)
        let total = limit ?? Int.max
        var emitted = 0
        guard ticksPerSecond.isFinite, ticksPerSecond > 0 else {
            while emitted < total, !Task.isCancelled {
                await emit(walk.next(at: Date()))
                emitted += 1
                if emitted % Pacing.ticksBetweenYields == 0 { await Task.yield() }
            }
            return
        }
        let clock = ContinuousClock()
        var start = clock.now
        var emittedSinceStart = 0
        let catchUpLimit = Int(min(ticksPerSecond, 1e9)) + 1
        while emitted < total, !Task.isCancelled {
            var due = Int(min(Pacing.seconds(clock.now - start) * ticksPerSecond, 1e15)) + 1
            if due - emittedSinceStart > catchUpLimit {
                start = clock.now
                emittedSinceStart = 0
                due = 1
            }
            if emittedSinceStart < due {
                let batch = min(due - emittedSinceStart, total - emitted, Pacing.ticksBetweenYields)
                for _ in 0..<batch { await emit(walk.next(at: Date())) }
                emittedSinceStart += batch
                emitted += batch
                if batch == Pacing.ticksBetweenYields { await Task.yield() }
            } else {
                let nextDue = start + .seconds(Double(emittedSinceStart) / ticksPerSecond)
                guard await Pacing.sleep(until: max(nextDue, clock.now + Pacing.minimumSleep)) else { return }
            }
        }
    }

    /// The walk itself as a pure value: `next(at:)` gives the following tick. The
    /// same symbols, seed and volatility always give the same sequence.
    ///
    /// Each step draws a uniform move with standard deviation `volatility × price`,
    /// computed in `Decimal` and rounded (half to even) to cents, or to 4 decimals
    /// below $1; the price never goes below $0.01. Sizes are 1 to 500 whole shares.
    /// The trade prints at the bid or at the ask (chosen at random) of the spread
    /// (one cent unless told otherwise), so `bid ≤ price ≤ ask` and `ask − bid =
    /// spread` (at the bid when the bid would fall below a cent). The quoted sizes
    /// `bid_size` and `ask_size` are 1 to 500 whole shares each, from a generator
    /// of their own, so the prices and trade sizes are those of the walk without them.
    public struct Walk: Sendable {
        private var symbols: [String]
        private var prices: [Decimal]
        private var random: SplitMix64
        private var quoteSizes: SplitMix64
        private var index = 0
        private let stepScale: Decimal
        private let spread: Decimal

        /// Uniform draws are integers in ±`drawRange`, turned into a Decimal fraction.
        private static let drawRange: UInt64 = 1_000_000
        /// √3: a uniform draw on [-1, 1] times √3 has standard deviation 1.
        private static let squareRootOfThree = Decimal(string: "1.7320508075688772935")!
        private static let cent = Decimal(sign: .plus, exponent: -2, significand: 1)

        /// A walk from `symbols` (start prices; a price below a cent starts at a cent).
        public init(
            symbols: [String: Decimal], seed: UInt64, volatility: Decimal,
            spread: Decimal = SyntheticSource.defaultSpread
        ) {
            self.spread = spread
            quoteSizes = SplitMix64(seed: seed ^ 0x5155_4F54_4553_495A)
            let sorted = symbols.sorted { $0.key < $1.key }
            self.symbols = sorted.map(\.key)
            prices = sorted.map { Self.quantized($0.value) }
            random = SplitMix64(seed: seed)
            stepScale = volatility * Self.squareRootOfThree / Decimal(Self.drawRange)
        }

        /// The next tick, round-robin over the symbols in name order, stamped `at`.
        public mutating func next(at date: Date) -> Tick {
            let slot = index
            index = (index + 1) % symbols.count
            let draw = Int64(random.next() % (2 * Self.drawRange + 1)) - Int64(Self.drawRange)
            let price = Self.quantized(prices[slot] + prices[slot] * stepScale * Decimal(draw))
            prices[slot] = price
            let size = Decimal(Int(random.next() % 500) + 1)
            let atTheBid = random.next() & 1 == 0 || price - spread < Self.cent
            let bidSize = Decimal(Int(quoteSizes.next() % 500) + 1)
            let askSize = Decimal(Int(quoteSizes.next() % 500) + 1)
            return Tick(
                symbol: symbols[slot], price: price, at: date, bid: atTheBid ? price : price - spread,
                ask: atTheBid ? price + spread : price, size: size, kind: .trade, bidSize: bidSize, askSize: askSize)
        }

        /// Rounded to cents (4 decimals below $1), never below a cent.
        static func quantized(_ price: Decimal) -> Decimal {
            let rounded = ExactDecimal.rounded(price, scale: price < 1 ? 4 : 2)
            return rounded < cent ? cent : rounded
        }
    }
}

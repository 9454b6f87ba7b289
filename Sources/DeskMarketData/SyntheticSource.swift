import DeskCore
import Foundation

/// A seeded random walk per symbol: the embedded default feed. The same seed
/// gives the same ticks.
public struct SyntheticSource: TickSource {
    public let startPrices: [String: Decimal]
    /// Ticks per second over all symbols; 0 means as fast as possible.
    public let ticksPerSecond: Double
    public let seed: UInt64
    /// Typical move per tick, as a fraction of the price.
    public let volatility: Double
    /// Stop after this many ticks (nil: run until cancelled).
    public let limit: Int?

    public init(
        symbols: [String: Decimal], ticksPerSecond: Double, seed: UInt64, volatility: Double = 0.001, limit: Int? = nil
    ) {
        startPrices = symbols
        self.ticksPerSecond = ticksPerSecond
        self.seed = seed
        self.volatility = volatility
        self.limit = limit
    }

    public var name: String { "synthetic (\(startPrices.count) symbols, \(ticksPerSecond) ticks/s, seed \(seed))" }

    /// The walk itself, as a pure value: `next(at:)` gives the following tick.
    public struct Walk: Sendable {
        var prices: [(symbol: String, cents: Int64)]
        var random: SplitMix64
        var index = 0
        let volatility: Double

        public init(startPrices: [String: Decimal], seed: UInt64, volatility: Double) {
            prices = startPrices.sorted { $0.key < $1.key }.map { symbol, price in
                (symbol, Int64(truncating: NSDecimalNumber(decimal: ExactDecimal.rounded(price * 100, scale: 0))))
            }
            random = SplitMix64(seed: seed)
            self.volatility = volatility
        }

        public mutating func next(at date: Date) -> Tick {
            let slot = index % prices.count
            index += 1
            var cents = prices[slot].cents
            // A uniform draw scaled to the volatility, quantized to whole cents.
            let move = (random.nextUnit() * 2 - 1) * volatility * 1.732 * Double(cents)
            cents = max(1, cents + Int64(move.rounded()))
            prices[slot].cents = cents
            let price = Decimal(cents) / 100
            let size = Decimal(Int(random.next() % 500) + 1)
            return Tick(
                symbol: prices[slot].symbol, price: price, at: date, bid: Decimal(max(1, cents - 1)) / 100,
                ask: Decimal(cents + 1) / 100, size: size, kind: .trade)
        }
    }

    public func run(_ emit: @Sendable (Tick) async -> Void) async throws {
        guard !startPrices.isEmpty else { return }
        var walk = Walk(startPrices: startPrices, seed: seed, volatility: volatility)
        let clock = ContinuousClock()
        let start = clock.now
        var count = 0
        while !Task.isCancelled {
            if let limit, count >= limit { return }
            if ticksPerSecond > 0 {
                let due = start + .seconds(Double(count) / ticksPerSecond)
                if due > clock.now { try await Task.sleep(until: due, clock: clock) }
            } else if count % 256 == 0 {
                await Task.yield()
            }
            await emit(walk.next(at: Date()))
            count += 1
        }
    }
}

/// SplitMix64: a small, fast, seedable generator (not for secrets).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A draw in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

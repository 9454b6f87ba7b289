import Foundation
import Synchronization

/// What a validated order trades: typed fields, exact decimals, consistent prices.
/// `OrderValidation` makes it from an `OrderTicket`; it travels inside `Order`.
public struct OrderTerms: Sendable, Equatable {
    public var symbol: String
    public var qty: Decimal
    public var side: Side
    public var type: OrderType
    public var timeInForce: TimeInForce
    public var limitPrice: Decimal?
    public var stopPrice: Decimal?
    /// A trailing stop's trail in dollars (`trail_price`); it or `trailPercent`, never both.
    public var trailPrice: Decimal?
    /// A trailing stop's trail in percent of the best price (`trail_percent`, e.g. 2.5).
    public var trailPercent: Decimal?
    /// The dollar amount a notional order asked for (`notional`). Admission turns
    /// it into `qty` (the amount over the price it would fill at, rounded down to
    /// ``OrderRules/quantityFractionDigits``), so every venue trades a quantity;
    /// this keeps what the member asked.
    public var notional: Decimal?
    /// The order may fill outside the regular session (`extended_hours`).
    public var extendedHours: Bool

    /// Terms as given; market day orders unless told otherwise.
    public init(
        symbol: String, qty: Decimal, side: Side, type: OrderType = .market, timeInForce: TimeInForce = .day,
        limitPrice: Decimal? = nil, stopPrice: Decimal? = nil, trailPrice: Decimal? = nil,
        trailPercent: Decimal? = nil, notional: Decimal? = nil, extendedHours: Bool = false
    ) {
        self.symbol = symbol
        self.qty = qty
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.limitPrice = limitPrice
        self.stopPrice = stopPrice
        self.trailPrice = trailPrice
        self.trailPercent = trailPercent
        self.notional = notional
        self.extendedHours = extendedHours
    }

    /// `buy 10 AAPL limit day limit 145.5`: the terms in one line (audit log, logs).
    public var summary: String {
        var text =
            "\(side.rawValue) \(ExactDecimal.plain(qty)) \(symbol) \(type.rawValue) \(timeInForce.rawValue)"
        if let limitPrice { text += " limit \(ExactDecimal.plain(limitPrice))" }
        if let stopPrice { text += " stop \(ExactDecimal.plain(stopPrice))" }
        if let trailPrice { text += " trail \(ExactDecimal.plain(trailPrice))" }
        if let trailPercent { text += " trail \(ExactDecimal.plain(trailPercent))%" }
        if let notional { text += " notional \(ExactDecimal.plain(notional))" }
        if extendedHours { text += " extended_hours" }
        return text
    }
}

/// An order the desk admitted: its id (also the broker's client order id), the
/// member and strategy it belongs to, its terms and when it was placed. The one
/// type that goes from admission through the ledger's journal to the broker.
public struct Order: Sendable, Equatable {
    /// The desk's id for the order; brokers know it as the client order id, so
    /// a resubmission can never place it twice.
    public var id: String
    /// The member the order is booked to.
    public var member: String
    /// The strategy that placed it; empty when the member placed it directly.
    public var strategy: String
    public var terms: OrderTerms
    /// When the desk admitted it (day orders expire at that day's close).
    public var placedAt: Date
    /// The venue it goes to (the placing token's venue).
    public var venue: String
    /// How it relates to other orders (`order_class`).
    public var orderClass: OrderClass
    /// For an exit of a bracket, oco or oto: the id of the order it belongs to
    /// (the entry; for oco, the take-profit limit). Nil for the order itself.
    public var parentId: String?
    /// Its exits, each an order of its own (own id, member, strategy, venue and
    /// `parentId` = this order's id), admitted and journaled with it: for a
    /// bracket the take profit (a limit) then the stop loss (a stop or
    /// stop-limit); for oto the one exit; for oco the stop loss (this order is
    /// the take profit). Empty for a simple order.
    public var legs: [Order]

    /// An order as admitted.
    public init(
        id: String, member: String, strategy: String = "", terms: OrderTerms, placedAt: Date, venue: String = "",
        orderClass: OrderClass = .simple, parentId: String? = nil, legs: [Order] = []
    ) {
        self.id = id
        self.member = member
        self.strategy = strategy
        self.terms = terms
        self.placedAt = placedAt
        self.venue = venue
        self.orderClass = orderClass
        self.parentId = parentId
        self.legs = legs
    }

    /// What its legs are journaled as: `new` for an oco's stop loss (it works at
    /// once, beside its take profit), `held` for a bracket's or oto's exits (they
    /// wait for the entry to fill).
    public var legStatus: OrderStatus { orderClass == .oco ? .new : .held }
}

/// An order still working, as the ledger has it: what a broker takes back after
/// a restart (with what had filled already).
public struct WorkingOrder: Sendable, Equatable {
    public var order: Order
    public var progress: OrderProgress

    /// The order and its progress so far.
    public init(order: Order, progress: OrderProgress) {
        self.order = order
        self.progress = progress
    }
}

/// Something that happened to one order: what a broker reports, the ledger
/// books and the order desk follows. The one order event type of the desk.
public struct OrderUpdate: Sendable, Equatable {
    public var orderId: String
    public var event: OrderEvent
    /// For a fill, its id (`FillID`): the ledger books the same fill id once.
    public var fillId: String?
    public var at: Date

    /// An update that is not a fill (a fill has `fill(orderId:qty:price:cumulativeQty:at:)`).
    public init(orderId: String, event: OrderEvent, at: Date) {
        self.orderId = orderId
        self.event = event
        self.fillId = nil
        self.at = at
    }

    /// A fill of `qty` at `price` that brings the order's filled quantity to
    /// `cumulativeQty`, under the one fill id scheme.
    public static func fill(orderId: String, qty: Decimal, price: Decimal, cumulativeQty: Decimal, at: Date)
        -> OrderUpdate
    {
        var update = OrderUpdate(orderId: orderId, event: .fill(qty: qty, price: price), at: at)
        update.fillId = FillID.make(orderId: orderId, cumulativeQty: cumulativeQty)
        return update
    }
}

/// The one fill id scheme, for every broker: `<order id>:<cumulative filled
/// qty after the fill>`. However a fill is learned (an answer, a stream event,
/// a poll, a paper match), and however often, it has the same id.
public enum FillID {
    /// The id of the fill that brings `orderId`'s filled quantity to `cumulativeQty`.
    public static func make(orderId: String, cumulativeQty: Decimal) -> String {
        "\(orderId):\(ExactDecimal.plain(cumulativeQty))"
    }
}

/// Where decisions get the time and new order ids: the wall clock and random
/// UUIDs by default, a simulated clock and counted ids in a backtest.
public protocol DeskClock: Sendable {
    /// The time now.
    func now() -> Date
    /// A new order id, never given before.
    func newOrderId() -> String
}

/// The real clock: `Date()`, and order ids that are time-ordered UUIDs (version 7,
/// lowercase): 48 bits of Unix milliseconds, then 74 random bits. Ids made later
/// sort later, so the ledger's indexes on order ids grow at their end instead of
/// dirtying a random page per order.
public struct WallClock: DeskClock {
    /// The wall clock.
    public init() {}
    /// `Date()`.
    public func now() -> Date { Date() }
    /// A new UUIDv7, lowercase.
    public func newOrderId() -> String { Self.uuid7(at: Date()) }

    /// A UUIDv7 for `date` with random bits from `generator`.
    public static func uuid7<Generator: RandomNumberGenerator>(at date: Date, using generator: inout Generator)
        -> String
    {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let random = generator.next() as UInt64
        let more = generator.next() as UInt64
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - UInt64(index)))) }
        bytes[6] = 0x70 | UInt8(truncatingIfNeeded: random & 0x0f)
        bytes[7] = UInt8(truncatingIfNeeded: random >> 8)
        bytes[8] = 0x80 | UInt8(truncatingIfNeeded: (random >> 16) & 0x3f)
        for index in 9..<16 { bytes[index] = UInt8(truncatingIfNeeded: more >> (8 * UInt64(index - 9))) }
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// A UUIDv7 for `date`, with system randomness.
    public static func uuid7(at date: Date) -> String {
        var generator = SystemRandomNumberGenerator()
        return uuid7(at: date, using: &generator)
    }
}

/// The clock of a backtest: the time is the data's (whoever drives the run sets
/// it), and order ids are UUIDv7 of that time with bits from a seeded generator,
/// so the same inputs give the same ids, run after run.
public final class SimulatedClock: DeskClock {
    private struct State {
        var now: Date
        var generator: SplitMix64
    }
    private let state: Mutex<State>

    /// A clock at `start` whose ids come from `seed`.
    public init(start: Date, seed: UInt64 = 0) {
        state = Mutex(State(now: start, generator: SplitMix64(seed: seed)))
    }

    /// The data's time.
    public func now() -> Date { state.withLock { $0.now } }

    /// A UUIDv7 of the data's time, deterministic in the seed and the order of calls.
    public func newOrderId() -> String {
        state.withLock { state in WallClock.uuid7(at: state.now, using: &state.generator) }
    }

    /// Moves the clock to `date` (never backwards: a date before the current time is ignored).
    public func set(_ date: Date) {
        state.withLock { state in if date > state.now { state.now = date } }
    }
}

/// SplitMix64 (Steele, Lea and Flood): a small, fast, seedable generator for
/// reproducible simulations (the synthetic feed, a backtest's order ids). Not for secrets.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (no modulo bias: draws again below the threshold), the same
    /// on every machine (a sweep's random samples).
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let threshold = (0 &- bound) % bound
        while true {
            let value = next()
            if value >= threshold { return value % bound }
        }
    }
}

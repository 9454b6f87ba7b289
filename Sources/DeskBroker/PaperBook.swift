import DeskCore
import Foundation

/// The paper broker's matching rules, as a pure value type: last prices, resting
/// orders, and what each price, order, cancel or session close does to them.
///
/// - Market orders fill at the last price, limited to the last tick's size when it
///   had one; no price yet is a refusal.
/// - Limit orders fill when marketable (buy: price ≤ limit; sell: price ≥ limit) at
///   the market price, otherwise they rest until a tick crosses.
/// - Stop orders trigger when the price reaches the stop (buy: ≥; sell: ≤) and then
///   act as market orders; stop-limit orders then act as limit orders.
/// - ioc fills what it can at once and cancels the rest; fok fills completely at
///   once or is canceled; day orders expire at the session close; gtc rests.
///
/// With `fills: .nextTick` (backtests) a new order is not matched against the
/// price it was placed at: it first meets the next tick of its symbol, and ioc and
/// fok are decided there. `slippageBps` moves the price of market fills (and of
/// triggered stops) against the order: up for buys, down for sells.
public struct PaperBook: Sendable {
    /// Which price a new order first meets.
    public enum FillModel: String, Sendable, Equatable, CaseIterable {
        /// The last price, at once (the live paper broker).
        case sameTick = "same-tick"
        /// The next tick of its symbol after the one the strategy reacted to (no look-ahead).
        case nextTick = "next-tick"
    }
    /// The last trade seen for a symbol.
    public struct Quote: Sendable, Equatable {
        public var price: Decimal
        /// Shares available at that price, when the feed said.
        public var size: Decimal?
    }

    struct Resting: Sendable {
        var order: Order
        var filled: Decimal
        var triggered: Bool
        var fills: Int
        /// Placed but not yet met by a price (next-tick fills).
        var waiting = false
        var remaining: Decimal { order.terms.qty - filled }
    }

    /// Which price a new order first meets.
    public let fills: FillModel
    /// Basis points market fills move against the order.
    public let slippageBps: Decimal

    public private(set) var quotes: [String: Quote] = [:]
    private var resting: [String: Resting] = [:]
    private var arrival: [String] = []
    /// Orders seen lately (a resubmission of one changes nothing); bounded, so a
    /// long-running desk does not remember every order it ever took.
    private var known = RecentIds(capacity: 20_000)

    /// A book with no prices yet.
    public init(fills: FillModel = .sameTick, slippageBps: Decimal = 0) {
        self.fills = fills
        self.slippageBps = slippageBps
    }

    /// Orders still working, oldest first.
    public var workingOrderIds: [String] { arrival.filter { resting[$0] != nil } }

    /// A new order. Returns accepted / fill / cancel events, or a refusal.
    public mutating func submit(_ order: Order, now: Date) -> Result<[OrderUpdate], BrokerError> {
        if resting[order.id] != nil || known.contains(order.id) {
            // Idempotent: a resubmission changes nothing.
            return .success([])
        }
        let terms = order.terms
        if terms.type == .market && quotes[terms.symbol] == nil && fills == .sameTick {
            return .failure(
                .refused(
                    reason:
                        "no price is known for \(terms.symbol) yet: the paper broker fills market orders at the last price from the market data feed; wait for a tick or send a limit order",
                    kind: .invalidOrder))
        }
        known.insert(order.id)
        var entry = Resting(order: order, filled: 0, triggered: terms.stopPrice == nil, fills: 0)
        var updates = [OrderUpdate(orderId: order.id, event: .accepted, at: now)]
        if fills == .nextTick {
            entry.waiting = true
            resting[order.id] = entry
            arrival.append(order.id)
            return .success(updates)
        }
        if let quote = quotes[terms.symbol] {
            updates += match(&entry, quote: quote, now: now)
        }
        if let end = Self.endOfFirstMatch(entry, now: now) {
            updates.append(end)
        } else if entry.remaining > 0 {
            resting[order.id] = entry
            arrival.append(order.id)
        }
        return .success(updates)
    }

    /// What ioc and fok do once an order has met its first price with `remaining`
    /// left: cancel it; nil for orders that rest.
    private static func endOfFirstMatch(_ entry: Resting, now: Date) -> OrderUpdate? {
        guard entry.remaining > 0 else { return nil }
        switch entry.order.terms.timeInForce {
        case .ioc:
            return OrderUpdate(
                orderId: entry.order.id, event: .canceled(reason: "ioc: the unfilled rest was canceled"), at: now)
        case .fok:
            // match() never partly fills fok, so nothing traded.
            return OrderUpdate(
                orderId: entry.order.id,
                event: .canceled(reason: "fok: the order could not be filled completely at once"),
                at: now)
        case .day, .gtc:
            return nil
        }
    }

    /// Cancels a working order.
    public mutating func cancel(orderId: String, now: Date) -> Result<[OrderUpdate], BrokerError> {
        guard resting.removeValue(forKey: orderId) != nil else {
            return .failure(
                .refused(reason: "order \(orderId) is not working at the paper broker", kind: .notCancelable))
        }
        arrival.removeAll { $0 == orderId }
        return .success([OrderUpdate(orderId: orderId, event: .canceled(reason: nil), at: now)])
    }

    /// Forgets an order entirely (the desk could not record it): it no longer
    /// rests, and a later submit of the same id is a new order.
    public mutating func forget(orderId: String) {
        resting[orderId] = nil
        arrival.removeAll { $0 == orderId }
        known.remove(orderId)
    }

    /// Takes back open orders after a restart; they work again from the next price.
    public mutating func restore(_ orders: [WorkingOrder]) {
        for working in orders where resting[working.order.id] == nil && !known.contains(working.order.id) {
            let order = working.order
            known.insert(order.id)
            resting[order.id] = Resting(
                order: order, filled: working.progress.filledQty, triggered: order.terms.stopPrice == nil, fills: 0)
            arrival.append(order.id)
        }
    }

    /// A new price for `symbol`: resting orders that it crosses fill, oldest first.
    public mutating func price(symbol: String, price: Decimal, size: Decimal?, now: Date) -> [OrderUpdate] {
        let quote = Quote(price: price, size: size)
        quotes[symbol] = quote
        var updates: [OrderUpdate] = []
        for orderId in arrival {
            guard var entry = resting[orderId], entry.order.terms.symbol == symbol else { continue }
            updates += match(&entry, quote: quote, now: now)
            if entry.waiting {
                entry.waiting = false
                if let end = Self.endOfFirstMatch(entry, now: now) {
                    updates.append(end)
                    resting[orderId] = nil
                    continue
                }
            }
            resting[orderId] = entry.remaining > 0 ? entry : nil
        }
        arrival.removeAll { resting[$0] == nil }
        return updates
    }

    /// The session closed: every working day order expires. With next-tick fills, a day
    /// order placed on its symbol's last line of the session has met no line yet; Alpaca
    /// would have worked it at once during the session, so it first meets that last line
    /// (the session's last price of its symbol) at the close, and only what it could not
    /// fill there expires. The strategy learns either way: a fill, or `expired`.
    public mutating func closeSession(now: Date) -> [OrderUpdate] {
        var updates: [OrderUpdate] = []
        for orderId in arrival {
            guard var entry = resting[orderId], entry.order.terms.timeInForce == .day, entry.waiting,
                let quote = quotes[entry.order.terms.symbol]
            else { continue }
            entry.waiting = false
            updates += match(&entry, quote: quote, now: now)
            resting[orderId] = entry.remaining > 0 ? entry : nil
        }
        let expiring = arrival.filter { resting[$0]?.order.terms.timeInForce == .day }
        for orderId in expiring { resting[orderId] = nil }
        arrival.removeAll { resting[$0] == nil }
        return updates + expiring.map { OrderUpdate(orderId: $0, event: .expired, at: now) }
    }

    private func fillPrice(_ entry: Resting, at price: Decimal) -> Decimal? {
        let terms = entry.order.terms
        let marketable: Bool
        switch (terms.type, terms.side) {
        // Trailing stops are priced as stops once triggered (issue 26 gives them their own trigger).
        case (.market, _), (.stop, _), (.trailingStop, _):
            guard slippageBps != 0 else { return price }
            let move = price * slippageBps / 10_000
            return terms.side == .buy ? price + move : price - move
        case (.limit, .buy), (.stopLimit, .buy): marketable = price <= terms.limitPrice!
        case (.limit, .sell), (.stopLimit, .sell): marketable = price >= terms.limitPrice!
        }
        return marketable ? price : nil
    }

    private func match(_ entry: inout Resting, quote: Quote, now: Date) -> [OrderUpdate] {
        let terms = entry.order.terms
        if !entry.triggered, let stop = terms.stopPrice {
            entry.triggered = terms.side == .buy ? quote.price >= stop : quote.price <= stop
            if !entry.triggered { return [] }
        }
        guard let price = fillPrice(entry, at: quote.price) else { return [] }
        let available = quote.size ?? entry.remaining
        let qty = min(entry.remaining, available)
        if qty <= 0 { return [] }
        if terms.timeInForce == .fok && qty < entry.remaining { return [] }
        entry.filled += qty
        entry.fills += 1
        return [
            .fill(orderId: entry.order.id, qty: qty, price: price, cumulativeQty: entry.filled, at: now)
        ]
    }
}

/// The last `capacity` ids inserted, oldest forgotten first.
public struct RecentIds: Sendable {
    public let capacity: Int
    private var members: Set<String> = []
    private var ring: [String] = []
    private var oldest = 0

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public func contains(_ id: String) -> Bool { members.contains(id) }

    /// Forgets `id` (its slot in the ring is reused later).
    public mutating func remove(_ id: String) { members.remove(id) }

    public mutating func insert(_ id: String) {
        guard members.insert(id).inserted else { return }
        if ring.count < capacity {
            ring.append(id)
        } else {
            members.remove(ring[oldest])
            ring[oldest] = id
            oldest = (oldest + 1) % capacity
        }
    }

    public var count: Int { members.count }
}

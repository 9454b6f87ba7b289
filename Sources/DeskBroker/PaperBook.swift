import DeskCore
import Foundation

/// The paper broker's matching rules, as a pure value type: each symbol's last
/// trade and standing quote, working orders, and what each market data line,
/// order, cancel, replace or session close does to them.
///
/// Prices an order meets (its *offer*): a buy meets the ask and the shares
/// quoted there (`ask_size`), a sell the bid (`bid_size`), once the symbol has a
/// quote; without one on that side, the last trade and its size (as before
/// quotes). A size not given is unlimited. Each line offers its sizes afresh;
/// orders on one line fill oldest first and share them.
///
/// - Market orders fill at the offer, up to its size; the rest fills on later
///   lines at their own offers. No offer at all (nothing traded or quoted yet)
///   is a refusal with same-tick fills.
/// - Limit orders fill where the offer is marketable (buy: ask ≤ limit; sell:
///   bid ≥ limit). On the first line an order meets it fills at the offer (the
///   better of its limit and the quote); afterwards, resting, at its limit. Without
///   a quote they fill at the trade price, as before quotes.
/// - Stop and stop-limit orders trigger on trades only (buy: trade ≥ stop; sell:
///   trade ≤ stop), then act as market or new limit orders.
/// - Trailing stops follow trade prices from the first line they meet: a sell's
///   high-water mark, a buy's low. The stop is mark × (1 − trail_percent/100) or
///   mark − trail_price (buy: mark × (1 + trail_percent/100) or mark + trail_price);
///   a trade at or through it triggers a market order.
/// - A stop triggered with `fills: .nextTick` fills from the next line of its symbol.
/// - ioc fills what it can on its first line and cancels the rest; fok fills
///   completely on its first line or is canceled; day orders expire at the
///   session close; gtc rests.
///
/// Order classes (`Order.legs`): a bracket's or oto's exits are held until the
/// entry has filled completely, then each is accepted and works from the next
/// line; an entry that ends otherwise (canceled, expired, ioc/fok) takes its held
/// exits with it. A bracket's two exits, and an oco order with its stop loss,
/// cancel each other: the first fill of one — a partial one too, as Alpaca treats
/// any execution of one leg — cancels the other, and the filled one works on for
/// its rest. Canceling one of them cancels the other.
///
/// With `fills: .nextTick` (backtests) a new order is not matched against the
/// prices it was placed at: it first meets the next line of its symbol (quote-only
/// lines included), and ioc and fok are decided there. `slippageBps` moves the
/// price of market fills (and of triggered stops) against the order: up for buys,
/// down for sells.
public struct PaperBook: Sendable {
    /// Which price a new order first meets.
    public enum FillModel: String, Sendable, Equatable, CaseIterable {
        /// The standing quote or last trade, at once (the live paper broker).
        case sameTick = "same-tick"
        /// The next line of its symbol after the one the strategy reacted to (no look-ahead).
        case nextTick = "next-tick"
    }

    /// What the book knows of a symbol: its last trade and its standing quote.
    public struct Market: Sendable, Equatable {
        /// The last trade's price.
        public var lastTrade: Decimal?
        /// The last trade's size, when the feed said.
        public var tradeSize: Decimal?
        /// The last quote; it stands until the next line that carries one.
        public var quote: PriceBook.Quote?

        /// What an order on `side` meets: the quoted side, else the last trade.
        func offer(_ side: Side) -> Offer? {
            if let price = quote?.price(side) { return Offer(price: price, size: quote?.size(side), quoted: true) }
            return lastTrade.map { Offer(price: $0, size: tradeSize, quoted: false) }
        }
    }

    /// A price an order can fill at, the shares there (nil: unlimited), and whether it is a quote.
    struct Offer {
        var price: Decimal
        var size: Decimal?
        var quoted: Bool
    }

    struct Resting: Sendable {
        var order: Order
        var filled: Decimal
        var triggered: Bool
        /// Placed but not yet met by a line (next-tick fills).
        var waiting = false
        /// Has not yet met its first line (a marketable limit fills at the quote there).
        var fresh = true
        /// A trailing stop's best price so far (sell: highest trade; buy: lowest).
        var mark: Decimal?
        /// Orders sharing a group cancel each other (a bracket's exits; an oco order and its stop loss).
        var group: String?
        var remaining: Decimal { order.terms.qty - filled }
    }

    /// Which price a new order first meets.
    public let fills: FillModel
    /// Basis points market fills move against the order.
    public let slippageBps: Decimal

    /// Each symbol's last trade and quote.
    public private(set) var markets: [String: Market] = [:]
    private var resting: [String: Resting] = [:]
    private var arrival: [String] = []
    /// Exits waiting for their entry to fill completely, by the entry's id.
    private var held: [String: [Order]] = [:]
    /// Orders seen lately (a resubmission of one changes nothing); bounded, so a
    /// long-running desk does not remember every order it ever took.
    private var known = RecentIds(capacity: 20_000)

    /// A book with no prices yet.
    public init(fills: FillModel = .sameTick, slippageBps: Decimal = 0) {
        self.fills = fills
        self.slippageBps = slippageBps
    }

    /// Orders still working, oldest first (held exits are not working yet).
    public var workingOrderIds: [String] { arrival.filter { resting[$0] != nil } }

    /// A working trailing stop's mark: the best trade since it met its first line
    /// (sell: the highest, buy: the lowest); nil for other orders or before one.
    public func trailingMark(of orderId: String) -> Decimal? {
        guard let entry = resting[orderId], entry.order.terms.type == .trailingStop else { return nil }
        return entry.mark
    }

    /// Exits held until `entryId` fills completely.
    public func heldOrderIds(entry entryId: String) -> [String] { held[entryId]?.map(\.id) ?? [] }

    /// A new order with its legs. Returns accepted / fill / cancel events (the
    /// legs' under their own ids), or a refusal.
    public mutating func submit(_ order: Order, now: Date) -> Result<[OrderUpdate], BrokerError> {
        if resting[order.id] != nil || known.contains(order.id) {
            // Idempotent: a resubmission changes nothing.
            return .success([])
        }
        let terms = order.terms
        if terms.type == .market && markets[terms.symbol]?.offer(terms.side) == nil && fills == .sameTick {
            return .failure(
                .refused(
                    reason:
                        "no price is known for \(terms.symbol) yet: the paper broker fills market orders at the quote (a buy at the ask, a sell at the bid), else at the last trade, from the market data feed; wait for a tick or send a limit order",
                    kind: .invalidOrder))
        }
        for leg in order.legs where order.orderClass != .oco {
            known.insert(leg.id)
            held[order.id, default: []].append(leg)
        }
        var updates = take(order, group: order.orderClass == .oco ? order.id : nil, mark: nil, now: now)
        for leg in order.legs where order.orderClass == .oco {
            if updates.contains(where: { $0.orderId == order.id && $0.fillId != nil }) {
                known.insert(leg.id)
                updates.append(
                    OrderUpdate(
                        orderId: leg.id, event: .canceled(reason: "oco: order \(order.id) of the same group filled"),
                        at: now))
            } else {
                updates += take(leg, group: order.id, mark: nil, now: now)
            }
        }
        return .success(updates)
    }

    /// Takes `order` as a new working order: accepted, then (same-tick) matched at
    /// once against the standing quote or last trade. A trailing stop starts from
    /// `mark`, else from the last trade.
    private mutating func take(_ order: Order, group: String?, mark: Decimal?, now: Date) -> [OrderUpdate] {
        known.insert(order.id)
        let terms = order.terms
        var entry = Resting(order: order, filled: 0, triggered: !Self.hasTrigger(terms), group: group)
        var updates = [OrderUpdate(orderId: order.id, event: .accepted, at: now)]
        arrival.append(order.id)
        if fills == .nextTick {
            entry.waiting = true
            entry.mark = mark
            resting[order.id] = entry
            return updates
        }
        let market = markets[terms.symbol] ?? Market()
        if terms.type == .trailingStop { entry.mark = mark ?? market.lastTrade }
        if !entry.triggered, let trade = market.lastTrade {
            entry.triggered = Self.triggers(entry, trade: trade)
        }
        var used: [Side: Decimal] = [:]
        if entry.triggered { updates += match(&entry, market.offer(terms.side), used: &used, now: now) }
        entry.fresh = false
        resting[order.id] = entry
        var activated: [Resting] = []
        updates += afterFill(order.id, now: now, activated: &activated)
        if let ending = Self.endOfFirstMatch(entry, now: now) {
            updates.append(ending)
            updates += end(order.id, now: now)
        } else if entry.remaining <= 0 {
            resting[order.id] = nil
        }
        arrival.removeAll { resting[$0] == nil }
        for leg in activated {
            resting[leg.order.id] = leg
            arrival.append(leg.order.id)
        }
        return updates
    }

    /// Stop, stop-limit and trailing-stop orders wait for a trigger.
    private static func hasTrigger(_ terms: OrderTerms) -> Bool {
        terms.stopPrice != nil || terms.type == .trailingStop
    }

    /// The stop level of a trailing stop at its mark.
    static func trailingStop(_ terms: OrderTerms, mark: Decimal) -> Decimal {
        let sign: Decimal = terms.side == .sell ? -1 : 1
        if let percent = terms.trailPercent { return mark * (1 + sign * percent / 100) }
        return mark + sign * (terms.trailPrice ?? 0)
    }

    /// Whether a trade at `trade` triggers the stop of `entry` (its mark already moved).
    private static func triggers(_ entry: Resting, trade: Decimal) -> Bool {
        let terms = entry.order.terms
        let stop: Decimal
        if terms.type == .trailingStop {
            guard let mark = entry.mark else { return false }
            stop = trailingStop(terms, mark: mark)
        } else {
            guard let stopPrice = terms.stopPrice else { return true }
            stop = stopPrice
        }
        return terms.side == .buy ? trade >= stop : trade <= stop
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

    /// `orderId` ended without filling completely: it stops working, and the exits
    /// it holds are canceled.
    private mutating func end(_ orderId: String, now: Date) -> [OrderUpdate] {
        resting[orderId] = nil
        let legs = held.removeValue(forKey: orderId) ?? []
        return legs.map {
            OrderUpdate(
                orderId: $0.id, event: .canceled(reason: "its entry \(orderId) ended without filling completely"),
                at: now)
        }
    }

    /// After `orderId` filled (or tried to): an exit's fill cancels the others of
    /// its group; a completely filled entry releases its held exits into `activated`.
    private mutating func afterFill(_ orderId: String, now: Date, activated: inout [Resting]) -> [OrderUpdate] {
        guard let entry = resting[orderId], entry.filled > 0 else { return [] }
        var updates: [OrderUpdate] = []
        if let group = entry.group {
            for other in arrival where other != orderId && resting[other]?.group == group {
                resting[other] = nil
                updates.append(
                    OrderUpdate(
                        orderId: other, event: .canceled(reason: "oco: order \(orderId) of the same group filled"),
                        at: now))
            }
            resting[orderId]?.group = nil
        }
        if entry.remaining <= 0, let legs = held.removeValue(forKey: orderId) {
            for leg in legs {
                updates.append(OrderUpdate(orderId: leg.id, event: .accepted, at: now))
                activated.append(
                    Resting(
                        order: leg, filled: 0, triggered: !Self.hasTrigger(leg.terms), fresh: false,
                        group: legs.count > 1 ? orderId : nil))
            }
        }
        return updates
    }

    /// Cancels a working order (with what it holds), or a held exit.
    public mutating func cancel(orderId: String, now: Date) -> Result<[OrderUpdate], BrokerError> {
        if let entryId = held.first(where: { $0.value.contains { $0.id == orderId } })?.key {
            held[entryId]?.removeAll { $0.id == orderId }
            return .success([OrderUpdate(orderId: orderId, event: .canceled(reason: nil), at: now)])
        }
        guard let entry = resting.removeValue(forKey: orderId) else {
            return .failure(
                .refused(reason: "order \(orderId) is not working at the paper broker", kind: .notCancelable))
        }
        var updates = [OrderUpdate(orderId: orderId, event: .canceled(reason: nil), at: now)]
        if let group = entry.group {
            for other in arrival where resting[other]?.group == group {
                resting[other] = nil
                updates.append(
                    OrderUpdate(
                        orderId: other,
                        event: .canceled(reason: "oco: order \(orderId) of the same group was canceled"),
                        at: now))
            }
        }
        updates += end(orderId, now: now)
        arrival.removeAll { resting[$0] == nil }
        return .success(updates)
    }

    /// Replaces the working order `orderId` by `order` (a new id, the terms it
    /// works from now: the desk gives it the quantity still to fill). The old one
    /// ends `replaced`; the new one takes its place (its held exits, its group, a
    /// trailing stop's mark) and meets prices as a new order does.
    public mutating func replace(orderId: String, with order: Order, now: Date) -> Result<[OrderUpdate], BrokerError> {
        if known.contains(order.id) { return .success([]) }
        guard let old = resting[orderId] else {
            if let entryId = held.first(where: { $0.value.contains { $0.id == orderId } })?.key,
                let index = held[entryId]?.firstIndex(where: { $0.id == orderId })
            {
                known.insert(order.id)
                held[entryId]?[index] = order
                return .success([
                    OrderUpdate(orderId: orderId, event: .replaced(by: order.id), at: now),
                    OrderUpdate(orderId: order.id, event: .accepted, at: now),
                ])
            }
            return .failure(
                .refused(reason: "order \(orderId) is not working at the paper broker", kind: .notCancelable))
        }
        guard order.terms.symbol == old.order.terms.symbol, order.terms.side == old.order.terms.side else {
            return .failure(
                .refused(
                    reason: "a replacement must trade the same symbol and side as order \(orderId)",
                    kind: .invalidOrder))
        }
        resting[orderId] = nil
        arrival.removeAll { $0 == orderId }
        if let legs = held.removeValue(forKey: orderId) { held[order.id] = legs }
        let replaced = OrderUpdate(orderId: orderId, event: .replaced(by: order.id), at: now)
        return .success([replaced] + take(order, group: old.group, mark: old.mark, now: now))
    }

    /// Forgets an order entirely (the desk could not record it): it no longer
    /// rests, and a later submit of the same id is a new order.
    public mutating func forget(orderId: String) {
        resting[orderId] = nil
        arrival.removeAll { $0 == orderId }
        known.remove(orderId)
        for leg in held.removeValue(forKey: orderId) ?? [] {
            resting[leg.id] = nil
            known.remove(leg.id)
        }
    }

    /// Takes back open orders after a restart; they work again from the next
    /// line (a trailing stop's mark restarts there). An order comes with its open
    /// legs: a bracket's or oto's are held again, an oco's work; an exit whose
    /// entry is final comes on its own and works, in a group with its sibling.
    public mutating func restore(_ orders: [WorkingOrder]) {
        for working in orders where resting[working.order.id] == nil && !known.contains(working.order.id) {
            let order = working.order
            known.insert(order.id)
            let group = order.parentId ?? (order.orderClass == .oco ? order.id : nil)
            resting[order.id] = Resting(
                order: order, filled: working.progress.filledQty, triggered: !Self.hasTrigger(order.terms),
                fresh: false, group: group)
            arrival.append(order.id)
            for leg in order.legs where !known.contains(leg.id) {
                known.insert(leg.id)
                if order.orderClass == .oco {
                    resting[leg.id] = Resting(
                        order: leg, filled: 0, triggered: !Self.hasTrigger(leg.terms), fresh: false, group: order.id)
                    arrival.append(leg.id)
                } else {
                    held[order.id, default: []].append(leg)
                }
            }
        }
    }

    /// A trade at `price` of `size` with no quote: see ``line(_:now:)``.
    public mutating func price(symbol: String, price: Decimal, size: Decimal?, now: Date) -> [OrderUpdate] {
        line(PriceBook.Line(symbol: symbol, price: price, size: size, at: now), now: now)
    }

    /// A new line of market data for its symbol: the market moves, then working
    /// orders meet it, oldest first, sharing its sizes.
    public mutating func line(_ line: PriceBook.Line, now: Date) -> [OrderUpdate] {
        var market = markets[line.symbol] ?? Market()
        if let quote = line.quote { market.quote = quote }
        if line.isTrade {
            market.lastTrade = line.price
            market.tradeSize = line.size
        }
        markets[line.symbol] = market
        var updates: [OrderUpdate] = []
        var used: [Side: Decimal] = [:]
        var activated: [Resting] = []
        for orderId in arrival {
            guard var entry = resting[orderId], entry.order.terms.symbol == line.symbol else { continue }
            let terms = entry.order.terms
            if line.isTrade && terms.type == .trailingStop && !entry.triggered {
                let mark = entry.mark ?? line.price
                entry.mark = terms.side == .sell ? max(mark, line.price) : min(mark, line.price)
            }
            var justTriggered = false
            if !entry.triggered && line.isTrade {
                entry.triggered = Self.triggers(entry, trade: line.price)
                justTriggered = entry.triggered
                if justTriggered { entry.fresh = true }
            }
            // Triggered with next-tick fills, it fills from the next line.
            if entry.triggered && !(justTriggered && fills == .nextTick) {
                // A quote-only line offers only what it quotes.
                let offer = market.offer(terms.side).flatMap { $0.quoted || line.isTrade ? $0 : nil }
                updates += match(&entry, offer, used: &used, now: now)
                entry.fresh = false
            }
            resting[orderId] = entry
            updates += afterFill(orderId, now: now, activated: &activated)
            if entry.waiting {
                resting[orderId]?.waiting = false
                if let ending = Self.endOfFirstMatch(entry, now: now) {
                    updates.append(ending)
                    updates += end(orderId, now: now)
                    continue
                }
            }
            if let current = resting[orderId], current.remaining <= 0 { resting[orderId] = nil }
        }
        arrival.removeAll { resting[$0] == nil }
        for entry in activated {
            resting[entry.order.id] = entry
            arrival.append(entry.order.id)
        }
        return updates
    }

    /// The session closed: every working day order expires (and what its entries
    /// hold). With next-tick fills, a day order placed on its symbol's last line of
    /// the session has met no line yet; Alpaca would have worked it at once during
    /// the session, so it first meets that last line (the standing quote, else the
    /// last trade) at the close, and only what it could not fill there expires. The
    /// strategy learns either way: a fill, or `expired`.
    public mutating func closeSession(now: Date) -> [OrderUpdate] {
        var updates: [OrderUpdate] = []
        var used: [Side: Decimal] = [:]
        var activated: [Resting] = []
        for orderId in arrival {
            guard var entry = resting[orderId], entry.order.terms.timeInForce == .day, entry.waiting,
                let market = markets[entry.order.terms.symbol]
            else { continue }
            entry.waiting = false
            if entry.triggered { updates += match(&entry, market.offer(entry.order.terms.side), used: &used, now: now) }
            entry.fresh = false
            resting[orderId] = entry
            updates += afterFill(orderId, now: now, activated: &activated)
            if entry.remaining <= 0 { resting[orderId] = nil }
        }
        arrival.removeAll { resting[$0] == nil }
        for entry in activated {
            resting[entry.order.id] = entry
            arrival.append(entry.order.id)
        }
        let expiring = arrival.filter { resting[$0]?.order.terms.timeInForce == .day }
        for orderId in expiring {
            updates.append(OrderUpdate(orderId: orderId, event: .expired, at: now))
            updates += end(orderId, now: now)
        }
        arrival.removeAll { resting[$0] == nil }
        return updates
    }

    /// The price `entry` fills at against `offer`, nil when it does not fill there.
    private func fillPrice(_ entry: Resting, at offer: Offer) -> Decimal? {
        let terms = entry.order.terms
        let marketable: Bool
        switch (terms.type, terms.side) {
        case (.market, _), (.stop, _), (.trailingStop, _):
            guard slippageBps != 0 else { return offer.price }
            let move = offer.price * slippageBps / 10_000
            return terms.side == .buy ? offer.price + move : offer.price - move
        case (.limit, .buy), (.stopLimit, .buy): marketable = offer.price <= terms.limitPrice!
        case (.limit, .sell), (.stopLimit, .sell): marketable = offer.price >= terms.limitPrice!
        }
        guard marketable else { return nil }
        // A resting limit fills at its limit when the quote reaches it; a new one at the quote.
        return offer.quoted && !entry.fresh ? terms.limitPrice! : offer.price
    }

    private func match(_ entry: inout Resting, _ offer: Offer?, used: inout [Side: Decimal], now: Date)
        -> [OrderUpdate]
    {
        guard let offer, let price = fillPrice(entry, at: offer) else { return [] }
        let side = entry.order.terms.side
        let available = offer.size.map { $0 - used[side, default: 0] } ?? entry.remaining
        let qty = min(entry.remaining, available)
        if qty <= 0 { return [] }
        if entry.order.terms.timeInForce == .fok && qty < entry.remaining { return [] }
        if offer.size != nil { used[side, default: 0] += qty }
        entry.filled += qty
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

import DeskCore
import Foundation

/// May this order go, and what does it reserve? The order desk's decisions as a
/// pure state machine, in the shape of `AlpacaDataSession` and `PaperBook`: it
/// owns the kill switches, the members' rate buckets, the open-order
/// reservations and the exposure they add up to; it takes time and ids as
/// inputs and returns what to do. `OrderDesk` performs the I/O it is told to
/// and reports back (`journaled`, `journalFailed`, `recorded`, `booked`).
///
/// Rules, in the order they are checked: the ticket must validate; no kill
/// switch may be on for the whole desk or the member; the member's rate bucket
/// must have a token; then `RiskCheck` against the member's position and every
/// order of theirs still open, **including orders admitted and not yet written
/// or booked**, so concurrent orders can never jointly pass a position or
/// open-orders limit; then, for a member with a capital allocation, the
/// buying-power rule (`CapitalRule`: the part of the order that opens or adds to
/// a position must fit in the allocation's cash less what open orders and shorts
/// already hold). Notional, buying power and what an order reserves all value it
/// at the worst price it can fill at (`OrderValuation`: never the price it names
/// when the market is worse, so a buy stop or sell limit at 0.01 is worth the
/// market). An admitted order reserves its quantity (and, for capital, its value)
/// until it is final.
///
/// Books are per venue: positions, reservations, exposure, open-order counts and
/// capital are keyed by (member, venue), so a member's paper book never limits or
/// funds their live one. An order's venue is its placing token's (`admit`'s
/// `venue`; empty means the default venue) and it is validated with that venue's
/// order rules.
///
/// A kill switch takes effect at once: it refuses every later order, and an
/// order journaled but not yet sent to its broker is stopped (recorded as
/// rejected), never sent. An order a broker already decided is not undone.
public struct Admission: Sendable {
    /// A refusal, before anything about the order is written but its audit line.
    public enum Refusal: Sendable, Equatable {
        /// The ticket is malformed.
        case invalid(OrderValidationError)
        /// A kill switch is on.
        case halted(String)
        /// Over the member's order rate.
        case rateLimited(String)
        /// A pre-trade limit refused it.
        case risk(RiskRejection)
    }

    /// What to do with an order request.
    public enum Decision: Sendable, Equatable {
        /// Refuse it, for this reason.
        case refuse(Refusal)
        /// Write the order (and, for a broker that decides in this process, send it
        /// first and write what it decided with it); its quantity is reserved.
        case journal(Order)
    }

    /// What to do with an order once its journal entry is durable.
    public enum AfterJournal: Sendable, Equatable {
        /// Send it to the broker.
        case send(Order)
        /// A kill switch came on meanwhile: book it rejected with this reason, do not send it.
        case stop(Order, reason: String)
        /// Nothing: the order is not one this machine admitted.
        case none
    }

    /// Where an admitted order is.
    enum Phase: Sendable, Equatable {
        /// Admitted; its first write is not durable yet. Broker updates for it wait.
        case writing
        /// Written; updates are booked as they come.
        case working
    }

    struct OpenOrder: Sendable, Equatable {
        var order: Order
        var remaining: Decimal
        var phase: Phase
        var held: [OrderUpdate] = []
        /// What its remainder is valued at for buying power: the worst price it
        /// could fill at when it was admitted (`OrderValuation`).
        var price: Decimal?
        /// Whether it counts in risk and capital: an exit (a leg) does not, so a
        /// bracket counts once, as its entry.
        var counted = true
    }

    struct Key: Hashable, Sendable {
        var member: String
        var venue: String
        var symbol: String
    }

    /// One member's book on one venue.
    struct Book: Hashable, Sendable {
        var member: String
        var venue: String
    }

    /// The desk's risk configuration.
    public let policy: RiskPolicy
    /// What the default venue accepts (and any venue without rules of its own in `venueRules`).
    public let rules: OrderRules
    /// What each venue accepts, by name.
    public let venueRules: [String: OrderRules]
    /// The venue of an order placed without one.
    public let defaultVenue: String
    private(set) var halts: [String: HaltRecord] = [:]
    private var buckets: [String: TokenBucket] = [:]
    private var positions: [Key: Decimal] = [:]
    /// What each member holds with its cost and realized profit: the cash side of capital.
    private var holdings: [Key: Position] = [:]
    private var open: [String: OpenOrder] = [:]
    private var openCounts: [Book: Int] = [:]
    private var openQty: [Key: (buy: Decimal, sell: Decimal)] = [:]

    /// The scope of a kill switch that stops every member.
    public static let wholeDesk = HaltRecord.wholeDesk

    /// A machine with nothing open, no positions and no kill switch on; orders
    /// without a venue go to `defaultVenue`, each validated with its venue's
    /// `venueRules` (`rules` when it has none there).
    public init(
        policy: RiskPolicy, rules: OrderRules, venueRules: [String: OrderRules] = [:], defaultVenue: String = ""
    ) {
        self.policy = policy
        self.rules = rules
        self.venueRules = venueRules
        self.defaultVenue = defaultVenue
    }

    /// The venue an order placed for `venue` goes to: the default one when empty.
    public func venue(_ venue: String) -> String { venue.isEmpty ? defaultVenue : venue }

    // MARK: State at start

    /// Takes the ledger's view at start: positions per member and symbol, the
    /// orders still open (working, with what has filled), and the kill switches on.
    public mutating func restore(
        positions: [(member: String, symbol: String, qty: Decimal)], open: [WorkingOrder], halts: [HaltRecord]
    ) {
        restore(holdings: positions.map { ($0.member, $0.symbol, Position(qty: $0.qty)) }, open: open, halts: halts)
    }

    /// `restore(holdings:open:halts:)` from the ledger's position records, each in its venue's book.
    public mutating func restore(books: [PositionRecord], open: [WorkingOrder], halts: [HaltRecord]) {
        restore(
            holdings: books.map { (Book(member: $0.member, venue: venue($0.venue)), $0.symbol, $0.position) },
            open: open, halts: halts)
    }

    /// `restore(positions:open:halts:)` with each holding's cost basis and realized
    /// profit, so that members' cash (capital) starts where the ledger left it.
    public mutating func restore(
        holdings: [(member: String, symbol: String, position: Position)], open: [WorkingOrder], halts: [HaltRecord]
    ) {
        restore(
            holdings: holdings.map { (Book(member: $0.member, venue: defaultVenue), $0.symbol, $0.position) },
            open: open, halts: halts)
    }

    private mutating func restore(
        holdings: [(book: Book, symbol: String, position: Position)], open: [WorkingOrder], halts: [HaltRecord]
    ) {
        self.positions = [:]
        self.holdings = [:]
        for holding in holdings {
            let key = Key(member: holding.book.member, venue: holding.book.venue, symbol: holding.symbol)
            self.positions[key, default: 0] += holding.position.qty
            self.holdings[key] = holding.position
        }
        self.open = [:]
        openCounts = [:]
        openQty = [:]
        for working in open where working.progress.status.isOpen {
            reserve(
                working.order, remaining: working.progress.remainingQty, phase: .working,
                counted: working.order.parentId == nil)
        }
        self.halts = Dictionary(halts.map { ($0.scope, $0) }, uniquingKeysWith: { $1 })
    }

    // MARK: Orders

    /// Decides on an order request from `member` (and `strategy`) for `venue`
    /// (empty: the default venue), given the id it gets if admitted, the time, and
    /// the symbol's last price (what the order is valued at, with its own prices:
    /// `OrderValuation`) and quote (`bid`, `ask`: what a notional order's quantity
    /// is worked out at). A bracket's, oco's or oto's exits get their ids from
    /// `newLegId` and count nowhere in risk and capital: the order counts once.
    public mutating func admit(
        _ ticket: OrderTicket, member: String, strategy: String, venue: String = "", orderId: String, now: Date,
        lastPrice: Decimal?, bid: Decimal? = nil, ask: Decimal? = nil,
        newLegId: () -> String = { UUID().uuidString.lowercased() }
    ) -> Decision {
        let venue = self.venue(venue)
        let book = Book(member: member, venue: venue)
        var valid: ValidOrder
        switch OrderValidation.validateOrder(ticket, rules: venueRules[venue] ?? rules) {
        case .success(let order): valid = order
        case .failure(let error): return .refuse(.invalid(error))
        }
        if let notional = valid.terms.notional {
            switch Self.notionalQuantity(
                notional, terms: valid.terms, fillPrice: (valid.terms.side == .buy ? ask : bid) ?? lastPrice,
                rules: venueRules[venue] ?? rules)
            {
            case .success(let qty): valid.terms.qty = qty
            case .failure(let error): return .refuse(.invalid(error))
            }
        }
        if valid.orderClass != .oco, valid.terms.type == .market, let lastPrice,
            let problem = valid.exits.problem(side: valid.exitSide, base: lastPrice, basis: "the last price")
        {
            return .refuse(.invalid(problem))
        }
        let terms = valid.terms
        if let message = haltMessage(member: member, venue: venue, strategy: strategy) {
            return .refuse(.halted(message))
        }
        let limits = policy.limits(for: member)
        if let rate = limits.ordersPerSecond {
            let burst = Double(limits.orderBurst ?? max(1, Int(rate)))
            let seconds = now.timeIntervalSinceReferenceDate
            var bucket = buckets[member] ?? TokenBucket(capacity: burst, refillPerSecond: rate, now: seconds)
            let allowed = bucket.take(now: seconds)
            buckets[member] = bucket
            if !allowed {
                return .refuse(
                    .rateLimited(
                        "order rate limit: at most \(ExactDecimal.plain(Decimal(rate))) orders per second (bursts of \(Int(burst))); slow down and retry"
                    ))
            }
        }
        if let rejection = RiskCheck.evaluate(
            terms, limits: limits,
            exposure: exposure(member: member, venue: venue, symbol: terms.symbol, lastPrice: lastPrice))
        {
            return .refuse(.risk(rejection))
        }
        let valuation = OrderValuation(terms, lastPrice: lastPrice)
        if let capital = policy.capital(for: member, venue: venue) {
            let claims = self.claims(book)
            if let refusal = CapitalRule.check(
                terms, valuation: valuation,
                statement: CapitalRule.statement(capital: capital, holdings: holdings(book), working: claims),
                held: positions[Key(member: member, venue: venue, symbol: terms.symbol)] ?? 0, working: claims)
            {
                return .refuse(.risk(RiskRejection(limit: "buying_power", message: refusal.message)))
            }
        }
        let order = valid.order(
            id: orderId, member: member, strategy: strategy, placedAt: now, venue: venue, newLegId: newLegId)
        reserve(order, remaining: terms.qty, phase: .writing, price: valuation.price)
        for leg in order.legs { reserve(leg, remaining: leg.terms.qty, phase: .writing, counted: false) }
        return .journal(order)
    }

    /// Decides on replacing the working order `oldId` by `ticket` (the whole new
    /// order, with the id `orderId`): the new order is admitted like any other
    /// (validation, kill switch, rate, risk, capital) as if the old one's
    /// reservation were released, and when it is, the old one's is released and
    /// the new one's taken in the same step (no check-await-act). The old order
    /// stays followed, counting nowhere, until its `replaced` is booked;
    /// `replaceFailed` undoes the step when the venue does not replace it.
    public mutating func replace(
        _ oldId: String, by ticket: OrderTicket, orderId: String, now: Date, lastPrice: Decimal?,
        bid: Decimal? = nil, ask: Decimal? = nil
    ) -> Decision {
        guard let old = open[oldId], old.counted || old.order.parentId != nil, old.phase == .working else {
            return .refuse(
                .invalid(
                    OrderValidationError(
                        field: "order_id", message: "order \(oldId) is not working: only working orders can be replaced"
                    )))
        }
        var trial = self
        trial.uncount(oldId)
        var decision = trial.admit(
            ticket, member: old.order.member, strategy: old.order.strategy, venue: old.order.venue,
            orderId: orderId, now: now, lastPrice: lastPrice, bid: bid, ask: ask)
        if case .journal(var order) = decision, let parentId = old.order.parentId {
            // An exit replaced: the new one is an exit of the same order, counting nowhere.
            trial.uncount(order.id)
            order.orderClass = old.order.orderClass
            order.parentId = parentId
            trial.open[order.id]?.order = order
            decision = .journal(order)
        }
        if case .journal = decision { self = trial }
        return decision
    }

    /// The venue did not replace `oldId` by `newId`: the new order's reservation
    /// is released and the old one counts again with what it has left.
    public mutating func replaceFailed(_ oldId: String, newId: String) {
        release(newId)
        guard var entry = open[oldId], !entry.counted, entry.order.parentId == nil else { return }
        entry.counted = true
        open[oldId] = entry
        openCounts[book(of: entry.order), default: 0] += 1
        adjustOpen(entry.order, by: entry.remaining)
    }

    /// Stops counting `orderId` in risk and capital (it is being replaced); it stays followed.
    private mutating func uncount(_ orderId: String) {
        guard var entry = open[orderId], entry.counted else { return }
        entry.counted = false
        open[orderId] = entry
        adjustOpen(entry.order, by: -entry.remaining)
        openCounts[book(of: entry.order), default: 1] -= 1
    }

    /// A notional order's quantity (the seam's rule): `notional` over the price it
    /// would fill at (`fillPrice`: the ask for a buy, the bid for a sell, else the
    /// last trade), rounded down to ``OrderRules/quantityFractionDigits``.
    public static func notionalQuantity(_ notional: Decimal, terms: OrderTerms, fillPrice: Decimal?, rules: OrderRules)
        -> Result<Decimal, OrderValidationError>
    {
        let amount = ExactDecimal.plain(notional)
        guard let fillPrice, fillPrice > 0 else {
            return .failure(
                OrderValidationError(
                    field: "notional",
                    message:
                        "no price is known for \(terms.symbol) yet, and a notional order's quantity is worked out from it; send qty instead"
                ))
        }
        let qty = ExactDecimal.rounded(
            notional / fillPrice, scale: OrderRules.quantityFractionDigits, rounding: .down)
        if qty <= 0 {
            return .failure(
                OrderValidationError(
                    field: "notional",
                    message: "notional \(amount) buys no shares of \(terms.symbol) at \(ExactDecimal.plain(fillPrice))")
            )
        }
        if qty > rules.maximumQuantity {
            return .failure(
                OrderValidationError(
                    field: "notional",
                    message:
                        "notional \(amount) is \(ExactDecimal.plain(qty)) shares, more than the desk accepts (at most \(ExactDecimal.plain(rules.maximumQuantity)))"
                ))
        }
        return .success(qty)
    }

    /// The order's journal entry is durable (a broker outside the process): send
    /// it, unless a kill switch came on meanwhile.
    public mutating func journaled(_ orderId: String) -> AfterJournal {
        guard var entry = open[orderId] else { return .none }
        entry.phase = .working
        open[orderId] = entry
        for leg in entry.order.legs { open[leg.id]?.phase = .working }
        if let message = haltMessage(
            member: entry.order.member, venue: venue(entry.order.venue), strategy: entry.order.strategy)
        {
            return .stop(entry.order, reason: "not sent: \(message)")
        }
        return .send(entry.order)
    }

    /// The order could not be written: nothing of it exists; its reservation is released.
    public mutating func journalFailed(_ orderId: String) {
        for leg in open[orderId]?.order.legs ?? [] { release(leg.id) }
        release(orderId)
    }

    /// The order is recorded in the state its broker decided (one transaction):
    /// returns the broker's later updates for it that waited meanwhile, to book now.
    public mutating func recorded(_ orderId: String, progress: OrderProgress) -> [OrderUpdate] {
        guard var entry = open[orderId] else { return [] }
        let held = entry.held
        entry.held = []
        entry.phase = .working
        open[orderId] = entry
        follow(orderId, progress: progress, filled: progress.filledQty)
        return held
    }

    /// A broker update arrived: the updates to book now. An update for an order
    /// whose first write is not yet durable waits for it (`recorded` returns it).
    public mutating func arrived(_ update: OrderUpdate) -> [OrderUpdate] {
        guard var entry = open[update.orderId], entry.phase == .writing else { return [update] }
        entry.held.append(update)
        open[update.orderId] = entry
        return []
    }

    /// The ledger booked an update: `progress` is the order after it, `filled`
    /// the quantity of the fill it booked (if any). A fill moves quantity from
    /// open to held; a final status releases what is left of the reservation.
    /// `price` is the fill's price: what the fill cost or brought in (the member's cash).
    public mutating func booked(
        _ orderId: String, member: String, venue: String = "", symbol: String, side: Side, progress: OrderProgress,
        filled: Decimal?, price: Decimal? = nil
    ) {
        let key = Key(member: member, venue: self.venue(venue), symbol: symbol)
        if let filled, filled > 0 {
            var holding = holdings[key] ?? Position()
            if let price {
                holding.apply(side: side, qty: filled, price: price)
            } else {
                holding = Position(
                    qty: holding.qty + (side == .buy ? filled : -filled), costBasis: holding.costBasis,
                    realizedPnL: holding.realizedPnL)
            }
            holdings[key] = holding
        }
        if let filled, open[orderId] == nil {
            // Filled after it stopped being followed (a late fill of a closed order).
            positions[key, default: 0] += side == .buy ? filled : -filled
            return
        }
        follow(orderId, progress: progress, filled: filled)
    }

    /// A corporate action changed `member`'s holding in `symbol` on `venue` from `before` to `after`.
    public mutating func corporateAction(
        member: String, venue: String, symbol: String, before: Position, after: Position
    ) {
        let key = Key(member: member, venue: self.venue(venue), symbol: symbol)
        positions[key, default: 0] += after.qty - before.qty
        holdings[key] = after
    }

    // MARK: Kill switches

    /// Turns a kill switch on, at once (before it is durable: the safe side).
    public mutating func halt(_ halt: HaltRecord) {
        halts[halt.scope] = halt
    }

    /// The kill switch on for `scope`, if any.
    public func halt(scope: String) -> HaltRecord? { halts[scope] }

    /// Turns a kill switch off once the ledger has it off, unless it was switched
    /// on again meanwhile (`expected` is the halt the resume was asked for).
    public mutating func resume(scope: String, expected: HaltRecord?) {
        if halts[scope] == expected { halts[scope] = nil }
    }

    /// The kill switches on, by scope.
    public var activeHalts: [HaltRecord] { halts.values.sorted { $0.scope < $1.scope } }

    // MARK: Exposure

    /// What `member` holds and has open in `symbol` on `venue` (empty: the default venue), with `lastPrice`.
    public func exposure(member: String, venue: String = "", symbol: String, lastPrice: Decimal?) -> RiskExposure {
        let venue = self.venue(venue)
        let key = Key(member: member, venue: venue, symbol: symbol)
        let quantities = openQty[key] ?? (0, 0)
        return RiskExposure(
            position: positions[key] ?? 0, openBuyQty: quantities.buy, openSellQty: quantities.sell,
            openOrders: openCounts[Book(member: member, venue: venue)] ?? 0, lastPrice: lastPrice)
    }

    /// Orders admitted and not yet final.
    public var openOrderIds: Set<String> { Set(open.keys) }

    // MARK: Capital

    /// `member`'s cash, equity and buying power on `venue` (empty: the default
    /// venue) under their allocation there (nil: none; the figures then start
    /// from 0); `lastPrice` values what they hold.
    public func capitalStatement(member: String, venue: String = "", lastPrice: (String) -> Decimal?)
        -> CapitalStatement
    {
        let book = Book(member: member, venue: self.venue(venue))
        let held = holdings(book).map {
            CapitalRule.Holding(symbol: $0.symbol, position: $0.position, lastPrice: lastPrice($0.symbol))
        }
        return CapitalRule.statement(
            capital: policy.capital(for: member, venue: book.venue), holdings: held, working: claims(book))
    }

    /// What one book holds by symbol, flat ones too (their realized profit is cash), valued at cost.
    private func holdings(_ book: Book) -> [CapitalRule.Holding] {
        holdings.filter { $0.key.member == book.member && $0.key.venue == book.venue }
            .sorted { $0.key.symbol < $1.key.symbol }
            .map { CapitalRule.Holding(symbol: $0.key.symbol, position: $0.value, lastPrice: nil) }
    }

    /// What one book's open orders claim, oldest first.
    private func claims(_ book: Book) -> [CapitalRule.Claim] {
        open.values.filter { $0.counted && $0.order.member == book.member && venue($0.order.venue) == book.venue }
            .sorted { ($0.order.placedAt, $0.order.id) < ($1.order.placedAt, $1.order.id) }
            .map {
                CapitalRule.Claim(
                    symbol: $0.order.terms.symbol, side: $0.order.terms.side, remainingQty: $0.remaining,
                    price: $0.price)
            }
    }

    // MARK: Helpers

    /// Why an order of `member`'s `strategy` on `venue` may not go: the first kill
    /// switch on among the scopes that cover it (desk, venue, member, strategy); nil when none is.
    public func haltMessage(member: String, venue: String, strategy: String) -> String? {
        let scopes = HaltRecord.scopes(member: member, venue: self.venue(venue), strategy: strategy)
        guard let halt = scopes.lazy.compactMap({ halts[$0] }).first else { return nil }
        return
            "kill switch: trading is halted for \(HaltRecord.describe(scope: halt.scope))\(halt.reason.map { " (\($0))" } ?? ""); an admin or officer can resume it"
    }

    private mutating func reserve(
        _ order: Order, remaining: Decimal, phase: Phase, price: Decimal? = nil, counted: Bool = true
    ) {
        guard open[order.id] == nil else { return }
        // Restored orders (no price known at start) are valued by their own prices where those bound them.
        open[order.id] = OpenOrder(
            order: order, remaining: remaining, phase: phase,
            price: price ?? OrderValuation(order.terms, lastPrice: nil).price, counted: counted)
        guard counted else { return }
        openCounts[book(of: order), default: 0] += 1
        adjustOpen(order, by: remaining)
    }

    private mutating func follow(_ orderId: String, progress: OrderProgress, filled: Decimal?) {
        guard var entry = open[orderId] else { return }
        let order = entry.order
        if let filled, filled > 0 {
            positions[key(of: order), default: 0] += order.terms.side == .buy ? filled : -filled
        }
        let remaining = progress.status.isOpen ? progress.remainingQty : 0
        if entry.counted { adjustOpen(order, by: remaining - entry.remaining) }
        entry.remaining = remaining
        if progress.status.isFinal && entry.held.isEmpty {
            open[orderId] = nil
            if entry.counted { openCounts[book(of: order), default: 1] -= 1 }
        } else {
            open[orderId] = entry
        }
    }

    private mutating func release(_ orderId: String) {
        guard let entry = open.removeValue(forKey: orderId), entry.counted else { return }
        adjustOpen(entry.order, by: -entry.remaining)
        openCounts[book(of: entry.order), default: 1] -= 1
    }

    private func book(of order: Order) -> Book { Book(member: order.member, venue: venue(order.venue)) }

    private func key(of order: Order) -> Key {
        Key(member: order.member, venue: venue(order.venue), symbol: order.terms.symbol)
    }

    private mutating func adjustOpen(_ order: Order, by delta: Decimal) {
        let key = key(of: order)
        var quantities = openQty[key] ?? (0, 0)
        if order.terms.side == .buy { quantities.buy += delta } else { quantities.sell += delta }
        openQty[key] = quantities
    }
}

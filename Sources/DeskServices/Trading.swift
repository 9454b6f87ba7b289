import DeskCore
import DeskIdentity
import DeskLedger
import DeskOrders
import Foundation

/// Trading for a caller, whatever face asked: place an order (optionally under
/// a client order id), cancel one or all, close a position or all of them.
/// Everything happens on the caller's venue (their token's): orders go there,
/// cancel-all and close touch that venue's book only.
/// Every order goes through the one order desk (validation, kill switch, rate
/// and risk limits, capital, journal, broker, ledger); the rules here are the
/// desk's (client order ids unique per member, what cancel-all and close
/// touch), the shapes and status codes are each face's.
public struct Trading: Sendable {
    let desk: OrderDesk
    let ledger: Ledger
    let orderRules: OrderRules

    /// Trading through `desk`, reading `ledger`; `orderRules` are the default
    /// venue's (whether a position closes in fractions), each other venue's come from `desk`.
    public init(desk: OrderDesk, ledger: Ledger, orderRules: OrderRules) {
        self.desk = desk
        self.ledger = ledger
        self.orderRules = orderRules
    }

    /// The venue the caller trades on: their token's, the default venue when it names none.
    public func venue(of caller: Caller) -> String {
        caller.venue.isEmpty ? desk.venues.defaultVenue.name : caller.venue
    }

    /// The order rules of the caller's venue.
    func orderRules(of caller: Caller) -> OrderRules {
        desk.venues[venue(of: caller)]?.orderRules ?? orderRules
    }

    // MARK: Placing

    /// Places `ticket` for the caller (booked to their member and strategy).
    /// A `clientOrderId` is reserved first, so it stays unique per member: bound
    /// to the order when one was recorded, released when none was.
    /// Throws only when the ledger cannot reserve or bind the id.
    public func place(_ ticket: OrderTicket, clientOrderId: String? = nil, by caller: Caller) async throws
        -> Result<OrderRecord, OrderRefusal>
    {
        let member = caller.member
        if let clientOrderId, try await !ledger.reserveClientOrderId(clientOrderId, member: member) {
            return .failure(.clientOrderIdTaken(clientOrderId))
        }
        let placement = await desk.place(ticket, member: member, strategy: caller.strategy, venue: caller.venue)
        if let clientOrderId {
            if let order = placement.order {
                try await ledger.bindClientOrderId(clientOrderId, member: member, orderId: order.orderId)
            } else {
                try await ledger.releaseClientOrderId(clientOrderId, member: member)
            }
        }
        if let refusal = OrderRefusal(placement) { return .failure(refusal) }
        guard let order = placement.order else { return .failure(.failed("no order was recorded")) }
        return .success(order)
    }

    /// A working trailing stop's high-water mark (a buy's low) as its venue follows
    /// it; nil for other orders, final ones, or a venue that does not say.
    public func highWaterMark(of order: OrderRecord) -> Decimal? {
        guard order.orderType == .trailingStop, order.status.isOpen else { return nil }
        let venue = order.venue.isEmpty ? desk.venues.defaultVenue : desk.venues[order.venue]
        return venue?.highWaterMark(orderId: order.orderId)
    }

    // MARK: Replacing

    /// Replaces the caller's working order `orderId` by one with `changes`
    /// (Alpaca's replace), under a new `clientOrderId` when given (unique per member,
    /// as for `place`): the old order ends `replaced`, the new one is returned. A
    /// refusal leaves the old order working as it was.
    public func replace(
        _ orderId: String, with changes: ReplaceTicket, clientOrderId: String? = nil, by caller: Caller
    ) async throws -> Result<OrderRecord, ReplaceRefusal> {
        if changes.isEmpty && clientOrderId == nil { return .failure(.unchanged) }
        let member = caller.member
        if let clientOrderId, try await !ledger.reserveClientOrderId(clientOrderId, member: member) {
            return .failure(.refused(.clientOrderIdTaken(clientOrderId)))
        }
        let outcome = await desk.replace(
            orderId: orderId, with: changes, member: member, strategy: caller.strategy, isAdmin: false)
        let placed = outcome.placement?.order
        if let clientOrderId {
            if let placed {
                try await ledger.bindClientOrderId(clientOrderId, member: member, orderId: placed.orderId)
            } else {
                try await ledger.releaseClientOrderId(clientOrderId, member: member)
            }
        }
        switch outcome {
        case .notFound(let message): return .failure(.notFound(message))
        case .notReplaceable(let order, let message): return .failure(.notReplaceable(order, message))
        case .failed(let message): return .failure(.refused(.failed(message)))
        case .placed(_, let placement):
            if let refusal = OrderRefusal(placement) { return .failure(.refused(refusal)) }
            guard let order = placement.order else { return .failure(.refused(.failed("no order was recorded"))) }
            return .success(order)
        }
    }

    /// Records an order request whose body a face could not read (audit line and
    /// metrics), with what the face answered (`reportedStatus`).
    public func refuseMalformed(by caller: Caller, reportedStatus: Int?, message: String) async {
        await desk.refuseMalformed(
            member: caller.member, strategy: caller.strategy, reportedStatus: reportedStatus, message: message)
    }

    // MARK: The caller's capital

    /// The caller's capital on their venue as admission sees it now: cash, what is held and claimed, buying power.
    public func capital(of caller: Caller) async -> CapitalStatement {
        await desk.capitalStatement(member: caller.member, venue: venue(of: caller))
    }

    /// `member`'s capital on `venue` (an officer's or admin's read of anyone's book).
    public func capital(member: String, venue: String) async -> CapitalStatement {
        await desk.capitalStatement(member: member, venue: venue)
    }

    /// Whether a kill switch stops the caller's new orders (the desk's, their venue's, their member's or their strategy's).
    public func isHalted(_ caller: Caller) async -> Bool {
        await desk.isHalted(member: caller.member, venue: caller.venue, strategy: caller.strategy)
    }

    // MARK: Canceling

    /// Cancels `orderId` if it is still working and the caller's (an admin's:
    /// anyone's, unless `ownOrdersOnly`). Another member's order is "not found".
    public func cancel(_ orderId: String, by caller: Caller, ownOrdersOnly: Bool = false) async
        -> Result<OrderRecord, CancelRefusal>
    {
        switch await desk.cancel(
            orderId: orderId, member: caller.member, strategy: caller.strategy,
            isAdmin: caller.isAdmin && !ownOrdersOnly)
        {
        case .canceled(let order): .success(order)
        case .notFound(let message): .failure(.notFound(message))
        case .notCancelable(let order, let message): .failure(.notCancelable(order, message))
        case .failed(let message): .failure(.failed(message))
        }
    }

    /// What became of one order of a cancel-all.
    public struct CancelResult: Sendable {
        /// The order asked to cancel.
        public var orderId: String
        /// The order canceled, or why not.
        public var result: Result<OrderRecord, CancelRefusal>
    }

    /// Cancels every open order of the caller's own member on the caller's venue (an
    /// admin's too: their own only), newest first; one result per order, whatever became of the others.
    public func cancelAll(by caller: Caller) async throws -> [CancelResult] {
        let open = try await ledger.orders(
            OrderQuery(member: caller.member, status: .open, limit: OrderQuery.maximumLimit, venue: venue(of: caller))
        ).topLevel
        var results: [CancelResult] = []
        for order in open {
            results.append(
                CancelResult(
                    orderId: order.orderId, result: await cancel(order.orderId, by: caller, ownOrdersOnly: true)))
        }
        return results
    }

    // MARK: Closing positions

    /// Places the market order (day) that closes `amount` of the caller's
    /// position in `symbol`: selling a long, buying back a short. The exits still
    /// open on it (bracket, oco and oto legs) are canceled first, so none fires on
    /// a position that is gone.
    public func closePosition(_ symbol: String, amount: CloseAmount = .all, by caller: Caller) async throws
        -> Result<OrderRecord, OrderRefusal>
    {
        let held = try await ledger.positions(member: caller.member, venue: venue(of: caller)).first {
            $0.symbol == symbol && $0.qty != 0
        }
        guard let held else { return .failure(.noPosition(symbol: symbol)) }
        return try await close(held, amount: amount, by: caller)
    }

    /// What became of one position of a close-all.
    public struct CloseResult: Sendable {
        /// The position's symbol.
        public var symbol: String
        /// The closing order, or why none was placed.
        public var result: Result<OrderRecord, OrderRefusal>
    }

    /// Closes every open position of the caller, after canceling their open
    /// orders first when `cancelOrders`; one result per position.
    public func closeAll(cancelOrders: Bool, by caller: Caller) async throws -> [CloseResult] {
        if cancelOrders { _ = try await cancelAll(by: caller) }
        var results: [CloseResult] = []
        for held in try await ledger.positions(member: caller.member, venue: venue(of: caller)) where held.qty != 0 {
            results.append(CloseResult(symbol: held.symbol, result: try await close(held, amount: .all, by: caller)))
        }
        return results
    }

    private func close(_ held: PositionRecord, amount: CloseAmount, by caller: Caller) async throws
        -> Result<OrderRecord, OrderRefusal>
    {
        guard
            let ticket = Self.closingTicket(held.symbol, held: held.qty, amount: amount, rules: orderRules(of: caller))
        else {
            return .failure(.nothingToClose(symbol: held.symbol))
        }
        let exits = try await ledger.orders(
            OrderQuery(
                member: caller.member, status: .open, symbol: held.symbol, limit: OrderQuery.maximumLimit,
                venue: venue(of: caller))
        ).filter { $0.parentId != nil }
        for exit in exits { _ = await cancel(exit.orderId, by: caller, ownOrdersOnly: true) }
        return try await place(ticket, by: caller)
    }

    /// The market order (day) that closes `amount` of a position of `held`
    /// shares (negative: short); nil when that is less than the smallest order.
    public static func closingTicket(_ symbol: String, held: Decimal, amount: CloseAmount, rules: OrderRules)
        -> OrderTicket?
    {
        let qty = amount.quantity(of: held.magnitude, fractional: rules.allowsFractionalQuantity)
        guard held != 0, qty > 0 else { return nil }
        return OrderTicket(
            symbol: symbol, qty: ExactDecimal.plain(qty), side: held > 0 ? "sell" : "buy", orderType: "market",
            timeInForce: "day")
    }
}

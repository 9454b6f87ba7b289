import DeskAPI
import DeskBroker
import DeskCore
import DeskLedger
import DeskMarketData
import DeskOrders
import Foundation
import Hummingbird
import NIOCore

/// The Alpaca-compatible REST API (`AlpacaRoutes`): Alpaca's Trading API v2 and
/// the latest market data, every answer scoped to the calling member and every
/// order through the same pipeline as `POST /order` (validation, kill switch, rate
/// and risk limits, capital, journal, broker, ledger).
struct AlpacaController {
    let desk: OrderDesk
    let ledger: Ledger
    /// Where orders go (the default venue): its order rules.
    let venue: any Venue
    let prices: PriceBook
    let latest: LatestTicks
    let sessions: AlpacaSessions

    /// When this desk started: the accounts' `created_at`.
    static let startedAt = Date()
    /// Largest order body read.
    static let maximumBodySize = 64 * 1024

    func addRoutes(to router: some RouterMethods<MemberContext>) {
        router.on(AlpacaRoutes.placeOrder, use: place)
        router.on(AlpacaRoutes.orders, use: orders)
        router.on(AlpacaRoutes.cancelOrders, use: cancelAll)
        router.on(AlpacaRoutes.orderByClientId, use: orderByClientId)
        router.on(AlpacaRoutes.order, use: order)
        router.on(AlpacaRoutes.cancelOrder, use: cancel)
        router.on(AlpacaRoutes.replaceOrder, use: replace)
        router.on(AlpacaRoutes.positions, use: positions)
        router.on(AlpacaRoutes.closePositions, use: closeAll)
        router.on(AlpacaRoutes.position, use: position)
        router.on(AlpacaRoutes.closePosition, use: close)
        router.on(AlpacaRoutes.account, use: account)
        router.on(AlpacaRoutes.clock, use: clock)
        router.on(AlpacaRoutes.calendar, use: calendar)
        router.on(AlpacaRoutes.asset, use: asset)
        router.on(AlpacaRoutes.latestTrade) { request, context in try latestOne(request, context, kind: .trade) }
        router.on(AlpacaRoutes.latestQuote) { request, context in try latestOne(request, context, kind: .quote) }
        router.on(AlpacaRoutes.latestBar) { request, context in try latestOne(request, context, kind: .bar) }
        router.on(AlpacaRoutes.latestTrades) { request, context in try latestMany(request, kind: .trade) }
        router.on(AlpacaRoutes.latestQuotes) { request, context in try latestMany(request, kind: .quote) }
        router.on(AlpacaRoutes.latestBars) { request, context in try latestMany(request, kind: .bar) }
    }

    static let orderNotFound = AlpacaError(status: 404, message: "order not found")
    static let positionNotFound = AlpacaError(status: 404, message: "position does not exist")

    // MARK: Orders

    @Sendable func place(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: [])
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: Self.maximumBodySize) } catch is NIOTooManyBytesError {
            throw AlpacaError(status: 413, message: "the body is larger than \(Self.maximumBodySize / 1024) KiB")
        }
        let parsed: AlpacaOrderRequest
        switch AlpacaOrderRequest.parse(Array(buffer: body)) {
        case .success(let value): parsed = value
        case .failure(let error):
            await desk.refuseMalformed(
                member: context.caller.member, strategy: context.caller.strategy, status: error.httpStatus,
                message: error.message)
            throw error
        }
        let view = try await place(parsed.ticket, clientOrderId: parsed.clientOrderId, context: context)
        return AlpacaJSON.response(view)
    }

    /// Places `ticket` for the caller under `clientOrderId` (reserved first, so it stays unique per member).
    func place(_ ticket: OrderTicket, clientOrderId: String?, context: MemberContext) async throws
        -> AlpacaOrderView
    {
        let member = context.caller.member
        if let clientOrderId, try await !ledger.reserveClientOrderId(clientOrderId, member: member) {
            throw AlpacaError(status: 422, message: "client_order_id must be unique: \(clientOrderId) is taken")
        }
        let placement = await desk.place(ticket, member: member, strategy: context.caller.strategy)
        let record: OrderRecord? =
            switch placement {
            case .accepted(let record), .brokerRefused(let record, _, _), .stopped(let record, _): record
            default: nil
            }
        if let clientOrderId {
            if let record {
                try await ledger.bindClientOrderId(clientOrderId, member: member, orderId: record.orderId)
            } else {
                try await ledger.releaseClientOrderId(clientOrderId, member: member)
            }
        }
        context.requestLog.orderId = record?.orderId
        if let error = placement.alpacaError { throw error }
        guard let record else { throw AlpacaError(status: 500, message: "internal error: no order was recorded") }
        return AlpacaOrderView(record, clientOrderId: clientOrderId)
    }

    @Sendable func orders(_ request: Request, context: MemberContext) async throws -> Response {
        let query = try AlpacaOrdersQuery(QueryParameters(request))
        let status: OrderQuery.StatusFilter =
            switch query.status {
            case .open: .open
            case .closed: .closed
            case .all: .all
            }
        var records = try await ledger.orders(
            OrderQuery(member: context.caller.member, status: status, limit: OrderQuery.maximumLimit)
        ).filter {
            query.includes(status: $0.status, side: $0.side, symbol: $0.symbol, createdAt: $0.createdAt)
        }
        if query.ascending { records.reverse() }
        return AlpacaJSON.response(try await views(Array(records.prefix(query.limit))))
    }

    /// Alpaca views of `records`, with their client order ids.
    func views(_ records: [OrderRecord]) async throws -> [AlpacaOrderView] {
        let clientIds = try await ledger.clientOrderIds(orderIds: records.map(\.orderId))
        return records.map { AlpacaOrderView($0, clientOrderId: clientIds[$0.orderId]) }
    }

    /// The caller's order `id`, or Alpaca's 404.
    func ownOrder(_ id: String, context: MemberContext) async throws -> OrderRecord {
        context.requestLog.orderId = id
        guard let order = try await ledger.order(id: id), order.member == context.caller.member else {
            throw Self.orderNotFound
        }
        return order
    }

    @Sendable func order(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: ["nested"])
        _ = try AlpacaQuery.bool(QueryParameters(request), "nested")
        let order = try await ownOrder(try context.parameters.require("id"), context: context)
        return AlpacaJSON.response(try await views([order])[0])
    }

    @Sendable func orderByClientId(_ request: Request, context: MemberContext) async throws -> Response {
        let query = QueryParameters(request)
        try AlpacaQuery.check(query, allowed: ["client_order_id"])
        guard let clientOrderId = query.value("client_order_id"), !clientOrderId.isEmpty else {
            throw AlpacaError(status: 422, message: "client_order_id is required")
        }
        let member = context.caller.member
        let id = try await ledger.orderId(clientOrderId: clientOrderId, member: member) ?? clientOrderId
        let order = try await ownOrder(id, context: context)
        return AlpacaJSON.response(try await views([order])[0])
    }

    @Sendable func cancel(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: [])
        let order = try await ownOrder(try context.parameters.require("id"), context: context)
        if let error = await cancel(order.orderId, context: context) { throw error }
        return Response(status: .noContent)
    }

    /// Cancels one of the caller's orders; nil when the cancel was accepted.
    func cancel(_ orderId: String, context: MemberContext) async -> AlpacaError? {
        switch await desk.cancel(
            orderId: orderId, member: context.caller.member, strategy: context.caller.strategy, isAdmin: false)
        {
        case .canceled: nil
        case .notFound: Self.orderNotFound
        case .notCancelable(_, let message): AlpacaError(status: 422, message: "order is not cancelable: \(message)")
        case .failed(let message): AlpacaError(status: 503, message: message)
        }
    }

    @Sendable func cancelAll(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: [])
        return AlpacaJSON.response(try await cancelOpenOrders(context: context), status: AlpacaJSON.multiStatus)
    }

    /// Cancels every open order of the caller.
    func cancelOpenOrders(context: MemberContext) async throws -> [AlpacaCancelResult] {
        let open = try await ledger.orders(
            OrderQuery(member: context.caller.member, status: .open, limit: OrderQuery.maximumLimit))
        var results: [AlpacaCancelResult] = []
        for order in open {
            let error = await cancel(order.orderId, context: context)
            results.append(AlpacaCancelResult(id: order.orderId, status: error?.httpStatus ?? 200, body: error))
        }
        return results
    }

    @Sendable func replace(_ request: Request, context: MemberContext) async throws -> Response {
        _ = try await ownOrder(try context.parameters.require("id"), context: context)
        throw AlpacaReplaceRefusal.error
    }

    // MARK: Positions

    /// The caller's positions (not flat), with what their open orders already claim of each.
    func openPositions(context: MemberContext) async throws -> [AlpacaPositionView] {
        let member = context.caller.member
        let records = try await ledger.positions(member: member).filter { $0.qty != 0 }
        let open = try await ledger.orders(OrderQuery(member: member, status: .open, limit: OrderQuery.maximumLimit))
        return records.map { record in
            let closingSide: Side = record.qty > 0 ? .sell : .buy
            let held = open.filter { $0.symbol == record.symbol && $0.side == closingSide }
                .reduce(Decimal(0)) { $0 + $1.qty - $1.filledQty }
            return AlpacaPositionView(
                symbol: record.symbol, position: record.position, lastPrice: prices.lastPrice(record.symbol),
                heldForOrders: held)
        }
    }

    @Sendable func positions(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: [])
        return AlpacaJSON.response(try await openPositions(context: context))
    }

    /// The position a path names: a symbol, or the asset id the desk gives it.
    func ownPosition(_ request: Request, context: MemberContext) async throws -> AlpacaPositionView {
        let name = try context.parameters.require("symbol")
        guard
            let position = try await openPositions(context: context).first(where: {
                $0.symbol == name || $0.asset_id == name.lowercased()
            })
        else { throw Self.positionNotFound }
        return position
    }

    @Sendable func position(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: [])
        return AlpacaJSON.response(try await ownPosition(request, context: context))
    }

    @Sendable func close(_ request: Request, context: MemberContext) async throws -> Response {
        let amount = try AlpacaCloseQuery(QueryParameters(request))
        let position = try await ownPosition(request, context: context)
        return AlpacaJSON.response(try await close(position, amount: amount, context: context))
    }

    /// Places the market order that closes (part of) `position`.
    func close(_ position: AlpacaPositionView, amount: AlpacaCloseQuery, context: MemberContext) async throws
        -> AlpacaOrderView
    {
        guard case .success(let held) = ExactDecimal.parse(position.qty) else { throw Self.positionNotFound }
        let qty = amount.quantity(of: held.magnitude, fractional: venue.orderRules.allowsFractionalQuantity)
        guard qty > 0 else {
            throw AlpacaError(
                status: 422, message: "nothing to close: that is less than one share of \(position.symbol)")
        }
        let ticket = OrderTicket(
            symbol: position.symbol, qty: ExactDecimal.plain(qty), side: held > 0 ? "sell" : "buy",
            orderType: "market", timeInForce: "day")
        return try await place(ticket, clientOrderId: nil, context: context)
    }

    @Sendable func closeAll(_ request: Request, context: MemberContext) async throws -> Response {
        let query = QueryParameters(request)
        try AlpacaQuery.check(query, allowed: ["cancel_orders"])
        if try AlpacaQuery.bool(query, "cancel_orders") == true {
            _ = try await cancelOpenOrders(context: context)
        }
        var results: [AlpacaCloseResult] = []
        for position in try await openPositions(context: context) {
            do {
                let order = try await close(position, amount: AlpacaCloseQuery(), context: context)
                results.append(AlpacaCloseResult(symbol: position.symbol, status: 200, body: .order(order)))
            } catch let error as AlpacaError {
                results.append(
                    AlpacaCloseResult(symbol: position.symbol, status: error.httpStatus, body: .error(error)))
            }
        }
        return AlpacaJSON.response(results, status: AlpacaJSON.multiStatus)
    }

    // MARK: Account, clock, calendar, assets

    @Sendable func account(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: [])
        let member = context.caller.member
        return AlpacaJSON.response(
            AlpacaAccountView(
                member: member, statement: await desk.capitalStatement(member: member),
                halted: await desk.isHalted(member: member), createdAt: Self.startedAt))
    }

    @Sendable func clock(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: [])
        return AlpacaJSON.response(sessions.clock(at: Date()))
    }

    @Sendable func calendar(_ request: Request, context: MemberContext) async throws -> Response {
        let query = QueryParameters(request)
        try AlpacaQuery.check(query, allowed: ["start", "end", "date_type"])
        func day(_ name: String, default value: Date) throws(AlpacaError) -> Date {
            guard let raw = query.value(name) else { return value }
            guard let date = sessions.day(raw) else {
                throw AlpacaError(
                    status: 422, message: "\(name) \(OrderValidation.quoted(raw)) is not a date (2024-01-02)")
            }
            return date
        }
        let start = try day("start", default: Date())
        let end = try day("end", default: start.addingTimeInterval(30 * 86_400))
        return AlpacaJSON.response(sessions.calendar(from: start, to: end))
    }

    @Sendable func asset(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: [])
        let name = try context.parameters.require("symbol")
        guard (try? OrderValidation.validateSymbol(name)) != nil else {
            throw AlpacaError(status: 404, message: "asset not found for \(name)")
        }
        return AlpacaJSON.response(
            AlpacaAssetView(symbol: name, fractionable: venue.orderRules.allowsFractionalQuantity))
    }

    // MARK: Latest market data

    enum LatestKind {
        case trade, quote, bar

        var singular: String {
            switch self {
            case .trade: "trade"
            case .quote: "quote"
            case .bar: "bar"
            }
        }
    }

    /// `symbol`'s latest of `kind` as Alpaca's JSON value, or nil when the feed has none.
    func latestValue(_ symbol: String, kind: LatestKind) -> AlpacaLatestValue? {
        guard let latest = latest.latest(symbol) else { return nil }
        switch kind {
        case .trade:
            return latest.trade.map {
                .trade(AlpacaTradeView(price: $0.tick.price, size: $0.tick.size ?? 0, at: $0.tick.at, id: $0.number))
            }
        case .quote:
            guard let tick = latest.quote, let bid = tick.bid, let ask = tick.ask else { return nil }
            return .quote(AlpacaQuoteView(bid: bid, ask: ask, bidSize: 0, askSize: 0, at: tick.at))
        case .bar:
            guard let tick = latest.bar else { return nil }
            let bar = tick.bar
            return .bar(
                AlpacaBarView(
                    open: bar?.open ?? tick.price, high: bar?.high ?? tick.price, low: bar?.low ?? tick.price,
                    close: tick.price, volume: bar?.volume ?? tick.size ?? 0, at: tick.at))
        }
    }

    static let dataParameters = ["feed", "currency"]

    func latestOne(_ request: Request, _ context: MemberContext, kind: LatestKind) throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: Self.dataParameters)
        let symbol = try context.parameters.require("symbol")
        guard let value = latestValue(symbol, kind: kind) else {
            throw AlpacaError(
                status: 404, message: "no \(kind.singular) for \(symbol) yet: the desk's feed has not published one")
        }
        return AlpacaJSON.response(AlpacaLatestOne(symbol: symbol, key: kind.singular, value: value))
    }

    func latestMany(_ request: Request, kind: LatestKind) throws -> Response {
        let query = QueryParameters(request)
        try AlpacaQuery.check(query, allowed: ["symbols"] + Self.dataParameters)
        guard let raw = query.value("symbols"), !raw.isEmpty else {
            throw AlpacaError(status: 422, message: "symbols is required (AAPL,MSFT)")
        }
        var values: [String: AlpacaLatestValue] = [:]
        for symbol in raw.split(separator: ",").map(String.init) {
            values[symbol] = latestValue(symbol, kind: kind)
        }
        return AlpacaJSON.response(AlpacaLatestMany(key: kind.singular + "s", values: values))
    }
}

/// A latest trade, quote or bar.
enum AlpacaLatestValue: Encodable, Equatable, Sendable {
    case trade(AlpacaTradeView)
    case quote(AlpacaQuoteView)
    case bar(AlpacaBarView)

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .trade(let value): try value.encode(to: encoder)
        case .quote(let value): try value.encode(to: encoder)
        case .bar(let value): try value.encode(to: encoder)
        }
    }
}

/// `{"symbol": …, "<kind>": …}`.
typealias AlpacaLatestOne = AlpacaLatest<AlpacaLatestValue>

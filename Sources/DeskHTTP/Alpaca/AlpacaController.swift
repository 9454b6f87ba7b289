import DeskAPI
import DeskBroker
import DeskCore
import DeskIdentity
import DeskMarketData
import DeskServices
import Foundation
import Hummingbird
import NIOCore

/// The Alpaca-compatible REST API (`AlpacaRoutes`): Alpaca's Trading API v2 and
/// the latest market data, every answer scoped to the calling member and every
/// order through the same pipeline as `POST /order` (validation, kill switch, rate
/// and risk limits, capital, journal, broker, ledger).
struct AlpacaController {
    let trading: Trading
    /// The reads (`AlpacaReads.swift`): the caller's orders, positions.
    let portfolio: Portfolio
    /// Where orders go (the default venue): its order rules.
    let venue: any Venue
    let latest: LatestTicks
    let sessions: AlpacaSessions

    /// When this desk started: the accounts' `created_at`.
    static let startedAt = Date()

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
        guard let body = try await context.bodySizeLimit.collect(request) else {
            throw AlpacaError(status: 413, message: context.bodySizeLimit.refusal)
        }
        let parsed: AlpacaOrderRequest
        switch AlpacaOrderRequest.parse(Array(buffer: body)) {
        case .success(let value): parsed = value
        case .failure(let error):
            await trading.refuseMalformed(by: context.caller, reportedStatus: error.httpStatus, message: error.message)
            throw error
        }
        let placed = try await trading.place(
            parsed.ticket, clientOrderId: parsed.clientOrderId, by: context.caller)
        return AlpacaJSON.response(try view(of: placed, clientOrderId: parsed.clientOrderId, context: context))
    }

    /// An order placed for the caller in Alpaca's shape, or its refusal as Alpaca's error.
    func view(of placed: Result<OrderRecord, OrderRefusal>, clientOrderId: String?, context: MemberContext)
        throws(AlpacaError) -> AlpacaOrderView
    {
        switch placed {
        case .success(let order):
            context.requestLog.orderId = order.orderId
            return orderView(order, clientOrderId: clientOrderId)
        case .failure(let refusal):
            context.requestLog.orderId = refusal.order?.orderId
            throw AlpacaError(refusal)
        }
    }

    @Sendable func cancel(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: [])
        let order = try await ownOrder(try context.parameters.require("id"), context: context)
        _ = try await trading.cancel(order.orderId, by: context.caller, ownOrdersOnly: true)
            .mapError { AlpacaError($0) }.get()
        return Response(status: .noContent)
    }

    @Sendable func cancelAll(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: [])
        let results = try await trading.cancelAll(by: context.caller).map { canceled in
            let error = canceled.result.failure.map { AlpacaError($0) }
            return AlpacaCancelResult(id: canceled.orderId, status: error?.httpStatus ?? 200, body: error)
        }
        return AlpacaJSON.response(results, status: AlpacaJSON.multiStatus)
    }

    @Sendable func replace(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: [])
        let order = try await ownOrder(try context.parameters.require("id"), context: context)
        guard let body = try await context.bodySizeLimit.collect(request) else {
            throw AlpacaError(status: 413, message: context.bodySizeLimit.refusal)
        }
        let parsed = try AlpacaReplaceRequest.parse(Array(buffer: body)).get()
        let replaced = try await trading.replace(
            order.orderId, with: parsed.changes, clientOrderId: parsed.clientOrderId, by: context.caller)
        switch replaced {
        case .success(let new):
            context.requestLog.orderId = new.orderId
            return AlpacaJSON.response(orderView(new, clientOrderId: parsed.clientOrderId))
        case .failure(let refusal):
            throw AlpacaError(refusal)
        }
    }

    // MARK: Positions

    @Sendable func close(_ request: Request, context: MemberContext) async throws -> Response {
        let amount = try AlpacaCloseQuery(QueryParameters(request))
        let position = try await ownPosition(request, context: context)
        let placed = try await trading.closePosition(position.symbol, amount: amount.amount, by: context.caller)
        return AlpacaJSON.response(try view(of: placed, clientOrderId: nil, context: context))
    }

    @Sendable func closeAll(_ request: Request, context: MemberContext) async throws -> Response {
        let query = QueryParameters(request)
        try AlpacaQuery.check(query, allowed: ["cancel_orders"])
        let cancelOrders = try AlpacaQuery.bool(query, "cancel_orders") == true
        let results = try await trading.closeAll(cancelOrders: cancelOrders, by: context.caller).map { closed in
            switch closed.result {
            case .success(let order):
                AlpacaCloseResult(
                    symbol: closed.symbol, status: 200, body: .order(AlpacaOrderView(order, clientOrderId: nil)))
            case .failure(let refusal):
                AlpacaCloseResult(refusal: AlpacaError(refusal), symbol: closed.symbol)
            }
        }
        return AlpacaJSON.response(results, status: AlpacaJSON.multiStatus)
    }

    // MARK: Account, clock, calendar, assets

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

extension AlpacaCloseResult {
    /// A position that was not closed, and why.
    init(refusal: AlpacaError, symbol: String) {
        self.init(symbol: symbol, status: refusal.httpStatus, body: .error(refusal))
    }
}

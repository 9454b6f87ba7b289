import DeskAPI
import DeskCore
import DeskServices
import Foundation
import Hummingbird

// `/v2`'s reads (the account, positions, order listings and one order): the
// portfolio use case's answers in Alpaca's shapes, always the caller's own, on
// the token's venue only (a member's paper key and live key are two accounts).
extension AlpacaController {
    @Sendable func orders(_ request: Request, context: MemberContext) async throws -> Response {
        let query = try AlpacaOrdersQuery(QueryParameters(request))
        let status: OrderQuery.StatusFilter =
            switch query.status {
            case .open: .open
            case .closed: .closed
            case .all: .all
            }
        var records = try await portfolio.orders(
            for: context.caller,
            OrderQuery(
                member: context.caller.member, status: status, limit: OrderQuery.maximumLimit,
                venue: ReadScope.own(context.caller, defaultVenue: portfolio.defaultVenue))
        ).filter {
            query.includes(status: $0.status, side: $0.side, symbol: $0.symbol, createdAt: $0.createdAt)
        }
        if query.ascending { records.reverse() }
        // Nested: legs under their order only; flat: every order on its own.
        records =
            query.nested
            ? records.topLevel
            : records.map { record in
                var record = record
                record.legs = []
                return record
            }
        return AlpacaJSON.response(try await views(Array(records.prefix(query.limit))))
    }

    /// Alpaca views of `records`, with their client order ids.
    func views(_ records: [OrderRecord]) async throws -> [AlpacaOrderView] {
        let clientIds = try await portfolio.clientOrderIds(of: records)
        return records.map { orderView($0, clientOrderId: clientIds[$0.orderId]) }
    }

    /// An order in Alpaca's shape, with a working trailing stop's `hwm` from its venue.
    func orderView(_ record: OrderRecord, clientOrderId: String?) -> AlpacaOrderView {
        var view = AlpacaOrderView(record, clientOrderId: clientOrderId)
        view.hwm = trading.highWaterMark(of: record).map(ExactDecimal.plain)
        return view
    }

    /// The caller's order `id` (an admin's too: their own only), or Alpaca's 404.
    func ownOrder(_ id: String, context: MemberContext) async throws -> OrderRecord {
        context.requestLog.orderId = id
        do { return try await portfolio.order(for: context.caller, id: id, ownOnly: true) } catch PortfolioRefusal
            .orderNotFound
        { throw Self.orderNotFound }
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
        let id = try await portfolio.orderId(clientOrderId: clientOrderId, for: context.caller)
        let order = try await ownOrder(id, context: context)
        return AlpacaJSON.response(try await views([order])[0])
    }

    /// The caller's positions (not flat), with what their open orders already claim of each.
    func openPositions(context: MemberContext) async throws -> [AlpacaPositionView] {
        try await portfolio.openPositions(of: context.caller).map { open in
            AlpacaPositionView(
                symbol: open.holding.record.symbol, position: open.holding.record.position,
                lastPrice: open.holding.lastPrice, heldForOrders: open.heldForOrders)
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

    @Sendable func account(_ request: Request, context: MemberContext) async throws -> Response {
        try AlpacaQuery.check(QueryParameters(request), allowed: [])
        let member = context.caller.member
        return AlpacaJSON.response(
            AlpacaAccountView(
                member: member, statement: await trading.capital(of: context.caller),
                halted: await trading.isHalted(context.caller), createdAt: Self.startedAt))
    }
}

import DeskAPI
import DeskCore
import DeskIdentity
import DeskLedger
import DeskProto
import DeskServices
import Foundation
import Hummingbird
import NIOCore

/// `POST /order` (the seed's contract) and the order read API:
/// `GET /orders`, `GET /orders/{id}`, `DELETE /orders/{id}`.
struct OrderController {
    let trading: Trading
    let ledger: Ledger

    /// `POST /order`, in a group whose errors are `OrderResponse`s (see `OrderReplyErrors`).
    func addPlaceRoute(to router: some RouterMethods<MemberContext>) {
        router.on(Routes.placeOrder, use: place)
    }

    func addReadRoutes(to router: some RouterMethods<MemberContext>) {
        router.on(Routes.orders, use: list)
        router.on(Routes.order, use: show)
        router.on(Routes.cancelOrder, use: cancel)
    }

    @Sendable func place(_ request: Request, context: MemberContext) async throws -> Response {
        guard let format = OrderWire.Format(request: request) else {
            throw DeskHTTPError(
                .unsupportedMediaType,
                "unsupported Content-Type \(OrderValidation.quoted(request.headers[.contentType] ?? "")): send application/x-protobuf or application/json"
            )
        }
        if format == .json { try ContentType.checkCharset(request) }
        guard let body = try await context.bodySizeLimit.collect(request) else {
            throw DeskHTTPError(
                .contentTooLarge, "\(context.bodySizeLimit.refusal); an OrderRequest is a few dozen bytes")
        }
        let decoded: Orders_OrderRequest
        do {
            decoded = try OrderWire.decode(body, format: format)
        } catch {
            await trading.refuseMalformed(
                by: context.caller, reportedStatus: Int(error.status.code), message: error.message)
            throw error
        }
        let placed = try await trading.place(OrderWire.ticket(decoded), by: context.caller)
        let (response, orderId) = OrderWire.response(to: decoded, placed: placed, format: format)
        context.requestLog.orderId = orderId
        return response
    }

    @Sendable func list(_ request: Request, context: MemberContext) async throws -> OrderList {
        var query: OrdersQuery
        do { query = try OrdersQuery(QueryParameters(request)) } catch { throw DeskHTTPError(error) }
        query.member = try Readers.member(query.member, caller: context.caller)
        return OrderList(orders: try await ledger.orders(OrderQuery(query)).map { OrderView($0) })
    }

    @Sendable func show(_ request: Request, context: MemberContext) async throws -> OrderView {
        let id = try context.parameters.require("id")
        context.requestLog.orderId = id
        guard let order = try await ledger.order(id: id),
            context.caller.isAdmin || order.member == context.caller.member
        else {
            throw DeskHTTPError(.notFound, "no order \(OrderValidation.quoted(id)) among your orders")
        }
        return OrderView(order, fills: try await ledger.fills(orderId: id))
    }

    @Sendable func cancel(_ request: Request, context: MemberContext) async throws -> OrderView {
        let id = try context.parameters.require("id")
        context.requestLog.orderId = id
        return OrderView(try await trading.cancel(id, by: context.caller).mapError { DeskHTTPError($0) }.get())
    }
}

/// Whose data a read shows (`ReadScope.listing`, answered as the JSON API answers its refusal).
enum Readers {
    /// The caller's own; an admin reads everyone's, or the member asked for.
    static func member(_ requested: String?, caller: Caller) throws(DeskHTTPError) -> String? {
        do { return try ReadScope.listing(requested: requested, caller: caller) } catch { throw DeskHTTPError(error) }
    }
}

extension DeskHTTPError {
    /// What the JSON API answers a refused cancel with.
    init(_ refusal: CancelRefusal) {
        switch refusal {
        case .notFound(let message): self.init(.notFound, message)
        case .notCancelable(_, let message): self.init(.unprocessableContent, message)
        case .failed(let message): self.init(.serviceUnavailable, message)
        }
    }
}

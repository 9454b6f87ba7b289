import DeskAPI
import DeskCore
import DeskIdentity
import DeskProto
import DeskServices
import Foundation
import Hummingbird
import NIOCore

/// `POST /order` (the seed's contract) and the order read API:
/// `GET /orders`, `GET /orders/{id}`, `DELETE /orders/{id}`.
struct OrderController {
    let trading: Trading
    let portfolio: Portfolio

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
        let placed = try await trading.place(
            OrderWire.ticket(decoded), clientOrderId: OrderWire.clientOrderId(decoded), by: context.caller)
        let (response, orderId) = OrderWire.response(to: decoded, placed: placed, format: format)
        context.requestLog.orderId = orderId
        return response
    }

    @Sendable func list(_ request: Request, context: MemberContext) async throws -> OrderList {
        var query: OrdersQuery
        do { query = try OrdersQuery(QueryParameters(request)) } catch { throw DeskHTTPError(error) }
        let orders = try await DeskHTTPError.translating {
            try await portfolio.orders(for: context.caller, OrderQuery(query))
        }
        return OrderList(orders: orders.map { OrderView($0) })
    }

    @Sendable func show(_ request: Request, context: MemberContext) async throws -> OrderView {
        let id = try context.parameters.require("id")
        context.requestLog.orderId = id
        let order = try await DeskHTTPError.translating { try await portfolio.order(for: context.caller, id: id) }
        return OrderView(order, fills: try await portfolio.fills(of: order))
    }

    @Sendable func cancel(_ request: Request, context: MemberContext) async throws -> OrderView {
        let id = try context.parameters.require("id")
        context.requestLog.orderId = id
        return OrderView(try await trading.cancel(id, by: context.caller).mapError { DeskHTTPError($0) }.get())
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

import DeskCore
import DeskIdentity
import DeskLedger
import DeskOrders
import DeskProto
import Foundation
import Hummingbird
import NIOCore

/// `POST /order` (the seed's contract) and the order read API:
/// `GET /orders`, `GET /orders/{id}`, `DELETE /orders/{id}`.
struct OrderController {
    let desk: OrderDesk
    let ledger: Ledger
    let maximumBodySize: Int

    func addRoutes(to router: some RouterMethods<DeskRequestContext>) {
        router.post("order", use: place)
        router.get("orders", use: list)
        router.get("orders/:id", use: show)
        router.delete("orders/:id", use: cancel)
    }

    @Sendable func place(_ request: Request, context: DeskRequestContext) async throws -> Response {
        guard let format = OrderWire.Format(request: request) else {
            throw DeskHTTPError(
                .unsupportedMediaType,
                "unsupported Content-Type \(OrderValidation.quoted(request.headers[.contentType] ?? "")): send application/x-protobuf or application/json"
            )
        }
        if format == .json { try StrictJSON.checkCharset(request) }
        let caller = try context.requireCaller()
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maximumBodySize)
        } catch is NIOTooManyBytesError {
            throw DeskHTTPError(
                .contentTooLarge,
                "the body is larger than \(maximumBodySize) bytes; an OrderRequest is a few dozen bytes")
        }
        let decoded: Orders_OrderRequest
        do {
            decoded = try OrderWire.decode(body, format: format)
        } catch {
            await desk.refuseMalformed(caller: caller, status: Int(error.status.code), message: error.message)
            throw error
        }
        var reply = Orders_OrderResponse()
        reply.symbol = decoded.symbol
        reply.qty = decoded.qty
        reply.side = decoded.side
        let placement = await desk.place(OrderWire.ticket(decoded), caller: caller)
        switch placement {
        case .accepted(let order):
            reply.status = "success"
            reply.orderID = order.orderId
            reply.orderStatus = order.status.rawValue
            reply.filledQty = ExactDecimal.plain(order.filledQty)
            reply.message = Self.summary(order)
            return OrderWire.response(reply, status: .created, format: format, location: "/orders/\(order.orderId)")
        case .brokerRefused(let order, _, _):
            reply.orderID = order.orderId
            reply.orderStatus = order.status.rawValue
            reply.filledQty = ExactDecimal.plain(order.filledQty)
            fallthrough
        default:
            let (status, message) = placement.rejection!
            reply.status = "error"
            reply.message = message
            return OrderWire.response(
                reply, status: HTTPResponse.Status(code: status), format: format,
                location: reply.orderID.isEmpty ? nil : "/orders/\(reply.orderID)")
        }
    }

    @Sendable func list(_ request: Request, context: DeskRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let query = try ReadQuery.orders(request.uri.queryParameters, caller: caller)
        let orders = try await ledger.orders(query)
        return try JSONReply.make(OrderList(orders: orders.map(OrderView.init)))
    }

    @Sendable func show(_ request: Request, context: DeskRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = try context.parameters.require("id")
        guard let order = try await ledger.order(id: id), caller.isAdmin || order.userId == caller.member else {
            throw DeskHTTPError(.notFound, "no order \(OrderValidation.quoted(id)) among your orders")
        }
        let fills = try await ledger.fills(orderId: id)
        return try JSONReply.make(OrderView(order, fills: fills))
    }

    @Sendable func cancel(_ request: Request, context: DeskRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = try context.parameters.require("id")
        switch await desk.cancel(orderId: id, caller: caller) {
        case .canceled(let order): return try JSONReply.make(OrderView(order))
        case .notFound(let message): throw DeskHTTPError(.notFound, message)
        case .notCancelable(_, let message): throw DeskHTTPError(.unprocessableContent, message)
        case .failed(let message): throw DeskHTTPError(.serviceUnavailable, message)
        }
    }

    static func summary(_ order: OrderRecord) -> String {
        switch order.status {
        case .filled, .partiallyFilled:
            "\(order.status.rawValue): \(ExactDecimal.plain(order.filledQty)) of \(ExactDecimal.plain(order.qty)) at an average \(order.filledAvgPrice.map(ExactDecimal.plain) ?? "-")"
        case .canceled, .expired, .rejected:
            "\(order.status.rawValue)\(order.rejectReason.map { ": \($0)" } ?? "")"
        case .new, .pendingNew:
            "accepted; working at the broker"
        }
    }
}

/// Reading list filters from a query string, with clear errors.
enum ReadQuery {
    static func orders(_ parameters: Parameters, caller: Caller) throws(DeskHTTPError) -> OrderQuery {
        let allowed = ["status", "symbol", "since", "limit", "user"]
        for (key, _) in parameters where !allowed.contains(String(key)) {
            throw DeskHTTPError(
                .badRequest, "unknown query parameter \"\(key)\"; allowed: \(allowed.joined(separator: ", "))")
        }
        var status = OrderQuery.StatusFilter.all
        if let raw = parameters.get("status") {
            switch raw {
            case "all": status = .all
            case "open": status = .open
            case "closed": status = .closed
            default:
                guard let exact = OrderStatus(rawValue: raw) else {
                    let names = ["open", "closed", "all"] + OrderStatus.allCases.map(\.rawValue)
                    throw DeskHTTPError(
                        .badRequest, "status \"\(raw)\" is not one of: \(names.joined(separator: ", "))")
                }
                status = .exactly(exact)
            }
        }
        var since: Date?
        if let raw = parameters.get("since") {
            guard let date = ISO8601DateFormatter().date(from: raw) else {
                throw DeskHTTPError(
                    .badRequest, "since \"\(raw)\" is not an ISO-8601 time such as 2026-11-25T14:30:00Z")
            }
            since = date
        }
        var limit = 100
        if let raw = parameters.get("limit") {
            guard let value = Int(raw), (1...OrderQuery.maximumLimit).contains(value) else {
                throw DeskHTTPError(
                    .badRequest, "limit \"\(raw)\" must be a whole number from 1 to \(OrderQuery.maximumLimit)")
            }
            limit = value
        }
        return OrderQuery(
            member: try member(parameters, caller: caller), status: status, symbol: parameters.get("symbol"),
            since: since, limit: limit)
    }

    /// Whose data to read: the caller's own; an admin reads everyone's, or `?user=`.
    static func member(_ parameters: Parameters, caller: Caller) throws(DeskHTTPError) -> String? {
        let requested = parameters.get("user")
        if caller.isAdmin { return requested }
        if let requested, requested != caller.member {
            throw DeskHTTPError(.forbidden, "only an admin token may read another member's data")
        }
        return caller.member
    }
}

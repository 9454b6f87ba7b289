import DeskAPI
import DeskCore
import DeskIdentity
import DeskServices
import Foundation
import Hummingbird
import NIOCore

/// Alpaca's errors render themselves: `{"code": …, "message": …}` with the status the code names.
extension AlpacaError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: code / 100_000) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        AlpacaJSON.response(self, status: status)
    }
}

/// How `/v2` writes JSON: Alpaca's field names as they are, slashes unescaped.
enum AlpacaJSON {
    /// 207, what Alpaca answers a cancel-all or close-all with.
    static let multiStatus = HTTPResponse.Status(code: 207, reasonPhrase: "Multi-Status")

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// `value` as a JSON response with `status`.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The JSON text of `value`.
    static func text(_ value: some Encodable) -> String {
        String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// Every refusal under `/v2` in Alpaca's shape, whoever raised it (the
/// authenticators, the access policy, a handler, the router): alpaca-py reads
/// `code` and `message` from any 4xx or 5xx body.
struct AlpacaErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as AlpacaError {
            return AlpacaJSON.response(error, status: error.status)
        } catch let error as HTTPResponseError {
            return AlpacaJSON.response(
                AlpacaError(status: Int(error.status.code), message: Self.message(error)), status: error.status)
        } catch {
            return AlpacaJSON.response(
                AlpacaError(status: 500, message: "internal error: the desk failed (\(error))"),
                status: .internalServerError)
        }
    }

    /// Alpaca starts 401 messages with "unauthorized" (clients match on it); a request
    /// with no credentials is told both ways the Alpaca API takes them.
    static func message(_ error: some HTTPResponseError) -> String {
        var message = error.clientMessage
        if message == IdentityError.missingToken.message {
            message =
                "unauthorized: send APCA-API-KEY-ID (your member name) and APCA-API-SECRET-KEY (your desk token), or Authorization: Bearer <token>; an admin issues a token with: desk tokens issue <member>"
        }
        if error.status == .unauthorized && !message.hasPrefix("unauthorized") { return "unauthorized: " + message }
        return message
    }
}

extension AlpacaOrderView {
    /// An order of the ledger; `clientOrderId` is the member's id for it (the desk's order id when they gave none).
    init(_ record: OrderRecord, clientOrderId: String?) {
        self.init(
            id: record.orderId, clientOrderId: clientOrderId ?? record.orderId, member: record.member,
            strategy: record.strategy, symbol: record.symbol, qty: record.qty, side: record.side,
            type: record.orderType, timeInForce: record.timeInForce, limitPrice: record.limitPrice,
            stopPrice: record.stopPrice, status: record.status, filledQty: record.filledQty,
            filledAvgPrice: record.filledAvgPrice, rejectReason: record.statusReason, createdAt: record.createdAt,
            updatedAt: record.updatedAt)
        order_class = record.orderClass.rawValue
        notional = record.notional.map(ExactDecimal.plain)
        trail_price = record.trailPrice.map(ExactDecimal.plain)
        trail_percent = record.trailPercent.map(ExactDecimal.plain)
        extended_hours = record.extendedHours
        replaces = record.replaces
        replaced_by = record.replacedBy
        replaced_at = record.status == .replaced ? updated_at : nil
        legs = record.legs.isEmpty ? nil : record.legs.map { AlpacaOrderView($0, clientOrderId: nil) }
    }
}

extension AlpacaError {
    /// What `/v2` answers each order refusal with: the seed route's statuses, in Alpaca's shape.
    init(_ refusal: OrderRefusal) {
        switch refusal {
        case .noPosition: self = AlpacaController.positionNotFound
        default: self.init(status: Int(OrderWire.status(refusal).code), message: refusal.message)
        }
    }

    /// What `/v2` answers each refused replace with (shared/ALPACA.md §3.6).
    init(_ refusal: ReplaceRefusal) {
        switch refusal {
        case .unchanged: self.init(status: 403, message: refusal.message)
        case .notFound: self = AlpacaController.orderNotFound
        case .notReplaceable(_, let message): self.init(status: 422, message: "unable to replace order: \(message)")
        case .refused(let refusal): self.init(refusal)
        }
    }

    /// What `/v2` answers each refused cancel with.
    init(_ refusal: CancelRefusal) {
        switch refusal {
        case .notFound: self = AlpacaController.orderNotFound
        case .notCancelable(_, let message): self.init(status: 422, message: "order is not cancelable: \(message)")
        case .failed(let message): self.init(status: 503, message: message)
        }
    }
}

extension Result {
    /// The error, when this is a failure.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

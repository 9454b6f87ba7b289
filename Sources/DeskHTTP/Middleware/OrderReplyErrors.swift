import DeskOrders
import DeskProto
import Hummingbird

/// In front of `POST /order`: every refusal, whoever raised it (an
/// authenticator, the route's policy, the handler), is answered as the seed's
/// clients expect, an `OrderResponse` with `status = "error"`, in protobuf or
/// JSON like the request. Refused identities count as order outcomes.
struct OrderReplyErrors: RouterMiddleware {
    typealias Context = DeskRequestContext
    let metrics: DeskMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            if error.status == .unauthorized { metrics.recordRefusedRequest(outcome: .unauthorized) }
            var reply = Orders_OrderResponse()
            reply.status = "error"
            reply.message = error.clientMessage
            var response = OrderWire.response(
                reply, status: error.status, format: OrderWire.Format(request: request) ?? .protobuf)
            if let error = error as? DeskHTTPError {
                for field in error.headers { response.headers.append(field) }
            }
            return response
        }
    }
}

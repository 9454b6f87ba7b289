import DeskAPI
import Hummingbird

/// The route label of `desk_http_requests_total`: a pattern of the route table
/// (`/orders/{id}`), or `unmatched` for every request no route took. Only these
/// can be made, so the label set is bounded by the table, whatever paths clients send.
struct RouteLabel: Hashable, Sendable {
    let value: String

    /// The label of every request no route took.
    static let unmatched = RouteLabel(value: "unmatched")

    /// Every route's pattern, the desk's and Alpaca's.
    static let known = Set((Routes.all + AlpacaRoutes.all).map(\.pattern))

    private init(value: String) { self.value = value }

    /// The label of the route Hummingbird matched (`endpointPath`), or `unmatched`.
    init(endpoint: String?) {
        guard let endpoint, Self.known.contains(endpoint) else {
            self = .unmatched
            return
        }
        value = endpoint
    }
}

/// Counts every request by route and status class (`desk_http_requests_total`).
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = DeskRequestContext
    let metrics: DeskMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            let response = try await next(request, context)
            metrics.recordRequest(route: RouteLabel(endpoint: context.endpointPath), status: Int(response.status.code))
            return response
        } catch let error as any HTTPResponseError {
            metrics.recordRequest(route: RouteLabel(endpoint: context.endpointPath), status: Int(error.status.code))
            throw error
        } catch {
            metrics.recordRequest(route: RouteLabel(endpoint: context.endpointPath), status: 500)
            throw error
        }
    }
}

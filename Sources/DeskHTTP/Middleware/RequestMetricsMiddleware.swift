import DeskOrders
import Hummingbird

/// Counts every request by route and status class (`desk_http_requests_total`).
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = DeskRequestContext
    let metrics: DeskMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            let response = try await next(request, context)
            metrics.recordRequest(route: context.endpointPath ?? request.uri.path, status: Int(response.status.code))
            return response
        } catch let error as any HTTPResponseError {
            metrics.recordRequest(route: context.endpointPath ?? request.uri.path, status: Int(error.status.code))
            throw error
        } catch {
            metrics.recordRequest(route: context.endpointPath ?? request.uri.path, status: 500)
            throw error
        }
    }
}

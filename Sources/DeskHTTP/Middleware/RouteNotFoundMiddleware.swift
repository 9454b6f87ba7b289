import DeskAPI
import HTTPTypes
import Hummingbird

/// The answers to a request no route takes.
enum DeskRoutes {
    /// 405 naming the methods the path takes, or 404 listing the routes.
    static func refusal(method: HTTPRequest.Method, path: String) -> DeskHTTPError {
        let methods = Routes.all.filter { $0.matches(path) }.map(\.method.rawValue)
        if !methods.isEmpty {
            return DeskHTTPError(
                .methodNotAllowed,
                "\(method.rawValue) \(path) is not a route: \(path) takes \(methods.joined(separator: ", "))",
                headers: [.allow: methods.joined(separator: ", ")])
        }
        var hint = ""
        if path.hasPrefix("/admin/strategies/") && path.hasSuffix("/logs") {
            hint = " A strategy is named by its folder's name (example_alice), not by a path."
        }
        let listed = Routes.all.map(\.description).joined(separator: ", ")
        return DeskHTTPError(.notFound, "no route \(method.rawValue) \(path).\(hint) The desk answers: \(listed)")
    }
}

/// Turns the router's bare 404 (no route for the path or method) into an answer
/// that says what exists. Errors of the routes themselves pass through unchanged.
struct RouteNotFoundMiddleware: RouterMiddleware {
    typealias Context = DeskRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && error.body == nil {
            if AlpacaRoutes.covers(request.uri.path) {
                throw AlpacaRoutes.refusal(method: request.method.rawValue, path: request.uri.path)
            }
            throw DeskRoutes.refusal(method: request.method, path: request.uri.path)
        }
    }
}

import HTTPTypes
import Hummingbird

/// Every route the desk answers, for the message of a 404 or 405.
enum DeskRoutes {
    /// Method and path pattern (`{name}` is one path segment).
    static let all: [(method: HTTPRequest.Method, path: String)] = [
        (.get, "/healthz"), (.get, "/metrics"), (.post, "/order"), (.get, "/orders"), (.get, "/orders/{id}"),
        (.delete, "/orders/{id}"), (.get, "/positions"), (.get, "/account"), (.post, "/admin/halt"),
        (.post, "/admin/resume"), (.get, "/admin/halts"), (.post, "/admin/prices"), (.post, "/admin/reconcile"),
        (.get, "/admin/strategies"), (.post, "/admin/strategies/start"), (.post, "/admin/strategies/stop"),
        (.post, "/admin/strategies/restart"), (.get, "/admin/strategies/{name}/logs"),
    ]

    /// Whether `path` fits `pattern`.
    static func matches(_ path: String, _ pattern: String) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let expected = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard segments.count == expected.count else { return false }
        return zip(segments, expected).allSatisfy { segment, part in
            part.hasPrefix("{") ? !segment.isEmpty : segment == part
        }
    }

    /// The answer to a request no route takes: 405 naming the methods the path
    /// takes, or 404 listing the routes.
    static func refusal(method: HTTPRequest.Method, path: String) -> DeskHTTPError {
        let methods = all.filter { matches(path, $0.path) }.map(\.method.rawValue)
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
        let listed = all.map { "\($0.method.rawValue) \($0.path)" }.joined(separator: ", ")
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
            throw DeskRoutes.refusal(method: request.method, path: request.uri.path)
        }
    }
}

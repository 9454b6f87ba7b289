import DeskAPI
import DeskIdentity
import Foundation
import Hummingbird

/// An error that answers the client with a status and a sentence, as
/// `{"status":"error","message":…}`. (`POST /order` answers in its own format:
/// `OrderReplyErrors` turns these into an `OrderResponse`.)
public struct DeskHTTPError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// Extra response headers (`Allow` on a 405).
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// A query string the route cannot use: 400.
    public init(_ problem: QueryProblem) { self.init(.badRequest, problem.message) }

    /// A caller who could not be identified or is not allowed: 401, 403, 400 or 500.
    public init(_ error: IdentityError) {
        let status: HTTPResponse.Status =
            switch error.kind {
            case .unauthenticated: .unauthorized
            case .forbidden: .forbidden
            case .malformed: .badRequest
            case .unavailable: .internalServerError
            }
        self.init(status, error.message)
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = DeskResponseEncoder.response(ErrorReply(message: message), status: status)
        for field in headers { response.headers.append(field) }
        return response
    }
}

extension HTTPResponseError {
    /// The sentence this error tells the client.
    var clientMessage: String {
        switch self {
        case let error as DeskHTTPError: error.message
        case let error as HTTPError: error.body ?? "\(error.status.reasonPhrase)"
        default: "\(status.reasonPhrase)"
        }
    }
}

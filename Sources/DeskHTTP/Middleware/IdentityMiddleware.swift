import DeskCore
import DeskIdentity
import DeskLedger
import DeskOrders
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Resolves who is calling, for every route behind it, and logs each request
/// with its member, strategy, status and order id.
///
/// A bearer token identifies the caller. The seed's `X-User-ID` header is only
/// trusted when the desk runs in development mode (`--trust-user-header`): any
/// strategy could otherwise trade as any member. With a token, an `X-User-ID`
/// naming someone else is refused (403).
struct IdentityMiddleware: RouterMiddleware {
    typealias Context = DeskRequestContext

    let ledger: Ledger
    let trustUserHeader: Bool
    let metrics: DeskMetrics
    let logger: Logger

    static let userHeader = HTTPField.Name("X-User-ID")!
    static let seedDefaultUser = "default_user"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        var context = context
        var status = 500
        var orderId: String?
        defer {
            let route = context.endpointPath ?? request.uri.path
            metrics.recordRequest(route: route, status: status)
            var metadata: Logger.Metadata = [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(status)",
                "duration_ms": "\(Self.milliseconds(ContinuousClock.now - started))",
            ]
            if let caller = context.caller {
                metadata["user"] = "\(caller.member)"
                if !caller.strategy.isEmpty { metadata["strategy"] = "\(caller.strategy)" }
            }
            if let orderId { metadata["order_id"] = "\(orderId)" }
            logger.info("request", metadata: metadata)
        }
        do {
            context.caller = try await caller(for: request)
            let response = try await next(request, context)
            status = Int(response.status.code)
            orderId = response.headers[.location].map { String($0.split(separator: "/").last ?? "") }
            return response
        } catch let error as DeskHTTPError {
            status = Int(error.status.code)
            if error.status == .unauthorized && request.uri.path == OrderWire.path {
                metrics.recordRefusedRequest(outcome: "unauthorized")
            }
            throw error
        } catch let error as any HTTPResponseError {
            status = Int(error.status.code)
            throw error
        }
    }

    /// The caller behind `request`, or the 401/403 that explains why there is none.
    func caller(for request: Request) async throws(DeskHTTPError) -> Caller {
        let claimedUser = request.headers[Self.userHeader]
        if let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw DeskHTTPError(.unauthorized, "the Authorization header must be \"Bearer <token>\"")
            }
            let identity: TokenIdentity?
            do {
                identity = try await ledger.identity(token: String(parts[1]).trimmingCharacters(in: .whitespaces))
            } catch {
                throw DeskHTTPError(.internalServerError, "the desk could not check the token: \(error)")
            }
            guard let identity else {
                throw DeskHTTPError(.unauthorized, "the bearer token is not valid (unknown or revoked)")
            }
            if let claimedUser, claimedUser != identity.member {
                throw DeskHTTPError(
                    .forbidden,
                    "X-User-ID \(OrderValidation.quoted(claimedUser)) does not match this token's member \"\(identity.member)\"; a token only trades as its own member"
                )
            }
            if identity.isMetricsOnly && request.uri.path != OperationsController.metricsPath {
                throw DeskHTTPError(
                    .forbidden,
                    "this is a metrics token: it may read \(OperationsController.metricsPath) and nothing else; use a member's token (desk tokens issue <member>)"
                )
            }
            return Caller(
                member: identity.member, strategy: identity.strategy, isAdmin: identity.isAdmin,
                isMetricsOnly: identity.isMetricsOnly)
        }
        guard trustUserHeader else {
            throw DeskHTTPError(
                .unauthorized,
                "missing bearer token: send \"Authorization: Bearer <token>\" (an admin issues one with: desk tokens issue <member>). The X-User-ID header alone is accepted only when the desk runs with --trust-user-header"
            )
        }
        let member = claimedUser ?? Self.seedDefaultUser
        guard Identifier.isSafe(member) else {
            throw DeskHTTPError(
                .badRequest, "X-User-ID \(OrderValidation.quoted(member)) is not a member id: \(Identifier.rule)")
        }
        return Caller(member: member)
    }

    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        return String(format: "%.3f", Double(micros) / 1000)
    }
}

import Foundation
import Hummingbird
import Logging

/// Logs every request once: method, path, status, duration, and the member,
/// strategy and order id the request's handling found (`RequestLog`). Never the
/// token or the body.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = DeskRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        var status = 500
        defer {
            var metadata: Logger.Metadata = [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(status)",
                "duration_ms": "\(Self.milliseconds(ContinuousClock.now - started))",
            ]
            if let caller = context.requestLog.caller {
                metadata["member"] = "\(caller.member)"
                if !caller.strategy.isEmpty { metadata["strategy"] = "\(caller.strategy)" }
            }
            if let orderId = context.requestLog.orderId { metadata["order_id"] = "\(orderId)" }
            logger.info("request", metadata: metadata)
        }
        do {
            let response = try await next(request, context)
            status = Int(response.status.code)
            return response
        } catch let error as any HTTPResponseError {
            status = Int(error.status.code)
            throw error
        }
    }

    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        return String(format: "%.3f", Double(micros) / 1000)
    }
}

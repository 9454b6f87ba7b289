import DeskIdentity
import Hummingbird
import Logging

/// The request context of every desk route: Hummingbird's core storage plus the
/// caller that the identity middleware resolved.
public struct DeskRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who is calling; set by `IdentityMiddleware` on every authenticated route.
    public var caller: Caller?

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// The caller, or 401 when the route was reached without identity (a wiring
    /// mistake); a metrics token is refused (403) everywhere but `/metrics`.
    func requireCaller() throws -> Caller {
        guard let caller else { throw DeskHTTPError(.unauthorized, "no caller identity on this route") }
        if caller.isMetricsOnly {
            throw DeskHTTPError(
                .forbidden, "a metrics token may read \(OperationsController.metricsPath) and nothing else")
        }
        return caller
    }
}

/// Who is calling: resolved from a bearer token (or, in development mode only,
/// from the seed's `X-User-ID` header).
public struct Caller: Sendable, Equatable {
    /// The member orders are booked to.
    public var member: String
    /// The strategy, when the token was issued for one; empty otherwise.
    public var strategy: String
    /// May read everyone's data and use the admin API.
    public var isAdmin: Bool
    /// A metrics token (Prometheus): may read `/metrics` and nothing else.
    public var isMetricsOnly: Bool

    public init(member: String, strategy: String = "", isAdmin: Bool = false, isMetricsOnly: Bool = false) {
        self.member = member
        self.strategy = strategy
        self.isAdmin = isAdmin
        self.isMetricsOnly = isMetricsOnly
    }
}

import DeskCore

/// Who is calling: resolved from a bearer token (or, in development mode only,
/// from the seed's `X-User-ID` header).
public struct Caller: Sendable, Equatable {
    /// The member orders are booked to.
    public var member: String
    /// The strategy, when the token was issued for one; empty otherwise.
    public var strategy: String
    /// What the caller may do beyond their own orders: member, officer or admin.
    public var role: DeskRole
    /// A metrics token (Prometheus): may read `/metrics` and nothing else.
    public var isMetricsOnly: Bool
    /// The venue the caller's orders go to and whose book they read (the token's
    /// venue; the desk's default venue for tokens issued without one).
    public var venue: String

    /// A caller as given; `role` defaults to admin when `isAdmin`, else member.
    public init(
        member: String, strategy: String = "", isAdmin: Bool = false, isMetricsOnly: Bool = false,
        role: DeskRole? = nil, venue: String = ""
    ) {
        self.member = member
        self.strategy = strategy
        self.role = role ?? (isAdmin ? .admin : .member)
        self.isMetricsOnly = isMetricsOnly
        self.venue = venue
    }

    /// May read everyone's data and use the admin API.
    public var isAdmin: Bool { role == .admin }
    /// Oversees members: approves promotions, halts and resumes, reads every member's figures (officers and the admin).
    public var oversees: Bool { role.oversees }
}

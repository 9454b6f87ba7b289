/// The web desk's settings (the config file's `web`).
public struct WebSettings: Sendable, Equatable {
    /// How long a web session lasts from sign-in (`session_hours`, default 8).
    public var sessionLifetime: Duration = .seconds(8 * 3600)
    /// How often a live page's sections are looked at, and sent when they changed
    /// (`live_interval_seconds`, default 1).
    public var liveInterval: Duration = .seconds(1)
    /// How often each member's equity is sampled for the P&L history
    /// (`pnl_interval_seconds`, default 5); a minute keeps its last sample.
    public var pnlInterval: Duration = .seconds(5)
    /// Days of P&L history kept (`pnl_retention_days`, default 90).
    public var pnlRetentionDays = 90
    /// Live pages (event streams) one member may hold open at once.
    public var livePagesPerMember = 8
    /// Web sessions one member holds at once (`sessions_per_member`, default 20):
    /// signing in once more ends that member's oldest.
    public var sessionsPerMember = 20
    /// Web sessions the desk holds at once (`max_sessions`, default 10,000): past
    /// it, signing in is refused until one ends.
    public var maximumSessions = 10_000

    public init() {}
}

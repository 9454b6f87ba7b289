import Foundation

/// Where a strategy is in its life.
public enum StrategyRunState: String, Sendable, Codable {
    case stopped, starting, running, backoff, failed
}

/// What survives a desk restart about one strategy: the supervisor keeps it,
/// the ledger stores it (table `strategies`).
public struct StrategyStateRecord: Sendable, Equatable {
    public var name: String
    public var member: String
    /// Should it run? Strategies that were running when the desk stopped start again.
    public var desiredRunning: Bool
    public var state: StrategyRunState
    public var restarts: Int
    public var pid: Int32?
    public var startedAt: Date?
    public var lastExit: String?
    public var failure: String?

    public init(
        name: String, member: String, desiredRunning: Bool, state: StrategyRunState, restarts: Int = 0,
        pid: Int32? = nil, startedAt: Date? = nil, lastExit: String? = nil, failure: String? = nil
    ) {
        self.name = name
        self.member = member
        self.desiredRunning = desiredRunning
        self.state = state
        self.restarts = restarts
        self.pid = pid
        self.startedAt = startedAt
        self.lastExit = lastExit
        self.failure = failure
    }
}

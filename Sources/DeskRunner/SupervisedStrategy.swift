import DeskCore
import Foundation

/// What the supervisor knows of one strategy: its state and run, and what is
/// wrong with its folder. The faces map it to their own shapes (the API's
/// `StrategyStatus`, the page's rows).
public struct SupervisedStrategy: Sendable, Equatable {
    /// The strategy's folder name.
    public var name: String
    public var member: String
    public var state: StrategyRunState
    public var pid: Int32?
    /// What runs it, when its config.json can be read.
    public var runtime: StrategyRuntime?
    /// The container it runs in (docker runtime).
    public var container: String?
    public var restarts: Int
    public var startedAt: Date?
    public var lastExit: String?
    public var failure: String?
    /// Its last log lines, when it failed.
    public var lastLogLines: [String]?
    /// The symbols it receives; nil for all.
    public var symbols: [String]?
    public var ticksDelivered: Int
    public var ticksDropped: Int
    /// What is wrong with its folder or config.json.
    public var problem: String?

    /// A strategy as the supervisor sees it.
    public init(
        name: String, member: String, state: StrategyRunState, pid: Int32? = nil, runtime: StrategyRuntime? = nil,
        container: String? = nil, restarts: Int = 0, startedAt: Date? = nil, lastExit: String? = nil,
        failure: String? = nil, lastLogLines: [String]? = nil, symbols: [String]? = nil, ticksDelivered: Int = 0,
        ticksDropped: Int = 0, problem: String? = nil
    ) {
        self.name = name
        self.member = member
        self.state = state
        self.pid = pid
        self.runtime = runtime
        self.container = container
        self.restarts = restarts
        self.startedAt = startedAt
        self.lastExit = lastExit
        self.failure = failure
        self.lastLogLines = lastLogLines
        self.symbols = symbols
        self.ticksDelivered = ticksDelivered
        self.ticksDropped = ticksDropped
        self.problem = problem
    }
}

/// What a start, stop or restart did to one strategy.
public struct StrategyCommandResult: Sendable, Equatable {
    public var name: String
    public var ok: Bool
    /// What happened, for people (`starting (member alice)`, `stopped`, why not).
    public var message: String

    /// One strategy's result.
    public init(name: String, ok: Bool, message: String) {
        self.name = name
        self.ok = ok
        self.message = message
    }
}

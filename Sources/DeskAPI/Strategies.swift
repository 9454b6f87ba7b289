import DeskCore
import Foundation

/// One strategy as `desk strategies status` shows it.
public struct StrategyStatus: Codable, Sendable, Equatable {
    /// The strategy's folder name.
    public var name: String
    public var member: String
    /// `stopped`, `starting`, `running`, `backoff` or `failed`.
    public var state: StrategyRunState
    public var pid: Int32?
    /// `process` or `docker`.
    public var runtime: String?
    /// The container it runs in (docker runtime).
    public var container: String?
    public var restarts: Int
    public var startedAt: Date?
    public var lastExit: String?
    public var failure: String?
    public var lastLogLines: [String]?
    /// The symbols it receives; nil for all.
    public var symbols: [String]?
    public var ticksDelivered: Int
    public var ticksDropped: Int
    /// What is wrong with its folder or config.json.
    public var problem: String?
    public var ordersPlaced: Int?
    /// The venue it runs on (its orders go there): the desk's default unless it was promoted or demoted.
    public var venue: String?

    public init(
        name: String, member: String, state: StrategyRunState, pid: Int32? = nil, runtime: String? = nil,
        container: String? = nil, restarts: Int = 0, startedAt: Date? = nil, lastExit: String? = nil,
        failure: String? = nil, lastLogLines: [String]? = nil, symbols: [String]? = nil, ticksDelivered: Int = 0,
        ticksDropped: Int = 0, problem: String? = nil, ordersPlaced: Int? = nil, venue: String? = nil
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
        self.ordersPlaced = ordersPlaced
        self.venue = venue
    }

    enum CodingKeys: String, CodingKey {
        case name, member, state, pid, runtime, container, restarts, startedAt = "started_at", lastExit = "last_exit"
        case failure, lastLogLines = "last_log_lines", symbols, ticksDelivered = "ticks_delivered"
        case ticksDropped = "ticks_dropped", problem, ordersPlaced = "orders_placed", venue
    }
}

/// What a start, stop or restart did to one strategy.
public struct StrategyActionResult: Codable, Sendable, Equatable {
    public var name: String
    public var ok: Bool
    public var message: String

    public init(name: String, ok: Bool, message: String) {
        self.name = name
        self.ok = ok
        self.message = message
    }
}

/// What the sandbox applies, and why no strategy can start when it cannot be built.
public struct SandboxView: Codable, Sendable, Equatable {
    public var applied: [String]
    public var problem: String?

    public init(applied: [String], problem: String?) {
        self.applied = applied
        self.problem = problem
    }
}

/// `GET /admin/strategies`.
public struct StrategyStatusReply: Codable, Sendable, Equatable {
    public var strategies: [StrategyStatus]
    public var sandbox: SandboxView

    public init(strategies: [StrategyStatus], sandbox: SandboxView) {
        self.strategies = strategies
        self.sandbox = sandbox
    }
}

/// `POST /admin/strategies/{start,stop,restart}`: `{"names": [...]?}`; none or an empty list means all.
public struct StrategyNames: APIRequestBody, Equatable {
    public var names: [String]?

    public init(names: [String]? = nil) { self.names = names }

    public static let example = #"{"names": ["example_alice"]}"#
}

/// What each strategy acted on made of it.
public struct StrategyActionReply: Codable, Sendable, Equatable {
    public var results: [StrategyActionResult]
    public init(results: [StrategyActionResult]) { self.results = results }

    /// The strategies the action failed for.
    public var failures: [String] { results.filter { !$0.ok }.map(\.name) }
}

/// Start, stop or restart: the three strategy actions and their routes.
public enum StrategyAction: String, Sendable, CaseIterable {
    case start, stop, restart

    /// The admin route (`/admin/strategies/…`: every strategy).
    public var route: Route {
        switch self {
        case .start: Routes.startStrategies
        case .stop: Routes.stopStrategies
        case .restart: Routes.restartStrategies
        }
    }

    /// The member route (`/strategies/…`: the caller's own; an admin's: every strategy).
    public var memberRoute: Route {
        switch self {
        case .start: Routes.startMemberStrategies
        case .stop: Routes.stopMemberStrategies
        case .restart: Routes.restartMemberStrategies
        }
    }
}

/// The last lines of a strategy's log.
public struct StrategyLogReply: Codable, Sendable, Equatable {
    public var lines: [String]
    public init(lines: [String]) { self.lines = lines }
}

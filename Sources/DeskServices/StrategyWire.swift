import DeskAPI
import DeskRunner

extension StrategyStatus {
    /// The API's shape of a supervised strategy (its order count is the ledger's, added by the caller).
    public init(_ strategy: SupervisedStrategy) {
        self.init(
            name: strategy.name, member: strategy.member, state: strategy.state, pid: strategy.pid,
            runtime: strategy.runtime?.rawValue, container: strategy.container, restarts: strategy.restarts,
            startedAt: strategy.startedAt, lastExit: strategy.lastExit, failure: strategy.failure,
            lastLogLines: strategy.lastLogLines, symbols: strategy.symbols, ticksDelivered: strategy.ticksDelivered,
            ticksDropped: strategy.ticksDropped, problem: strategy.problem)
    }
}

extension StrategyActionResult {
    /// The API's shape of what a start, stop or restart did.
    public init(_ result: StrategyCommandResult) {
        self.init(name: result.name, ok: result.ok, message: result.message)
    }
}

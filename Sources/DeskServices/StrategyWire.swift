import DeskAPI
import DeskCore
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

extension ApprovalView {
    /// The API's shape of a promotion request, money as decimal strings.
    public init(_ request: PromotionRequest) {
        let evidence = request.evidence
        self.init(
            id: request.id, member: request.member, strategy: request.strategy, fromVenue: request.fromVenue,
            toVenue: request.toVenue, status: request.status.rawValue, requestedAt: request.requestedAt,
            requestedBy: request.requestedBy, decidedBy: request.decidedBy, decidedAt: request.decidedAt,
            reason: request.reason,
            evidence: EvidenceView(
                venue: evidence.venue, days: evidence.days, orders: evidence.orders, fills: evidence.fills,
                pnl: ExactDecimal.plain(evidence.pnl), maxDrawdown: ExactDecimal.plain(evidence.maxDrawdown),
                sharpe: evidence.sharpe.map(ExactDecimal.plain),
                backtest: evidence.backtest.flatMap(BacktestEvidence.init(stored:))))
    }
}

extension MoveView {
    /// The API's shape of a move.
    public init(_ move: PromotionMove) {
        self.init(
            member: move.member, strategy: move.strategy, fromVenue: move.from, toVenue: move.to,
            canceledOrders: move.canceledOrders, restarted: move.restarted,
            positionsLeft: Dictionary(
                move.positionsLeft.map { ($0.symbol, ExactDecimal.plain($0.qty)) }, uniquingKeysWith: { $1 }),
            positionsNote: move.positionsNote)
    }
}

extension PromoteReply {
    /// The API's shape of what a request or approval came to.
    public init(_ outcome: PromotionOutcome) {
        switch outcome {
        case .pending(let request):
            self.init(
                status: "pending",
                message:
                    "approval \(request.id) is pending: \(request.strategy) moves from \(request.fromVenue) to \(request.toVenue) once an officer approves it",
                approval: ApprovalView(request), move: nil)
        case .moved(let move, let approval):
            self.init(
                status: "moved",
                message: (approval.map { "approval \($0.id) approved by \($0.decidedBy ?? "?"): " } ?? "")
                    + move.summary,
                approval: approval.map(ApprovalView.init), move: MoveView(move))
        }
    }

    /// The API's shape of a rejection.
    public init(rejected request: PromotionRequest) {
        self.init(
            status: "rejected",
            message:
                "approval \(request.id) rejected by \(request.decidedBy ?? "?"): \(request.reason ?? ""); \(request.strategy) stays on \(request.fromVenue)",
            approval: ApprovalView(request), move: nil)
    }
}

/// What an audit line is about (column `action` of `audit_events`, stored as the raw value).
public enum AuditAction: String, Sendable, CaseIterable {
    /// An order request, whatever became of it.
    case order
    /// A cancel request.
    case cancel
    /// A kill switch turned on.
    case halt
    /// A kill switch turned off.
    case resume
    /// A token issued.
    case tokenIssue = "token_issue"
    /// A token revoked.
    case tokenRevoke = "token_revoke"
    /// A member's strategy deployed for the first time.
    case strategyDeploy = "strategy_deploy"
    /// A new version of a member's deployed strategy.
    case strategyDeployVersion = "strategy_deploy_version"
    /// A deployed strategy put back to its previous version.
    case strategyRollback = "strategy_rollback"
    /// A deployed strategy removed.
    case strategyDelete = "strategy_delete"
    /// A strategy moved to another venue, or a request to move it that waits for an approval.
    case strategyPromote = "strategy_promote"
    /// An officer's (or the admin's) approval of a promotion.
    case approvalApprove = "approval_approve"
    /// An officer's (or the admin's) rejection of a promotion.
    case approvalReject = "approval_reject"
    /// A strategy (or a member's book) broke a loss rule on a venue: what the desk did about it.
    case lossBreach = "loss_breach"
    /// A split or dividend applied to a book's position on a venue.
    case corporateAction = "corporate_action"
}

/// What became of the action of an audit line (column `outcome`, stored as the raw value).
public enum AuditOutcome: String, Sendable, CaseIterable {
    /// Done as asked (an order taken, a token issued, a strategy deployed).
    case accepted
    /// Done, for a kill switch.
    case ok
    /// A promotion request recorded, waiting for an officer.
    case pending
    /// An order canceled.
    case canceled
    /// A cancel refused.
    case rejected
    /// Refused (a strategy deploy, rollback or delete).
    case refused
    /// A resume while no kill switch was on.
    case notHalted = "not_halted"
    /// A revoke of a token already revoked.
    case alreadyRevoked = "already_revoked"
    /// An order request whose body could not be read.
    case malformed
    /// An order ticket that broke an order rule.
    case invalid
    /// An order a pre-trade limit refused.
    case riskRejected = "risk_rejected"
    /// An order over the member's order rate.
    case rateLimited = "rate_limited"
    /// An order a kill switch stopped.
    case halted
    /// An order the broker refused.
    case brokerRejected = "broker_rejected"
    /// An order the desk could not handle (storage or broker unreachable).
    case failed
}

/// What the order desk counts (the server's Prometheus metrics implement it).
public protocol OrderDeskMetrics: Sendable {
    /// One order request and how long the pipeline took, by outcome.
    func recordOrder(outcome: OrderOutcome, duration: Duration)
    /// An order request refused before the pipeline (bad body, bad token).
    func recordRefusedRequest(outcome: OrderOutcome)
    /// One fill booked.
    func recordFill()
}

/// What became of an order request: the label of the `desk_orders_total` metric.
/// Every case has its counter, so no outcome can go uncounted.
public enum OrderOutcome: String, Sendable, CaseIterable {
    /// Recorded and at the broker.
    case accepted
    /// The ticket broke an order rule.
    case invalid
    /// A pre-trade limit refused it.
    case riskRejected = "risk_rejected"
    /// Over the member's order rate.
    case rateLimited = "rate_limited"
    /// A kill switch stopped it.
    case halted
    /// The broker refused it.
    case brokerRejected = "broker_rejected"
    /// The desk itself failed.
    case failed
    /// The body could not be read.
    case malformed
    /// No valid token came with it.
    case unauthorized

    /// The outcome its audit line records (a request without a valid token has no audit line).
    public var audit: AuditOutcome? {
        switch self {
        case .accepted: .accepted
        case .invalid: .invalid
        case .riskRejected: .riskRejected
        case .rateLimited: .rateLimited
        case .halted: .halted
        case .brokerRejected: .brokerRejected
        case .failed: .failed
        case .malformed: .malformed
        case .unauthorized: nil
        }
    }
}

import DeskCore
import Testing

/// The audit log's and the metrics' words are stored and scraped: their spellings never change.
@Suite("Audit actions, outcomes and order metric labels")
struct AuditTests {
    @Test(
        "audit actions are stored as today's strings",
        arguments: [
            (AuditAction.order, "order"), (.cancel, "cancel"), (.halt, "halt"), (.resume, "resume"),
            (.tokenIssue, "token_issue"), (.tokenRevoke, "token_revoke"), (.strategyDeploy, "strategy_deploy"),
            (.strategyDeployVersion, "strategy_deploy_version"), (.strategyRollback, "strategy_rollback"),
            (.strategyDelete, "strategy_delete"), (.strategyPromote, "strategy_promote"),
            (.approvalApprove, "approval_approve"), (.approvalReject, "approval_reject"),
            (.lossBreach, "loss_breach"), (.corporateAction, "corporate_action"),
        ])
    func actions(action: AuditAction, stored: String) {
        #expect(action.rawValue == stored)
        #expect(AuditAction(rawValue: stored) == action)
    }

    @Test("every audit action has its spelling in the table above")
    func everyAction() {
        #expect(AuditAction.allCases.count == 15)
    }

    @Test(
        "order outcomes: the metric label and the audit line's outcome (none for a request without a token)",
        arguments: [
            (OrderOutcome.accepted, "accepted", AuditOutcome?.some(.accepted)), (.invalid, "invalid", .invalid),
            (.riskRejected, "risk_rejected", .riskRejected), (.rateLimited, "rate_limited", .rateLimited),
            (.halted, "halted", .halted), (.brokerRejected, "broker_rejected", .brokerRejected),
            (.failed, "failed", .failed), (.malformed, "malformed", .malformed), (.unauthorized, "unauthorized", nil),
        ])
    func orderOutcomes(outcome: OrderOutcome, label: String, audit: AuditOutcome?) {
        #expect(outcome.rawValue == label)
        #expect(outcome.audit == audit)
        #expect(audit.map { $0.rawValue == label } ?? true)
    }

    @Test("the other audit outcomes keep their spellings")
    func otherOutcomes() {
        let stored: [AuditOutcome: String] = [
            .ok: "ok", .canceled: "canceled", .rejected: "rejected", .refused: "refused", .notHalted: "not_halted",
            .alreadyRevoked: "already_revoked", .pending: "pending",
        ]
        for (outcome, text) in stored { #expect(outcome.rawValue == text) }
        #expect(OrderOutcome.allCases.count == 9 && AuditOutcome.allCases.count == 15)
    }
}

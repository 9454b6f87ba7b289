import DeskAPI
import DeskCore
import Foundation

/// What `desk strategies promote` and `desk approvals list|approve|reject` do, through the JSON API.
public enum PromotionCommands {
    /// Asks to move strategy `name` to `venue`, attaching the backtest report under
    /// `backtest` (made absolute here: the desk reads it). Succeeds when a pending
    /// approval was created (and says so, with its id) or the strategy moved.
    public static func promote(name: String, venue: String, backtest: String?, json: Bool, server: ServerOptions)
        async throws
    {
        let folder = backtest.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let reply = try await server.withDesk {
            try await $0.promoteStrategy(name: strategyName(name), to: venue, backtest: folder)
        }
        printLine(json ? try encoded(reply) : TerminalText.escape(reply.message))
    }

    /// The promotion requests the token may see (`--json`: a list of objects).
    public static func list(json: Bool, server: ServerOptions) async throws {
        let reply = try await server.withDesk { try await $0.approvals() }
        printLine(json ? try encoded(reply.approvals) : table(reply.approvals))
    }

    /// Approves request `id` (an officer or the admin, not the requesting member).
    public static func approve(id: Int64, json: Bool, server: ServerOptions) async throws {
        let reply = try await server.withDesk { try await $0.approve(id: id) }
        printLine(json ? try encoded(reply) : TerminalText.escape(reply.message))
    }

    /// Rejects request `id` for `reason`.
    public static func reject(id: Int64, reason: String, json: Bool, server: ServerOptions) async throws {
        let reply = try await server.withDesk { try await $0.reject(id: id, reason: reason) }
        printLine(json ? try encoded(reply) : TerminalText.escape(reply.message))
    }

    /// The requests as a table, with each one's evidence.
    public static func table(_ approvals: [ApprovalView]) -> String {
        if approvals.isEmpty { return "no promotion requests" }
        return TerminalText.escape(
            TextTable(
                headers: [
                    "ID", "STRATEGY", "MEMBER", "FROM", "TO", "STATUS", "REQUESTED", "DECIDED BY", "DAYS", "ORDERS",
                    "FILLS", "P&L", "MAX DD", "SHARPE", "BACKTEST",
                ],
                rows: approvals.map { approval in
                    let evidence = approval.evidence
                    return [
                        "\(approval.id)", approval.strategy, approval.member, approval.fromVenue, approval.toVenue,
                        approval.status, Timestamp.string(approval.requestedAt), approval.decidedBy ?? "-",
                        "\(evidence.days)", "\(evidence.orders)", "\(evidence.fills)", evidence.pnl,
                        evidence.maxDrawdown, evidence.sharpe ?? "-",
                        evidence.backtest.map { "\($0.path) (P&L \($0.totalPnL))" } ?? "-",
                    ]
                }
            ).render())
    }
}

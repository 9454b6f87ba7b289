import DeskAPI
import DeskBroker
import Foundation

/// What `desk halt`, `desk resume` and `desk reconcile` do, through the admin API.
public enum AdminCommands {
    /// What `--help` of these commands says about who may run them.
    public static let adminOnly =
        "Admin only: it needs an admin's token (desk-admin.token beside the ledger, DESK_ADMIN_TOKEN, or --token); a member's token is refused."

    /// The kill switch for `member`, or the whole desk.
    public static func halt(member: String?, reason: String?, server: ServerOptions) async throws {
        _ = try await server.withDesk { try await $0.halt(HaltRequest(member: member, reason: reason)) }
        printLine("halted: \(member ?? "the whole desk")")
    }

    /// Turns the kill switch off.
    public static func resume(member: String?, server: ServerOptions) async throws {
        _ = try await server.withDesk { try await $0.resume(ResumeRequest(member: member)) }
        printLine("resumed: \(member ?? "the whole desk")")
    }

    /// The ledger against the broker's account, now.
    public static func reconcile(json: Bool, server: ServerOptions) async throws {
        let report = try await server.withDesk { try await $0.reconcile(as: ReconciliationReport.self) }
        printLine(json ? try encoded(report) : ReconciliationReports.render(report))
    }
}

/// `value` as the API writes it (sorted keys, exact decimals as strings).
func encoded(_ value: some Encodable) throws -> String {
    String(decoding: try APIJSON.encoder.encode(value), as: UTF8.self)
}

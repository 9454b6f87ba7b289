import DeskAPI
import DeskBroker
import DeskCore
import Foundation

/// What `desk halt`, `desk resume` and `desk reconcile` do, through the admin API.
public enum AdminCommands {
    /// What `--help` of these commands says about who may run them.
    public static let adminOnly =
        "Admin only: it needs an admin's token (desk-admin.token beside the ledger, DESK_ADMIN_TOKEN, or --token); a member's token is refused."

    /// What `--help` of the kill switch commands says about who may run them.
    public static let adminOrOfficer =
        "Admins and officers: it needs an admin's token (desk-admin.token beside the ledger, DESK_ADMIN_TOKEN, or --token) or an officer's (--token); a member's token is refused."

    /// The kill switch for `member`, `venue` or `strategy` (at most one), or the whole desk.
    public static func halt(
        member: String?, venue: String? = nil, strategy: String? = nil, reason: String?, server: ServerOptions
    ) async throws {
        let reply = try await server.withDesk {
            try await $0.halt(HaltRequest(member: member, reason: reason, venue: venue, strategy: strategy))
        }
        printLine("halted: \(HaltRecord.describe(scope: reply.scope))")
    }

    /// Turns the kill switch of `member`, `venue` or `strategy` (or the whole desk's) off.
    public static func resume(
        member: String?, venue: String? = nil, strategy: String? = nil, server: ServerOptions
    ) async throws {
        let reply = try await server.withDesk {
            try await $0.resume(ResumeRequest(member: member, venue: venue, strategy: strategy))
        }
        let what = HaltRecord.describe(scope: reply.scope)
        printLine(reply.status == "not_halted" ? "not halted: \(what)" : "resumed: \(what)")
    }

    /// The ledger against each venue's account (or `venue`'s only), now: one report
    /// per venue that reconciles; JSON: one report, or a list when there are several.
    public static func reconcile(json: Bool, venue: String? = nil, server: ServerOptions) async throws {
        let reply: ReconcileReply = try await server.withDesk {
            try await $0.call(Routes.reconcile, query: QueryParameters(venue.map { [("venue", $0)] } ?? []))
        }
        let reports = reply.reports
        if json {
            printLine(reports.count == 1 ? try encoded(reports[0]) : try encoded(reports))
        } else {
            printLine(reports.map(ReconciliationReports.render).joined(separator: "\n\n"))
        }
    }
}

/// `value` as the API writes it (sorted keys, exact decimals as strings).
func encoded(_ value: some Encodable) throws -> String {
    String(decoding: try APIJSON.encoder.encode(value), as: UTF8.self)
}

/// `POST /admin/reconcile`'s answer: one report, or `{"reports": [...]}` when several venues reconcile.
struct ReconcileReply: Decodable, Sendable {
    var reports: [ReconciliationReport]

    init(from decoder: any Decoder) throws {
        if let several = try? VenueReconciliationReports(from: decoder) {
            reports = several.reports
        } else {
            reports = [try ReconciliationReport(from: decoder)]
        }
    }
}

import DeskBroker
import Foundation

/// `desk reconcile`'s output.
public enum ReconciliationReports {
    /// The report as text: what was checked, then each kind of difference.
    public static func render(_ report: ReconciliationReport) -> String {
        // The venue's name (`alpaca`, `live`); the broker when the desk did not say.
        let venue = report.venue ?? "the broker"
        let column = (report.venue ?? "broker").uppercased()
        var lines = [
            "reconciled at \(report.checked_at): \(report.open_orders_checked) open orders checked, \(report.events_caught_up) missed events booked"
        ]
        if let capital = report.capital {
            lines.append(
                "capital allocated to members: \(ReportFormat.money(capital.allocated)) (\(ReportFormat.count(capital.allocations.count, "member"))); the account's equity at \(venue): \(capital.broker_equity.map(ReportFormat.money) ?? "not reported")"
            )
            if !capital.allocations.isEmpty {
                lines.append(
                    TextTable(
                        headers: ["MEMBER", "CAPITAL"],
                        rows: capital.allocations.sorted { $0.key < $1.key }.map {
                            [$0.key, ReportFormat.money($0.value)]
                        }
                    ).render())
            }
        }
        if report.isClean {
            lines.append("the ledger and \(report.venue.map { "the \($0) account" } ?? "the broker's account") agree")
            return lines.joined(separator: "\n")
        }
        if !report.outside_orders.isEmpty {
            lines.append("open orders at \(venue) that the desk did not place:")
            lines.append(
                TextTable(
                    headers: ["\(column) ID", "SYMBOL", "SIDE", "QTY", "STATUS"],
                    rows: report.outside_orders.map {
                        [$0.alpaca_id, $0.symbol ?? "-", $0.side ?? "-", $0.qty ?? "-", $0.status]
                    }
                ).render())
        }
        if !report.unknown_to_broker.isEmpty {
            lines.append("open orders in the ledger that \(venue) does not know:")
            lines += report.unknown_to_broker.map { "  \($0)" }
        }
        if !report.position_differences.isEmpty {
            lines.append("positions that do not add up (sum of members in the ledger vs the account):")
            lines.append(
                TextTable(
                    headers: ["SYMBOL", "DESK", column],
                    rows: report.position_differences.map { [$0.symbol, $0.desk, $0.broker] }
                ).render())
        }
        return lines.joined(separator: "\n")
    }
}

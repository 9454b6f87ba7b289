import DeskAPI
import DeskServices
import Foundation

/// The web desk's Backtests section: the caller's submitted backtests (an
/// officer's: everyone's) with their status and progress, links to their result
/// files (served by `GET /backtests/{id}/files/{name}` to the page's session), and
/// Cancel on those still queued or running.
extension WebDesk {
    /// The backtests shown (the newest).
    static let backtestsShown = 20

    static func backtestsHTML(_ views: [BacktestView], oversees: Bool) -> String {
        let rows = views.prefix(backtestsShown).map { view -> [String] in
            let files = view.files.map { name in
                "<a href=\"\(HTML.escape(Routes.backtestFile.path(view.id, name)))\">\(HTML.escape(name))</a>"
            }.joined(separator: " ")
            var status = "<span data-backtest-status=\"\(HTML.escape(view.id))\">\(view.status.rawValue)</span>"
            if let error = view.error { status += "<br><small>\(HTML.escape(error))</small>" }
            let cancel =
                view.status.isFinal
                ? ""
                : HTML.action(
                    "Cancel", "POST", Routes.cancelBacktest.path(view.id), body: "{}", name: "cancel-\(view.id)")
            return [HTML.escape(view.id)] + (oversees ? [HTML.escape(view.member)] : []) + [
                HTML.escape(view.strategy), status, "\(view.progress.runsDone)/\(view.progress.runsTotal)",
                HTML.escape(view.cpuSeconds ?? "-"), HTML.escape(view.createdAt), files.isEmpty ? "-" : files, cancel,
            ]
        }
        return HTML.table(
            ["Id"] + (oversees ? ["Member"] : []) + ["Strategy", "Status", "Runs", "CPU s", "Submitted", "Files", ""],
            Array(rows),
            empty: "No backtests yet: desk_client.backtest(folder, data=[...]) or desk backtest --server submit one.",
            label: "Backtests")
    }
}

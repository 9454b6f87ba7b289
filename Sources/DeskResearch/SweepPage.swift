import DeskBacktest
import DeskCore
import Foundation

/// `sweep.html`: the ranked runs as a table (one column per parameter, one row
/// per run, each run's report.html linked), and a heatmap of the ranked figure
/// over two parameters. Self-contained like report.html: no script, nothing fetched.
public enum SweepPage {
    /// The table's figure columns, after rank, run and the parameters.
    public static let figureColumns: [(title: String, figure: RankBy?)] = [
        ("TOTAL P&L", .totalPnL), ("SHARPE", .sharpe), ("SORTINO", .sortino), ("CALMAR", .calmar),
        ("MAX DD", .maxDrawdown), ("FILLS", nil),
    ]

    /// The page of `report`, its heatmap over `heatmap` (one or two parameter names).
    public static func render(_ report: SweepReport, heatmap: [String]) -> String {
        let escape = ReportPage.escape
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Sweep: \(report.runsTotal) runs by \(report.rankBy.rawValue)</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:1.5rem;color:#111;max-width:80rem}
            table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-variant-numeric:tabular-nums}
            th,td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:right;white-space:nowrap}
            .failed{color:#a3141b}.scroll{overflow-x:auto}
            #heatmap td{border:1px solid #fff;min-width:4rem;text-align:center}
            </style></head><body>
            <h1>Sweep</h1>
            <p>\(report.runsTotal) runs (\(escape(report.method))\(report.seed.map { ", seed \($0)" } ?? "")), \
            ranked by \(escape(report.rankBy.rawValue)) (\(report.rankBy == .maxDrawdown ? "lower" : "higher") is better)\
            \(report.from.map { ", from \(escape($0))" } ?? "")\(report.to.map { " to \(escape($0))" } ?? "")\
            \(report.runsFailed > 0 ? "; <strong class=\"failed\">\(report.runsFailed) failed</strong>" : "").</p>

            """
        html += heatmapSection(report, axes: heatmap)
        html += "<h2>Runs</h2>\n<div class=\"scroll\"><table id=\"runs\"><thead><tr><th>RANK</th><th>RUN</th>"
        html += report.parameters.map { "<th class=\"param\">\(escape($0))</th>" }.joined()
        html += figureColumns.map { "<th>\(escape($0.title))</th>" }.joined() + "<th>REPORT</th></tr></thead><tbody>\n"
        for run in report.runs {
            html += "<tr id=\"run-\(escape(run.id))\"><td>\(run.rank)</td><td>\(escape(run.id))</td>"
            html += report.parameters.map { "<td>\(escape(run.params[$0] ?? ""))</td>" }.joined()
            if let page = run.reportPage {
                for (_, figure) in figureColumns {
                    let text = figure.map { run.figure($0) ?? "-" } ?? run.fills.map(String.init) ?? "-"
                    html += "<td>\(escape(text))</td>"
                }
                html += "<td><a href=\"\(escape(page))\">report</a></td>"
            } else {
                html +=
                    "<td colspan=\"\(figureColumns.count + 1)\" class=\"failed\" style=\"text-align:left\">failed: \(escape(run.failure ?? "unknown"))</td>"
            }
            html += "</tr>\n"
        }
        html += "</tbody></table></div>\n"
        let failed = report.runs.filter { $0.failure != nil }
        if !failed.isEmpty {
            html += "<h2>Failed runs</h2>\n"
            for run in failed {
                let params = report.parameters.map { "\($0)=\(run.params[$0] ?? "")" }.joined(separator: " ")
                html += "<h3>\(escape(run.id)): \(escape(params))</h3>\n<p>\(escape(run.failure ?? ""))</p>\n"
                html += "<pre>\(escape((run.logTail ?? []).joined(separator: "\n")))</pre>\n"
            }
        }
        return html + "</body></html>\n"
    }

    /// The heatmap: rows the first axis' values, columns the second's; each cell the
    /// ranked figure of the best run with those two values (linked to its report).
    static func heatmapSection(_ report: SweepReport, axes: [String]) -> String {
        let escape = ReportPage.escape
        guard let rowName = axes.first else { return "" }
        let columnName = axes.count > 1 ? axes[1] : nil
        let byId = report.runs.sorted { $0.id < $1.id }
        let rowValues = values(of: rowName, in: byId)
        let columnValues = columnName.map { values(of: $0, in: byId) } ?? [""]
        // Runs are in rank order: the first with a cell's values is its best.
        var cells: [String: SweepReport.Run] = [:]
        for run in report.runs {
            let key = "\(run.params[rowName] ?? "")\u{0}\(columnName.flatMap { run.params[$0] } ?? "")"
            if cells[key] == nil { cells[key] = run }
        }
        let figures = report.runs.compactMap { $0.figure(report.rankBy).flatMap(decimal) }
        let low = figures.min() ?? 0
        let high = figures.max() ?? 0
        var html = "<h2>Heatmap: \(escape(report.rankBy.rawValue))"
        html += " by \(escape(rowName))\(columnName.map { " and \(escape($0))" } ?? "")</h2>\n"
        if report.parameters.count > 2 {
            html += "<p>Each cell is the best run with those two values over the other parameters.</p>\n"
        }
        html += "<div class=\"scroll\"><table id=\"heatmap\"><thead><tr><th>\(escape(rowName)) \\ "
        html += "\(escape(columnName ?? ""))</th>"
        html += columnValues.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        for row in rowValues {
            html += "<tr><th>\(escape(row))</th>"
            for column in columnValues {
                guard let run = cells["\(row)\u{0}\(column)"] else {
                    html += "<td>-</td>"
                    continue
                }
                guard let text = run.figure(report.rankBy), let value = decimal(text) else {
                    html += "<td title=\"run \(escape(run.id))\">\(run.failure == nil ? "-" : "failed")</td>"
                    continue
                }
                var share = high > low ? NSDecimalNumber(decimal: (value - low) / (high - low)).doubleValue : 1
                if report.rankBy == .maxDrawdown { share = 1 - share }
                let hue = Int((share * 120).rounded())
                html +=
                    "<td style=\"background:hsl(\(hue),65%,78%)\"><a href=\"\(escape(run.reportPage ?? ""))\" title=\"run \(escape(run.id)), rank \(run.rank)\">\(escape(text))</a></td>"
            }
            html += "</tr>\n"
        }
        return html + "</tbody></table></div>\n"
    }

    /// The values `name` takes in `runs`: in numeric order when all are decimals, else in run order.
    static func values(of name: String, in runs: [SweepReport.Run]) -> [String] {
        var seen = Set<String>()
        let values = runs.compactMap { $0.params[name] }.filter { seen.insert($0).inserted }
        let numbers = values.compactMap(decimal)
        guard numbers.count == values.count else { return values }
        return zip(values, numbers).sorted { $0.1 < $1.1 }.map(\.0)
    }

    static func decimal(_ text: String) -> Decimal? {
        if case .success(let value) = ExactDecimal.parse(text) { return value }
        return nil
    }
}

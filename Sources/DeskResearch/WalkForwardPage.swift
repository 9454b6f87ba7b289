import DeskBacktest
import Foundation

/// `walkforward.html`: per member, in-sample and out-of-sample side by side and the
/// stitched out-of-sample equity (inline SVG, as report.html draws); then every
/// window with its chosen parameters and links to its training sweep and test
/// report. Nothing fetched: it opens from the file anywhere.
public enum WalkForwardPage {
    /// The page of `report`; `equity`: each member's stitched out-of-sample curve.
    public static func render(_ report: WalkForwardReport, equity: [String: [EquityPoint]]) -> String {
        let escape = ReportPage.escape
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Walk-forward \(escape(report.data.description))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:1.5rem;color:#111;max-width:72rem}
            table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-variant-numeric:tabular-nums}
            th,td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:right;white-space:nowrap}
            th:first-child,td:first-child{text-align:left}
            td.params{text-align:left;white-space:normal}
            .gain{color:#0a6b2d}.loss{color:#a3141b}
            figure{margin:0 0 2rem}svg{max-width:100%;height:auto;background:#fafafa;border:1px solid #ddd}
            .scroll{overflow-x:auto}
            </style></head><body>
            <h1>Walk-forward</h1>
            <p>\(escape(report.walkForward)) (\(report.spec.trainDays)-day training windows\(report.spec.anchored ? " from the data's first day (anchored)" : ""), \(report.spec.testDays)-day test windows, moving \(report.spec.stepDays) day\(report.spec.stepDays == 1 ? "" : "s")) over \(escape(report.data.description)) (New York dates);
            \(report.combinations) runs per training window, the best by \(escape(report.rankBy.rawValue)) tried on the test window after it.
            Capital \(BacktestReport.money(report.capital)) per member.</p>

            """
        for member in report.members.keys.sorted() {
            let comparison = report.members[member]!
            html += "<h2>\(escape(member))</h2>\n"
            html += "<table class=\"comparison\" id=\"comparison-\(escape(member))\"><thead><tr>"
            html += "<th></th><th>In-sample</th><th>Out-of-sample</th></tr></thead><tbody>\n"
            for row in WalkForwardReport.comparisonRows(comparison) {
                html += "<tr><td>\(escape(row[0]))</td>\(cell(row[1]))\(cell(row[2]))</tr>\n"
            }
            html += "</tbody></table>\n"
            let efficiency = comparison.walkForwardEfficiency ?? "-"
            html +=
                "<p>Walk-forward efficiency (annualized out-of-sample return over in-sample): <b>\(escape(efficiency))</b>; P&amp;L per day out-of-sample minus in-sample: \(escape(BacktestReport.money(comparison.pnlPerDayDifference, signed: true))).</p>\n"
            let points = chartPoints(equity[member] ?? [])
            html +=
                "<figure><figcaption>Out-of-sample equity, test windows stitched</figcaption>\n\(ReportPage.chart(points, id: "equity-\(member)", fill: false))</figure>\n"
        }
        html += "<h2>Windows</h2>\n<div class=\"scroll\"><table id=\"windows\"><thead><tr>"
        html += WalkForwardReport.windowColumns.map { "<th>\(escape($0))</th>" }.joined()
        html += "<th>RUNS</th></tr></thead><tbody>\n"
        let links = Dictionary(
            report.windows.map { window in
                var text = "<a href=\"\(escape(window.trainSweep))/sweep.html\">train sweep</a>"
                if let test = window.testRun { text += " · <a href=\"\(escape(test))/report.html\">test report</a>" }
                return (String(window.window), text)
            }, uniquingKeysWith: { first, _ in first })
        for row in report.windowRows() {
            html += "<tr>"
            for (index, value) in row.enumerated() {
                html += index == 3 ? "<td class=\"params\">\(escape(value))</td>" : cell(value)
            }
            html += "<td>\(links[row[0]] ?? "")</td></tr>\n"
        }
        html += "</tbody></table></div>\n"
        if !report.skipped.isEmpty {
            html += "<h2>Skipped windows</h2>\n<ul id=\"skipped\">\n"
            for skipped in report.skipped {
                html +=
                    "<li>window \(skipped.window): train \(escape(skipped.train.description)), test \(escape(skipped.test.description)): \(escape(skipped.reason))</li>\n"
            }
            html += "</ul>\n"
        }
        if !report.failures.isEmpty {
            html += "<h2>Failed runs</h2>\n<ul id=\"failures\">\n"
            for failure in report.failures {
                html +=
                    "<li>\(escape(failure.run)) (\(escape(WalkForwardReport.paramsText(failure.params)))): \(escape(failure.failure))</li>\n"
            }
            html += "</ul>\n"
        }
        return html + "</body></html>\n"
    }

    /// A table cell, coloured by its sign when it is money or a percentage.
    static func cell(_ text: String) -> String {
        let kind = text.hasPrefix("+") ? " class=\"gain\"" : text.hasPrefix("-") && text != "-" ? " class=\"loss\"" : ""
        return "<td\(kind)>\(ReportPage.escape(text))</td>"
    }

    /// The chart's points: by time when the curve moves forward in time, else (overlapping
    /// test windows) one step per point, so the segments follow each other.
    static func chartPoints(_ curve: [EquityPoint]) -> [(Date, Decimal)] {
        let forward = zip(curve, curve.dropFirst()).allSatisfy { $0.at <= $1.at }
        let points = ReportPage.thin(curve.map { (at: $0.at, equity: $0.equity) })
        if forward { return points.map { ($0.at, $0.equity) } }
        return points.enumerated().map { (Date(timeIntervalSince1970: Double($0.offset)), $0.element.equity) }
    }
}

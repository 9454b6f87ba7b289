import DeskCore
import Foundation

/// `report.html`: the report's tables and, per member, an equity curve and a
/// drawdown chart as inline SVG. The page carries everything itself — no
/// script, no font, nothing fetched — so it opens from the file anywhere.
public enum ReportPage {
    /// Points drawn per chart at most (a long run is thinned evenly).
    public static let maximumPoints = 1_500

    /// The page for `report`; `equity` is each member's equity over time (the tracker's samples).
    public static func render(_ report: BacktestReport, equity: [String: [(at: Date, equity: Decimal)]]) -> String {
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Backtest \(escape(report.start)) – \(escape(report.end))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:1.5rem;color:#111;max-width:72rem}
            table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-variant-numeric:tabular-nums}
            th,td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:right;white-space:nowrap}
            th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}
            .gain{color:#0a6b2d}.loss{color:#a3141b}
            figure{margin:0 0 2rem}svg{max-width:100%;height:auto;background:#fafafa;border:1px solid #ddd}
            .scroll{overflow-x:auto}
            </style></head><body>
            <h1>Backtest</h1>
            <p>\(report.ticks) ticks from \(escape(report.start)) to \(escape(report.end)); market orders filled at the
            \(report.fillAt == "same-tick" ? "same tick" : "next tick"); capital \(BacktestReport.money(report.capital)) per member;
            commission \(escape(report.commissionPerShare)) per share; slippage \(escape(report.slippageBps)) bps.</p>
            <div class="scroll"><table id="results"><thead><tr>
            """
        html += BacktestReport.columns.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        for row in report.rows() {
            html += "<tr>"
            for (index, cell) in row.enumerated() {
                let kind =
                    index == 7
                    ? (cell.hasPrefix("+") ? " class=\"gain\"" : cell.hasPrefix("-") ? " class=\"loss\"" : "") : ""
                html += "<td\(kind)>\(escape(cell))</td>"
            }
            html += "</tr>\n"
        }
        html += "</tbody></table></div>\n"
        for member in report.members.keys.sorted() {
            let whole = equity[member] ?? []
            let series = thin(whole)
            html += "<h2>\(escape(member))</h2>\n"
            html +=
                "<figure><figcaption>Equity</figcaption>\n\(chart(series.map { ($0.at, $0.equity) }, id: "equity-\(member)", fill: false))</figure>\n"
            // From every sample, then thinned: the chart's deepest point is the table's max drawdown.
            var peak = whole.first?.equity ?? 0
            let drawdown = thin(
                whole.map { point in
                    peak = max(peak, point.equity)
                    return (at: point.at, equity: point.equity - peak)
                })
            html +=
                "<figure><figcaption>Drawdown</figcaption>\n\(chart(drawdown.map { ($0.at, $0.equity) }, id: "drawdown-\(member)", fill: true))</figure>\n"
        }
        return html + "</body></html>\n"
    }

    /// An SVG line (or filled area below zero) of `points`, with its range labelled.
    public static func chart(_ points: [(Date, Decimal)], id: String, fill: Bool) -> String {
        let (width, height, margin) = (800.0, 220.0, 40.0)
        guard let first = points.first, let last = points.last else {
            return
                "<svg id=\"\(escape(id))\" viewBox=\"0 0 \(Int(width)) 40\"><text x=\"10\" y=\"25\">no data</text></svg>"
        }
        let values = points.map { NSDecimalNumber(decimal: $0.1).doubleValue }
        var low = values.min()!
        var high = values.max()!
        if fill { high = max(high, 0) }
        if high == low {
            high += 1
            low -= 1
        }
        let start = first.0.timeIntervalSince1970
        let span = max(last.0.timeIntervalSince1970 - start, 1)
        func x(_ date: Date) -> Double { margin + (date.timeIntervalSince1970 - start) / span * (width - 2 * margin) }
        func y(_ value: Double) -> Double { height - margin / 2 - (value - low) / (high - low) * (height - margin) }
        var path = zip(points, values).map { String(format: "%.1f,%.1f", x($0.0.0), y($0.1)) }.joined(separator: " ")
        if fill {
            path = String(format: "%.1f,%.1f ", x(first.0), y(0)) + path + String(format: " %.1f,%.1f", x(last.0), y(0))
        }
        let shape =
            fill
            ? "<polygon points=\"\(path)\" fill=\"#e8a0a4\" stroke=\"#a3141b\" stroke-width=\"1\"/>"
            : "<polyline points=\"\(path)\" fill=\"none\" stroke=\"#1f4e9c\" stroke-width=\"1.5\"/>"
        func label(_ value: Double) -> String { ExactDecimal.fixed(Decimal(value), scale: 2) }
        return """
            <svg id="\(escape(id))" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(escape(id))">
            \(shape)
            <text x="4" y="14" font-size="11">\(label(high))</text><text x="4" y="\(Int(height) - 6)" font-size="11">\(label(low))</text>
            </svg>
            """
    }

    /// At most `maximumPoints`: the series cut into equal buckets, each kept by its
    /// lowest and its highest point (in time order), with the first and last points —
    /// so a chart of it shows every extreme the series has and never contradicts the
    /// report's table (its max drawdown, its best and worst equity).
    public static func thin(_ series: [(at: Date, equity: Decimal)]) -> [(at: Date, equity: Decimal)] {
        guard series.count > maximumPoints else { return series }
        let buckets = (maximumPoints - 2) / 2
        let size = (series.count + buckets - 1) / buckets
        var kept = [0]
        for start in stride(from: 0, to: series.count, by: size) {
            var low = start
            var high = start
            for index in start..<min(start + size, series.count) {
                if series[index].equity < series[low].equity { low = index }
                if series[index].equity > series[high].equity { high = index }
            }
            kept += [min(low, high), max(low, high)]
        }
        kept.append(series.count - 1)
        var last = -1
        return kept.compactMap { index in
            guard index > last else { return nil }
            last = index
            return series[index]
        }
    }

    /// `text` safe inside HTML text and attribute values.
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

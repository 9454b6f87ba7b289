import DeskCore
import Foundation

/// Building the web desk's HTML: every value that comes from data passes
/// `escape`, so a strategy name, a log line or a reject reason is text, never markup.
enum HTML {
    /// `text` with `&`, `<`, `>`, `"` and `'` written as entities.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// A P&L amount: two decimals with its sign (`+12.50`, `-3.00`, `0.00`), and a
    /// class that colours it; the sign alone says gain or loss.
    static func pnl(_ text: String?) -> String {
        guard let text, case .success(let value) = ExactDecimal.parse(text) else { return "<span>-</span>" }
        let fixed = ExactDecimal.fixed(value, scale: 2)
        if fixed.hasPrefix("-") { return "<span class=\"loss\">\(escape(fixed))</span>" }
        if fixed == "0.00" { return "<span>0.00</span>" }
        return "<span class=\"gain\">+\(escape(fixed))</span>"
    }

    /// An amount of money without a sign convention: two decimals.
    static func money(_ text: String?) -> String {
        guard let text, case .success(let value) = ExactDecimal.parse(text) else { return "-" }
        return escape(ExactDecimal.fixed(value, scale: 2))
    }

    /// A table with `headers` and rows of cells (already HTML); `empty` when there are no rows.
    static func table(_ headers: [String], _ rows: [[String]], empty: String, label: String) -> String {
        guard !rows.isEmpty else { return "<p class=\"empty\">\(escape(empty))</p>" }
        var html = "<div class=\"scroll\"><table aria-label=\"\(escape(label))\"><thead><tr>"
        for header in headers { html += "<th scope=\"col\">\(escape(header))</th>" }
        html += "</tr></thead><tbody>"
        for row in rows { html += "<tr>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>" }
        return html + "</tbody></table></div>"
    }

    /// A button the page's script sends as `method path` with `body` (JSON), with the session's CSRF value;
    /// with `reasonField`, the body is `{"reason": …}` from the input of that id.
    static func action(
        _ label: String, _ method: String, _ path: String, body: String? = nil, name: String,
        reasonField: String? = nil
    ) -> String {
        var html = "<button type=\"button\" data-method=\"\(method)\" data-path=\"\(escape(path))\""
        if let body { html += " data-body=\"\(escape(body))\"" }
        if let reasonField { html += " data-reason=\"\(escape(reasonField))\"" }
        return html + " data-name=\"\(escape(name))\">\(escape(label))</button>"
    }

    /// A time as `14:30:05` (UTC) with the full time as its title.
    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        let full = Timestamp.string(date)
        let clock = full.split(separator: "T").last.map { String($0.prefix(8)) } ?? full
        return "<time datetime=\"\(escape(full))\" title=\"\(escape(full))\">\(escape(clock))</time>"
    }

    /// An equity curve as inline SVG: the line, the zero line, and the first, last, lowest and highest values.
    static func equityChart(_ points: [(Date, Decimal)], label: String) -> String {
        guard points.count >= 2, let first = points.first?.0, let last = points.last?.0 else {
            return "<p class=\"empty\">No equity history yet: the curve starts with the first position.</p>"
        }
        let values = points.map { NSDecimalNumber(decimal: $0.1).doubleValue }
        let lowest = min(points.map(\.1).min() ?? 0, 0)
        let highest = max(points.map(\.1).max() ?? 0, 0)
        let low = min(values.min() ?? 0, 0)
        let high = max(values.max() ?? 0, 0)
        let span = max(high - low, 0.01)
        let duration = max(last.timeIntervalSince(first), 1)
        let (width, height, pad) = (600.0, 180.0, 8.0)
        func x(_ date: Date) -> Double { pad + (width - 2 * pad) * date.timeIntervalSince(first) / duration }
        func y(_ value: Double) -> Double { pad + (height - 2 * pad) * (high - value) / span }
        let line = zip(points, values).map { String(format: "%.1f,%.1f", x($0.0.0), y($0.1)) }.joined(separator: " ")
        let zero = String(format: "%.1f", y(0))
        let lastValue = ExactDecimal.fixed(points.last!.1, scale: 2)
        let signed = lastValue.hasPrefix("-") || lastValue == "0.00" ? lastValue : "+" + lastValue
        return """
            <figure><svg viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(escape(label)): now \(escape(signed))" class="chart">\
            <line x1="\(pad)" y1="\(zero)" x2="\(width - pad)" y2="\(zero)" class="zero"/>\
            <polyline points="\(line)" class="curve"/></svg>\
            <figcaption>\(escape(label)) from \(time(first)) to \(time(last)): now <strong>\(pnl(ExactDecimal.plain(points.last!.1)))</strong>, \
            low \(pnl(ExactDecimal.plain(lowest))), high \(pnl(ExactDecimal.plain(highest)))</figcaption></figure>
            """
    }
}

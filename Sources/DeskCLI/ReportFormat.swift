import DeskCore
import Foundation

/// How the CLI and the demo show numbers to people. Money has two decimals,
/// rounded half away from zero (2.345 → 2.35, as people round money); P&L carries
/// its sign; prices keep the precision they have (at least two decimals, at most
/// four, the sub-penny rule's finest); quantities are exact. Exact values stay in
/// `--json` and the API.
public enum ReportFormat {
    /// `1909.71`, `-0.43`, `26.10`.
    public static func money(_ value: Decimal) -> String { ExactDecimal.fixed(value, scale: 2) }

    /// `+26.10`, `-40.00`, `0.00`.
    public static func pnl(_ value: Decimal) -> String {
        let text = money(value)
        return text.hasPrefix("-") || text == "0.00" ? text : "+" + text
    }

    /// `145.50`, `0.1234`, `190.971` (an average of fills 190.97098: rounded to four
    /// decimals, then without the zeros that rounding left at the end).
    public static func price(_ value: Decimal) -> String {
        let digits = max(2, min(4, ExactDecimal.significantFractionDigits(value)))
        var text = ExactDecimal.fixed(value, scale: digits)
        while let point = text.firstIndex(of: "."), text.distance(from: point, to: text.endIndex) > 3,
            text.hasSuffix("0")
        {
            text.removeLast()
        }
        return text
    }

    /// A money figure the desk sent as a decimal string, as money (`989272.1` → `989272.10`); other text as it is.
    public static func money(_ text: String) -> String {
        Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")).map(money) ?? text
    }

    /// `10`, `2.5`: exact.
    public static func quantity(_ value: Decimal) -> String { ExactDecimal.plain(value) }

    /// `1 file`, `2 files`, `0 files`.
    public static func count(_ value: Int, _ noun: String) -> String { "\(value) \(noun)\(value == 1 ? "" : "s")" }
}

import Foundation

/// The one way the desk writes and reads ISO-8601 times (`2026-11-25T14:30:00Z`):
/// in logs, reports, query parameters and JSON. Format styles are values, so
/// nothing is shared between threads and nothing is allocated per call site.
public enum Timestamp {
    /// `2026-11-25T14:30:00Z` (UTC, whole seconds).
    public static func string(_ date: Date) -> String { date.formatted(seconds) }

    /// `2026-11-25T14:30:00.123Z` (UTC, milliseconds).
    public static func preciseString(_ date: Date) -> String { date.formatted(milliseconds) }

    /// The time `text` names: `2026-11-25T14:30:00Z`, with fractional seconds (any
    /// number of digits: alpaca-py sends microseconds) or an offset (`+01:00`) too,
    /// or a day alone (`2026-11-25`: its start in UTC); nil when it is none of these.
    public static func date(_ text: String) -> Date? {
        if let date = (try? milliseconds.parse(text)) ?? (try? seconds.parse(text)) { return date }
        if let day = day(text) { return day }
        // More than milliseconds: read the whole seconds, then add the fraction.
        if let dot = text.firstIndex(of: "."), let end = text[dot...].firstIndex(where: { "Z+-".contains($0) }) {
            let fraction = text[text.index(after: dot)..<end]
            guard !fraction.isEmpty, fraction.allSatisfy(\.isNumber),
                let whole = (try? seconds.parse(String(text[..<dot] + text[end...])))
            else { return nil }
            return whole.addingTimeInterval(Double("0." + fraction) ?? 0)
        }
        return nil
    }

    /// `2026-11-25` as the start of that day in UTC; nil for anything else.
    public static func day(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, parts.map(\.count) == [4, 2, 2],
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
            calendar.dateComponents([.year, .month, .day], from: date)
                == DateComponents(year: year, month: month, day: day)
        else { return nil }
        return date
    }

    private static let seconds = Date.ISO8601FormatStyle()
    private static let milliseconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}

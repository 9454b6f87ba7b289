import Foundation

/// The one way the desk writes and reads ISO-8601 times (`2026-11-25T14:30:00Z`):
/// in logs, reports, query parameters and JSON. Format styles are values, so
/// nothing is shared between threads and nothing is allocated per call site.
public enum Timestamp {
    /// `2026-11-25T14:30:00Z` (UTC, whole seconds).
    public static func string(_ date: Date) -> String { date.formatted(seconds) }

    /// `2026-11-25T14:30:00.123Z` (UTC, milliseconds).
    public static func preciseString(_ date: Date) -> String { date.formatted(milliseconds) }

    /// The time `text` names: `2026-11-25T14:30:00Z`, with fractional seconds or an
    /// offset (`+01:00`) too; nil when it is not an ISO-8601 time.
    public static func date(_ text: String) -> Date? {
        (try? milliseconds.parse(text)) ?? (try? seconds.parse(text))
    }

    private static let seconds = Date.ISO8601FormatStyle()
    private static let milliseconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}

import DeskCore
import Foundation

/// Times as the ledger stores them: `yyyy-MM-dd HH:mm:ss.SSS` in UTC, the text
/// GRDB writes and reads for a `Date`, formatted by `UTCTimestamp` rather than a
/// `DateFormatter` (the order path writes several per order, and the formatter
/// was a measurable share of it).
enum LedgerTime {
    /// `date` as stored text.
    static func text(_ date: Date) -> String { UTCTimestamp.iso8601(date, style: .storage) }
}

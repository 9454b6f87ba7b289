import Foundation

/// Times as the ledger stores them: `yyyy-MM-dd HH:mm:ss.SSS` in UTC, the text
/// GRDB writes and reads for a `Date`, formatted here without a `DateFormatter`
/// (the order path writes several per order, and the formatter was a measurable
/// share of it). Milliseconds are truncated, as the formatter does.
enum LedgerTime {
    /// `date` as stored text.
    static func text(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let (days, millisecondOfDay) = floorDivision(milliseconds, 86_400_000)
        let (year, month, day) = civil(days: days)
        let second = millisecondOfDay / 1000
        var bytes = [UInt8]()
        bytes.reserveCapacity(23)
        append(&bytes, year, digits: 4)
        bytes.append(UInt8(ascii: "-"))
        append(&bytes, month, digits: 2)
        bytes.append(UInt8(ascii: "-"))
        append(&bytes, day, digits: 2)
        bytes.append(UInt8(ascii: " "))
        append(&bytes, second / 3600, digits: 2)
        bytes.append(UInt8(ascii: ":"))
        append(&bytes, second / 60 % 60, digits: 2)
        bytes.append(UInt8(ascii: ":"))
        append(&bytes, second % 60, digits: 2)
        bytes.append(UInt8(ascii: "."))
        append(&bytes, millisecondOfDay % 1000, digits: 3)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value >= 0 ? value / divisor : -((-value - 1) / divisor) - 1
        return (quotient, value - quotient * divisor)
    }

    /// Year, month and day of `days` since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm).
    private static func civil(days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func append(_ bytes: inout [UInt8], _ value: Int64, digits: Int) {
        var divisor: Int64 = 1
        for _ in 1..<digits { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }
}

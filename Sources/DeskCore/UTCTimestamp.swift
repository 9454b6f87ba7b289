import Foundation

/// ISO-8601 and epoch timestamps, written and read by hand: this runs once per tick
/// (and once per replayed line, and for every time the ledger stores), where
/// `ISO8601DateFormatter` or `DateFormatter` would cost far more and is not `Sendable`.
public enum UTCTimestamp {
    /// How a time is written.
    public enum Style: Sendable {
        /// `2026-11-25T14:30:00.123Z` (ticks, the wire).
        case iso8601
        /// `2026-11-25 14:30:00.123`: the text GRDB stores for a `Date` (the ledger).
        case storage
    }

    /// Appends `2026-11-25T14:30:00.123Z` (or the `storage` style): UTC, milliseconds
    /// truncated. Dates too far out for a four-digit year are clamped to 0000-01-01
    /// and 9999-12-31.
    public static func appendISO8601(_ date: Date, style: Style = .iso8601, to out: inout [UInt8]) {
        // Round to the microsecond first so a Date read from "…00.123Z" (stored as
        // …00.12299999) still prints .123, then floor to the millisecond.
        let microseconds = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let lowest = -62_167_219_200_000_000.0  // 0000-01-01T00:00:00Z
        let highest = 253_402_300_799_999_999.0  // 9999-12-31T23:59:59.999999Z
        let clamped = Int64(min(max(microseconds.isNaN ? 0 : microseconds, lowest), highest))
        let milliseconds = floorDivide(clamped, 1000)
        let seconds = floorDivide(milliseconds, 1000)
        let millisecond = milliseconds - seconds * 1000
        let days = floorDivide(seconds, 86_400)
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        appendDigits(year, count: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(month, count: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(day, count: 2, to: &out)
        out.append(style == .iso8601 ? UInt8(ascii: "T") : UInt8(ascii: " "))
        appendDigits(secondOfDay / 3600, count: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, count: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, count: 2, to: &out)
        out.append(UInt8(ascii: "."))
        appendDigits(millisecond, count: 3, to: &out)
        if style == .iso8601 { out.append(UInt8(ascii: "Z")) }
    }

    /// `2026-11-25T14:30:00.123Z` (or the `storage` style) as text.
    public static func iso8601(_ date: Date, style: Style = .iso8601) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendISO8601(date, style: style, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads an ISO-8601 / RFC 3339 date-time or an epoch number; nil when it is neither.
    ///
    /// - ISO-8601: `YYYY-MM-DDTHH:MM[:SS[.fraction]]` then `Z`, `±HH:MM`, `±HHMM` or
    ///   `±HH`; a space may stand for the `T`; no zone means UTC. Up to nine fraction
    ///   digits are kept.
    /// - Epoch: plain digits with an optional fraction, in seconds, or in milliseconds,
    ///   microseconds or nanoseconds when the whole part is at least 10¹¹, 10¹⁴ or 10¹⁷
    ///   (10¹¹ seconds is the year 5138; 10¹¹ milliseconds is 1973).
    public static func parse<Bytes: Collection<UInt8>>(_ text: Bytes) -> Date? where Bytes.Index == Int {
        guard let first = text.first else { return nil }
        if isDigit(first), text.count >= 10, text[text.startIndex + 4] == UInt8(ascii: "-") {
            return parseISO8601(text)
        }
        return parseEpoch(text)
    }

    /// ``parse(_:)`` for a string.
    public static func parse(_ text: String) -> Date? { parse(Array(text.utf8)) }

    private static func parseEpoch<Bytes: Collection<UInt8>>(_ text: Bytes) -> Date? where Bytes.Index == Int {
        var whole: Int64 = 0
        var index = text.startIndex
        var digits = 0
        while index < text.endIndex, isDigit(text[index]) {
            let (times, overflow1) = whole.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(text[index] - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            whole = sum
            digits += 1
            index += 1
        }
        if digits == 0 { return nil }
        var fraction = 0.0
        if index < text.endIndex {
            guard text[index] == UInt8(ascii: "."), index + 1 < text.endIndex else { return nil }
            index += 1
            var scale = 0.1
            while index < text.endIndex {
                guard isDigit(text[index]) else { return nil }
                fraction += Double(text[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
        }
        let unitsPerSecond: Int64 =
            switch whole {
            case 100_000_000_000_000_000...: 1_000_000_000
            case 100_000_000_000_000...: 1_000_000
            case 100_000_000_000...: 1000
            default: 1
            }
        let seconds = whole / unitsPerSecond
        let remainder = Double(whole % unitsPerSecond) + fraction
        return Date(timeIntervalSince1970: Double(seconds) + remainder / Double(unitsPerSecond))
    }

    private static func parseISO8601<Bytes: Collection<UInt8>>(_ text: Bytes) -> Date? where Bytes.Index == Int {
        var index = text.startIndex
        func number(_ count: Int) -> Int64? {
            guard text.endIndex - index >= count else { return nil }
            var value: Int64 = 0
            for _ in 0..<count {
                guard isDigit(text[index]) else { return nil }
                value = value * 10 + Int64(text[index] - UInt8(ascii: "0"))
                index += 1
            }
            return value
        }
        func skip(_ byte: UInt8) -> Bool {
            guard index < text.endIndex, text[index] == byte else { return false }
            index += 1
            return true
        }
        guard let year = number(4), skip(UInt8(ascii: "-")), let month = number(2), skip(UInt8(ascii: "-")),
            let day = number(2)
        else { return nil }
        guard skip(UInt8(ascii: "T")) || skip(UInt8(ascii: "t")) || skip(UInt8(ascii: " ")) else { return nil }
        guard let hour = number(2), skip(UInt8(ascii: ":")), let minute = number(2) else { return nil }
        var second: Int64 = 0
        var nanoseconds: Int64 = 0
        if skip(UInt8(ascii: ":")) {
            guard let value = number(2) else { return nil }
            second = value
            if skip(UInt8(ascii: ".")) || skip(UInt8(ascii: ",")) {
                var digits = 0
                while index < text.endIndex, isDigit(text[index]) {
                    if digits < 9 { nanoseconds = nanoseconds * 10 + Int64(text[index] - UInt8(ascii: "0")) }
                    digits += 1
                    index += 1
                }
                if digits == 0 { return nil }
                for _ in digits..<max(digits, 9) { nanoseconds *= 10 }
            }
        }
        var offsetSeconds: Int64 = 0
        if index < text.endIndex {
            if skip(UInt8(ascii: "Z")) || skip(UInt8(ascii: "z")) {
                // UTC
            } else if text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
                let sign: Int64 = text[index] == UInt8(ascii: "-") ? -1 : 1
                index += 1
                guard let offsetHours = number(2), offsetHours <= 23 else { return nil }
                var offsetMinutes: Int64 = 0
                if index < text.endIndex {
                    _ = skip(UInt8(ascii: ":"))
                    guard let value = number(2), value <= 59 else { return nil }
                    offsetMinutes = value
                }
                offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            }
        }
        guard index == text.endIndex else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour <= 23,
            minute <= 59, second <= 59
        else { return nil }
        let seconds = days(fromCivil: year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1_000_000_000)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let monthFromMarch = (month + 9) % 12
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date `days` after 1970-01-01 (H. Hinnant's algorithm).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    private static func appendDigits(_ value: Int64, count: Int, to out: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

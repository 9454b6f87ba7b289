import Foundation

/// Exact decimal text handling. Money and quantities travel as decimal strings
/// and are held as `Decimal` (base-10, 38 digits); they never pass through a
/// binary floating-point value.
public enum ExactDecimal {
    /// Why a piece of text is not an exact decimal.
    public enum ParseFailure: Error, Equatable, Sendable {
        case empty
        case tooLong(maximum: Int)
        case notADecimal
        /// `"+10"`: a sign other than `-` (a positive number is written without one).
        case explicitPlus
        /// `"00010"`, `"-01.5"`: a zero before other integer digits.
        case leadingZero

        /// What is wrong and what is allowed, for an error message.
        public var rule: String {
            switch self {
            case .empty: "it is empty"
            case .tooLong(let maximum): "it is longer than \(maximum) characters"
            case .notADecimal:
                "write digits with an optional minus sign and an optional point followed by digits (no exponent, no spaces, no \".5\" or \"5.\")"
            case .explicitPlus: "a positive number is written without \"+\""
            case .leadingZero:
                "no zeros before the first significant integer digit (write \"10\", \"0.5\", not \"010\", \"00.5\")"
            }
        }
    }

    /// Longest decimal text the desk reads.
    public static let maximumLength = 32

    /// Parses canonical plain decimal notation, the shape of a JSON number without
    /// an exponent: an optional `-`, then `0` or a digit 1-9 followed by digits,
    /// then optionally a point and one or more digits (`"10"`, `"-0.5"`,
    /// `"145.60"`). Refused: exponents, spaces, separators, `"+10"`, leading zeros
    /// (`"00010"`, `"01.5"`), `".5"`, `"5."`, `"nan"`, `"inf"`. Trailing zeros in
    /// the fraction are allowed (`"145.50"`). What is read is exactly what was written,
    /// and each value has few spellings, so two parts of the desk never read one
    /// text differently.
    public static func parse(_ text: String) -> Result<Decimal, ParseFailure> {
        if text.isEmpty { return .failure(.empty) }
        if text.utf8.count > maximumLength { return .failure(.tooLong(maximum: maximumLength)) }
        var digitsBefore = 0
        var digitsAfter = 0
        var seenPoint = false
        var leadingZero = false
        for (index, byte) in text.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if seenPoint {
                    digitsAfter += 1
                } else {
                    if digitsBefore == 1 && leadingZero { return .failure(.leadingZero) }
                    if digitsBefore == 0 && byte == UInt8(ascii: "0") { leadingZero = true }
                    digitsBefore += 1
                }
            case UInt8(ascii: "."):
                if seenPoint { return .failure(.notADecimal) }
                seenPoint = true
            case UInt8(ascii: "-"):
                if index != 0 { return .failure(.notADecimal) }
            case UInt8(ascii: "+"):
                return .failure(index == 0 ? .explicitPlus : .notADecimal)
            default:
                return .failure(.notADecimal)
            }
        }
        if digitsBefore == 0 || (seenPoint && digitsAfter == 0) { return .failure(.notADecimal) }
        // The text is checked above, so the default (".") separator reads it exactly.
        guard let value = Decimal(string: text) else {
            return .failure(.notADecimal)
        }
        return .success(value)
    }

    /// Number of digits after the point once trailing zeros are dropped:
    /// `"145.50"` has 1, `"145.60000000000002"` has 14, `"10"` has 0.
    public static func significantFractionDigits(_ value: Decimal) -> Int {
        let exponent = value.exponent
        if exponent >= 0 { return 0 }
        var mantissaText = plain(value.magnitude)
        if let point = mantissaText.firstIndex(of: ".") {
            mantissaText = String(mantissaText[mantissaText.index(after: point)...])
            while mantissaText.hasSuffix("0") { mantissaText.removeLast() }
            return mantissaText.count
        }
        return 0
    }

    /// Plain decimal text with no exponent and no trailing fractional zeros:
    /// `145.5`, `-3`, `0.0001`.
    public static func plain(_ value: Decimal) -> String {
        plainFromMantissa(value) ?? plainFromDescription(value)
    }

    /// `plain` through `Decimal.description`, for any value.
    static func plainFromDescription(_ value: Decimal) -> String {
        // Decimal.description never uses an exponent; trim with byte checks.
        var bytes = Array(value.description.utf8)
        if bytes.contains(UInt8(ascii: ".")) {
            while bytes.last == UInt8(ascii: "0") { bytes.removeLast() }
            if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        }
        if bytes == Array("-0".utf8) { return "0" }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// ``plain(_:)`` appended to `out` as UTF-8, with no intermediate `String` (how
    /// a feed line writes its numbers: once per field of every tick).
    public static func appendPlain(_ value: Decimal, to out: inout [UInt8]) {
        if !appendPlainFromMantissa(value, to: &out) { out.append(contentsOf: plainFromDescription(value).utf8) }
    }

    /// `plain` for a value whose mantissa fits in 64 bits (every price and
    /// quantity the desk sees), written from the mantissa and exponent directly:
    /// `Decimal.description` was the largest single cost of writing an order.
    /// Nil for anything else (NaN, wider mantissas), which takes the general path.
    static func plainFromMantissa(_ value: Decimal) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        guard appendPlainFromMantissa(value, to: &out) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `plain` text of a value whose mantissa fits in 64 bits; false (and
    /// nothing appended) for anything else.
    static func appendPlainFromMantissa(_ value: Decimal, to out: inout [UInt8]) -> Bool {
        guard let (negative, mantissa: wide, exponent: power) = DecimalParts.read(value) else { return false }
        var mantissa = wide
        if mantissa == 0 {
            out.append(UInt8(ascii: "0"))
            return true
        }
        var exponent = power
        // Trailing zeros of the mantissa move into the exponent (1450 × 10⁻¹ is 145).
        while exponent < 0 && mantissa % 10 == 0 {
            mantissa /= 10
            exponent += 1
        }
        // The digits, least significant first (a UInt64 has at most 20).
        var reversed: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let count = withUnsafeMutableBytes(of: &reversed) { digits -> Int in
            var count = 0
            while mantissa > 0 {
                digits[count] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: mantissa % 10)
                mantissa /= 10
                count += 1
            }
            return count
        }
        withUnsafeBytes(of: reversed) { digits in
            func append(_ range: Range<Int>) {
                for index in range { out.append(digits[count - 1 - index]) }
            }
            if negative { out.append(UInt8(ascii: "-")) }
            if exponent >= 0 {
                append(0..<count)
                out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: exponent))
            } else if -exponent >= count {
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -exponent - count))
                append(0..<count)
            } else {
                append(0..<(count + exponent))
                out.append(UInt8(ascii: "."))
                append((count + exponent)..<count)
            }
        }
        return true
    }

    /// How `fixed` rounds the digits it drops.
    public enum Rounding: Sendable {
        /// 2.345 → 2.35, -2.345 → -2.35: how people round money.
        case halfAwayFromZero
        /// 2.345 → 2.34, 2.355 → 2.36: banker's rounding.
        case halfEven
        /// 2.349 → 2.34, -2.349 → -2.35: toward minus infinity (what a notional order buys).
        case down
    }

    /// `value` with exactly `scale` fractional digits (`fixed(26.1, scale: 2)` is
    /// `"26.10"`), rounded as `rounding` says; never `"-0.00"`.
    public static func fixed(_ value: Decimal, scale: Int, rounding: Rounding = .halfAwayFromZero) -> String {
        var text = plain(rounded(value, scale: scale, rounding: rounding))
        if scale > 0 {
            let point = text.firstIndex(of: ".")
            let have = point.map { text.distance(from: $0, to: text.endIndex) - 1 } ?? 0
            if point == nil { text += "." }
            text += String(repeating: "0", count: scale - have)
        }
        return text
    }

    /// `value` rounded to `scale` fractional digits, half-to-even unless `rounding` says otherwise.
    public static func rounded(_ value: Decimal, scale: Int, rounding: Rounding = .halfEven) -> Decimal {
        var input = value
        var result = Decimal()
        let mode: NSDecimalNumber.RoundingMode =
            switch rounding {
            case .halfEven: .bankers
            case .halfAwayFromZero: .plain
            case .down: .down
            }
        NSDecimalRound(&result, &input, scale, mode)
        return result
    }
}

/// Reads a `Decimal`'s sign, mantissa and exponent from its storage (the NSDecimal
/// layout: exponent, length and flags, then eight 16-bit mantissa words), which
/// Foundation does not expose on Linux. The layout is checked once against known
/// values; where it does not hold, `read` always answers nil.
enum DecimalParts {
    static let layoutHolds: Bool = {
        func check(_ text: String, _ negative: Bool, _ mantissa: UInt64, _ exponent: Int) -> Bool {
            guard let value = Decimal(string: text), let parts = rawRead(value) else { return false }
            return parts.negative == negative && parts.mantissa == mantissa && parts.exponent == exponent
        }
        return check("123.45", false, 12_345, -2) && check("-0.5", true, 5, -1) && check("1000", false, 1, 3)
            && check("18446744073709551615", false, .max, 0) && check("-7.25", true, 725, -2)
    }()

    /// Sign, mantissa (when it fits in 64 bits) and exponent; nil for NaN, wider mantissas or another layout.
    static func read(_ value: Decimal) -> (negative: Bool, mantissa: UInt64, exponent: Int)? {
        layoutHolds ? rawRead(value) : nil
    }

    private static func rawRead(_ value: Decimal) -> (negative: Bool, mantissa: UInt64, exponent: Int)? {
        guard MemoryLayout<Decimal>.size == 20 else { return nil }
        return withUnsafeBytes(of: value) { bytes -> (Bool, UInt64, Int)? in
            let exponent = Int(Int8(bitPattern: bytes[0]))
            let length = Int(bytes[1] >> 4)
            let negative = bytes[1] & 0x08 != 0
            if length == 0 { return negative ? nil : (false, 0, 0) }
            guard length <= 4 else { return nil }
            var mantissa: UInt64 = 0
            for word in 0..<length {
                let low = UInt64(bytes[4 + 2 * word])
                let high = UInt64(bytes[5 + 2 * word])
                mantissa |= (low | high << 8) << (16 * UInt64(word))
            }
            return (negative, mantissa, exponent)
        }
    }
}

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
        // Decimal.description never uses an exponent; trim with byte checks (on
        // the order path, String searching through Foundation costs more than this).
        var bytes = Array(value.description.utf8)
        if bytes.contains(UInt8(ascii: ".")) {
            while bytes.last == UInt8(ascii: "0") { bytes.removeLast() }
            if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        }
        if bytes == Array("-0".utf8) { return "0" }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// How `fixed` rounds the digits it drops.
    public enum Rounding: Sendable {
        /// 2.345 → 2.35, -2.345 → -2.35: how people round money.
        case halfAwayFromZero
        /// 2.345 → 2.34, 2.355 → 2.36: banker's rounding.
        case halfEven
    }

    /// `value` with exactly `scale` fractional digits (`fixed(26.1, scale: 2)` is
    /// `"26.10"`), rounded as `rounding` says; never `"-0.00"`.
    public static func fixed(_ value: Decimal, scale: Int, rounding: Rounding = .halfAwayFromZero) -> String {
        var input = value
        var result = Decimal()
        NSDecimalRound(&result, &input, scale, rounding == .halfEven ? .bankers : .plain)
        var text = plain(result)
        if scale > 0 {
            let point = text.firstIndex(of: ".")
            let have = point.map { text.distance(from: $0, to: text.endIndex) - 1 } ?? 0
            if point == nil { text += "." }
            text += String(repeating: "0", count: scale - have)
        }
        return text
    }

    /// `value` rounded half-to-even to `scale` fractional digits.
    public static func rounded(_ value: Decimal, scale: Int) -> Decimal {
        var input = value
        var result = Decimal()
        NSDecimalRound(&result, &input, scale, .bankers)
        return result
    }
}

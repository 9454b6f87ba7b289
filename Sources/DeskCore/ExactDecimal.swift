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
    }

    /// Longest decimal text the desk reads.
    public static let maximumLength = 32

    /// Parses plain decimal notation: digits, an optional sign and an optional
    /// fraction (`"10"`, `"-0.5"`, `"145.60"`). Exponents, spaces, separators,
    /// `"."` alone, `"nan"` and `"inf"` are refused, so what is read is exactly what
    /// was written.
    public static func parse(_ text: String) -> Result<Decimal, ParseFailure> {
        if text.isEmpty { return .failure(.empty) }
        if text.utf8.count > maximumLength { return .failure(.tooLong(maximum: maximumLength)) }
        var digitsBefore = 0
        var digitsAfter = 0
        var seenPoint = false
        for (index, byte) in text.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if seenPoint { digitsAfter += 1 } else { digitsBefore += 1 }
            case UInt8(ascii: "."):
                if seenPoint { return .failure(.notADecimal) }
                seenPoint = true
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                if index != 0 { return .failure(.notADecimal) }
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

    /// `value` rounded half-to-even to `scale` fractional digits.
    public static func rounded(_ value: Decimal, scale: Int) -> Decimal {
        var input = value
        var result = Decimal()
        NSDecimalRound(&result, &input, scale, .bankers)
        return result
    }
}

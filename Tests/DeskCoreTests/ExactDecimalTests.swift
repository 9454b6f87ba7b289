import Foundation
import Testing

@testable import DeskCore

@Suite("Exact decimals")
struct ExactDecimalTests {
    @Test(
        "parses plain decimal text exactly",
        arguments: [
            ("10", "10"), ("10.5", "10.5"), ("145.60", "145.6"), ("0.0001", "0.0001"), ("-3", "-3"), ("0", "0"),
            ("0.5", "0.5"), ("-0.5", "-0.5"), ("100", "100"), ("145.60000000000002", "145.60000000000002"),
        ])
    func parsesExactly(text: String, plain: String) throws {
        let value = try ExactDecimal.parse(text).get()
        #expect(ExactDecimal.plain(value) == plain)
    }

    @Test(
        "refuses what is not plain decimal notation",
        arguments: [
            "", " 1", "1 ", "1e5", "1E5", "nan", "inf", ".5", "5.", "1.2.3", "1,5", "--1", "1-", "0x10", "١٢", "½",
        ])
    func refuses(text: String) {
        #expect(throws: ExactDecimal.ParseFailure.self) { try ExactDecimal.parse(text).get() }
    }

    @Test(
        "refuses non-canonical spellings, saying which rule they break",
        arguments: [
            ("+10", ExactDecimal.ParseFailure.explicitPlus), ("+0.5", .explicitPlus), ("00010", .leadingZero),
            ("010", .leadingZero), ("00", .leadingZero), ("00.5", .leadingZero), ("-01.5", .leadingZero),
            ("-00", .leadingZero), (".5", .notADecimal), ("1.", .notADecimal), ("-", .notADecimal),
            ("1+", .notADecimal), ("-+1", .notADecimal),
        ])
    func refusesNonCanonical(text: String, failure: ExactDecimal.ParseFailure) {
        #expect(ExactDecimal.parse(text) == .failure(failure))
    }

    @Test(
        "shows a fixed number of decimals, money rounded half away from zero",
        arguments: [
            ("-40", 2, "-40.00"), ("26.1", 2, "26.10"), ("-20.45", 2, "-20.45"), ("1909.7101434949", 2, "1909.71"),
            ("-0.4291666667", 2, "-0.43"), ("2.345", 2, "2.35"), ("-2.345", 2, "-2.35"), ("-0.001", 2, "0.00"),
            ("0", 2, "0.00"), ("145.5", 4, "145.5000"), ("7", 0, "7"),
        ])
    func fixed(text: String, scale: Int, shown: String) throws {
        #expect(ExactDecimal.fixed(try ExactDecimal.parse(text).get(), scale: scale) == shown)
    }

    @Test("half-even rounding when asked for")
    func halfEven() throws {
        #expect(ExactDecimal.fixed(try ExactDecimal.parse("2.345").get(), scale: 2, rounding: .halfEven) == "2.34")
        #expect(ExactDecimal.fixed(try ExactDecimal.parse("2.355").get(), scale: 2, rounding: .halfEven) == "2.36")
    }

    @Test("refuses text longer than the maximum")
    func refusesLongText() {
        let text = String(repeating: "9", count: ExactDecimal.maximumLength + 1)
        #expect(ExactDecimal.parse(text) == .failure(.tooLong(maximum: ExactDecimal.maximumLength)))
    }

    @Test(
        "counts significant fraction digits",
        arguments: [("10", 0), ("145.50", 1), ("145.55", 2), ("0.0001", 4), ("145.60000000000002", 14), ("1.000", 0)])
    func fractionDigits(text: String, digits: Int) throws {
        #expect(ExactDecimal.significantFractionDigits(try ExactDecimal.parse(text).get()) == digits)
    }

    @Test("sums stay exact where binary floating point drifts")
    func exactSums() throws {
        var total = Decimal(0)
        for _ in 0..<10 { total += try ExactDecimal.parse("0.1").get() }
        #expect(total == 1)
        #expect(
            ExactDecimal.plain(try ExactDecimal.parse("145.50").get() + ExactDecimal.parse("0.10").get()) == "145.6")
    }

    @Test("plain text from the mantissa is the same as through Decimal.description")
    func plainFast() throws {
        #expect(DecimalParts.layoutHolds, "Decimal's storage changed: plain() fell back to the slow path")
        var values: [Decimal] = [
            0, 1, -1, 10, 100, 1_000_000_000, Decimal(string: "0.0001")!, Decimal(string: "-0.5")!,
        ]
        values += ["145.50", "189.5", "0.123456789", "1000.000", "99999999999999999", "18446744073709551615"].map {
            Decimal(string: $0)!
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let mantissa = Decimal(UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64.random(in: 0...63))
            let scaled = mantissa * Decimal(sign: .plus, exponent: Int.random(in: -12...6), significand: 1)
            values.append(Bool.random() ? scaled : -scaled)
        }
        values += [Decimal(1) / 3, Decimal(190) * Decimal(string: "1.5")!, Decimal(1003) / 10]
        for value in values {
            #expect(ExactDecimal.plain(value) == ExactDecimal.plainFromDescription(value), "\(value)")
        }
    }
}

import DeskCore
import Foundation
import Testing

@Suite("Exact decimals")
struct ExactDecimalTests {
    @Test(
        "parses plain decimal text exactly",
        arguments: [
            ("10", "10"), ("10.5", "10.5"), ("145.60", "145.6"), ("0.0001", "0.0001"), ("-3", "-3"), ("+2.50", "2.5"),
            ("145.60000000000002", "145.60000000000002"), ("000123", "123"),
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
}

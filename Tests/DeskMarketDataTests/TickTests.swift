import DeskMarketData
import Foundation
import Testing

@Suite("Tick JSON lines")
struct TickTests {
    /// 2026-11-25T14:30:00.123Z
    static let at = Date(timeIntervalSince1970: 1_795_617_000.123)

    @Test(
        "numbers are exact, optional fields are left out, ts is UTC with milliseconds",
        arguments: [
            (
                Tick(symbol: "AAPL", price: dec("145.5"), at: at, size: 100, kind: .trade),
                #"{"symbol":"AAPL","price":145.5,"ts":"2026-11-25T14:30:00.123Z","size":100,"type":"trade"}"#
            ),
            (
                Tick(symbol: "AAPL", price: dec("145.50"), at: at),
                #"{"symbol":"AAPL","price":145.5,"ts":"2026-11-25T14:30:00.123Z"}"#
            ),
            (
                Tick(symbol: "PENNY", price: dec("0.0001"), at: at, size: dec("0.5")),
                #"{"symbol":"PENNY","price":0.0001,"ts":"2026-11-25T14:30:00.123Z","size":0.5}"#
            ),
            (
                Tick(
                    symbol: "BRK.A", price: dec("1000000.25"), at: at, bid: dec("1000000.2"), ask: dec("1000000.30"),
                    kind: .quote),
                #"{"symbol":"BRK.A","price":1000000.25,"ts":"2026-11-25T14:30:00.123Z","bid":1000000.2,"ask":1000000.3,"type":"quote"}"#
            ),
            (
                Tick(
                    symbol: "MSFT", price: dec("0.30000000000000004"), at: Date(timeIntervalSince1970: 0), bid: 300,
                    ask: dec("300.01"), size: 1, kind: .bar),
                #"{"symbol":"MSFT","price":0.30000000000000004,"ts":"1970-01-01T00:00:00.000Z","bid":300,"ask":300.01,"size":1,"type":"bar"}"#
            ),
            (
                Tick(symbol: #"A"B\C"#, price: 10, at: at),
                #"{"symbol":"A\"B\\C","price":10,"ts":"2026-11-25T14:30:00.123Z"}"#
            ),
        ])
    func jsonLine(tick: Tick, expected: String) throws {
        #expect(tick.jsonLine == expected + "\n")
        #expect(FeedLine(tick: tick).bytes == Array((expected + "\n").utf8))
        // It is valid JSON with the same symbol.
        let object = try JSONSerialization.jsonObject(with: Data(tick.jsonLine.utf8)) as? [String: Any]
        #expect(object?["symbol"] as? String == tick.symbol)
    }

    @Test(
        "timestamps: milliseconds truncated, leap days, before 1970",
        arguments: [
            (1_795_617_000.123, "2026-11-25T14:30:00.123Z"),
            (1_795_617_000.9999, "2026-11-25T14:30:00.999Z"),
            (1_795_617_000.0005, "2026-11-25T14:30:00.000Z"),
            (951_782_400, "2000-02-29T00:00:00.000Z"),
            (1_709_251_199.5, "2024-02-29T23:59:59.500Z"),
            (-0.5, "1969-12-31T23:59:59.500Z"),
            (0, "1970-01-01T00:00:00.000Z"),
        ])
    func timestamps(seconds: Double, expected: String) {
        let line = Tick(symbol: "X", price: 1, at: Date(timeIntervalSince1970: seconds)).jsonLine
        #expect(line.contains(#""ts":"\#(expected)""#), "\(line)")
    }

    @Test("every millisecond prints as itself, whatever binary noise the Date carries")
    func everyMillisecond() {
        for millisecond in 0..<1000 {
            let text = String(format: "%03d", millisecond)
            for date in [
                Date(timeIntervalSince1970: 1_795_617_000 + Double(millisecond) / 1000),
                Date(timeIntervalSinceReferenceDate: 817_309_800 + Double(millisecond) / 1000),
            ] {
                let line = Tick(symbol: "X", price: 1, at: date).jsonLine
                #expect(line.contains("2026-11-25T14:30:00.\(text)Z"), "\(line)")
            }
        }
    }
}

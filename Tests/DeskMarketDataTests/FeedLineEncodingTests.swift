import Foundation
import Testing

@testable import DeskCore
@testable import DeskMarketData

@Suite("A tick's feed line, written straight into bytes")
struct FeedLineEncodingTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The encoder as it was before numbers were appended in place: each number
    /// through `Decimal.description` (trimmed), each bar field through a
    /// formatted key.
    static func reference(_ tick: Tick) -> [UInt8] {
        func number(_ value: Decimal) -> String {
            value.isNaN ? "null" : ExactDecimal.plainFromDescription(value)
        }
        var out: [UInt8] = []
        out.append(contentsOf: #"{"symbol":"#.utf8)
        JSONText.appendString(tick.symbol, to: &out)
        out.append(contentsOf: ",\"price\":\(number(tick.price)),\"ts\":\"".utf8)
        UTCTimestamp.appendISO8601(tick.at, to: &out)
        out.append(UInt8(ascii: "\""))
        for (name, value) in [
            ("bid", tick.bid), ("ask", tick.ask), ("bid_size", tick.bidSize), ("ask_size", tick.askSize),
            ("size", tick.size),
        ] {
            if let value { out.append(contentsOf: ",\"\(name)\":\(number(value))".utf8) }
        }
        if let kind = tick.kind { out.append(contentsOf: ",\"type\":\"\(kind.rawValue)\"".utf8) }
        if let bar = tick.bar {
            for (name, value) in [("open", bar.open), ("high", bar.high), ("low", bar.low), ("volume", bar.volume)] {
                out.append(contentsOf: ",\"\(name)\":\(number(value))".utf8)
            }
        }
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    static func decimal(_ text: String) -> Decimal { Decimal(string: text)! }

    /// Quotes, sizes, bars and the odd numbers a file can hold.
    static var made: [Tick] {
        let at = Date(timeIntervalSince1970: 1_763_303_460.123)
        let numbers = [
            "0", "1", "145.5", "145.50", "0.0001", "0.10", "1000", "1e3", "12345678901234567890", "0.000000000001",
            "18446744073709551615", "18446744073709551616", "99999999999999999999.5", "7.25", "190.000001",
        ].map(decimal)
        var ticks: [Tick] = []
        for (index, price) in numbers.enumerated() where price > 0 {
            let other = numbers[(index + 3) % numbers.count]
            ticks.append(Tick(symbol: "AAPL", price: price, at: at))
            ticks.append(
                Tick(
                    symbol: "BRK.B", price: price, at: at + Double(index), bid: price, ask: price + 1, size: other,
                    kind: .quote, bidSize: other, askSize: numbers[index % 4]))
            ticks.append(
                Tick(
                    symbol: "MSFT", price: price, at: at, size: other, kind: .bar,
                    bar: BarFields(open: price, high: price * 2, low: price / 2, volume: other)))
            ticks.append(Tick(symbol: "X\"\\\n\u{1}", price: price, at: at, size: -other, kind: .trade))
        }
        ticks.append(Tick(symbol: "Y", price: Decimal(1) / 3, at: at, bid: .nan, size: Decimal(1003) / 10))
        return ticks
    }

    @Test(
        "byte for byte what the old encoder wrote: every line of data/sample, and quotes, sizes, bars and odd numbers")
    func sameBytes() throws {
        let samples = try FileManager.default.contentsOfDirectory(
            at: Self.root.appendingPathComponent("data/sample"), includingPropertiesForKeys: nil
        ).filter { ["jsonl", "csv"].contains($0.pathExtension) }
        #expect(!samples.isEmpty)
        var ticks = Self.made
        for file in samples { ticks += try ReplaySource(file: file, speed: .asFastAsPossible).readTicks() }
        #expect(ticks.count > 100)
        for tick in ticks {
            let line = FeedLine(tick: tick)
            #expect(line.bytes == Self.reference(tick), "\(String(decoding: Self.reference(tick), as: UTF8.self))")
            #expect(tick.jsonLine == String(decoding: line.bytes, as: UTF8.self))
        }
    }

    @Test(
        "a number appended in place is its plain text",
        arguments: [
            ("145.50", "145.5"), ("-0.5", "-0.5"), ("1000", "1000"), ("0.00012", "0.00012"), ("-12.340", "-12.34"),
            ("18446744073709551615", "18446744073709551615"), ("123456789012345678901234", "123456789012345678901234"),
            ("0", "0"), ("-7", "-7"),
        ])
    func appendPlain(text: String, plain: String) {
        var out = Array("x".utf8)
        ExactDecimal.appendPlain(Self.decimal(text), to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "x" + plain)
    }
}

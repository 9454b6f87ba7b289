import DeskMarketData
import Foundation
import Testing

@Suite("Replay files")
struct ReplayTests {
    /// Writes `content` to `name` in a fresh folder and reads every tick.
    static func ticks(_ name: String, _ content: String) throws -> [Tick] {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        return try ReplaySource(file: try folder.write(name, content), speed: .asFastAsPossible).readTicks()
    }

    /// The error reading `content` as `name` gives, if any.
    static func error(_ name: String, _ content: String) throws -> ReplayFileError? {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let file = try folder.write(name, content)
        do {
            _ = try ReplaySource(file: file, speed: .recorded)
            return nil
        } catch {
            return error
        }
    }

    static let t0 = Date(timeIntervalSince1970: 1_795_617_000)  // 2026-11-25T14:30:00Z

    @Test(
        "good CSV: columns in any order, exact prices, ISO or epoch timestamps, quotes, blank lines",
        arguments: [
            (
                "timestamp,symbol,price,size\n2026-11-25T14:30:00Z,AAPL,145.10,100\n",
                [Tick(symbol: "AAPL", price: dec("145.1"), at: t0, size: 100, kind: .trade)]
            ),
            (
                "price,size,symbol,timestamp\r\n0.0001,,PENNY,1795617000\r\n\r\n1000000.25,7,BRK.A,1795617000250\r\n",
                [
                    Tick(symbol: "PENNY", price: dec("0.0001"), at: t0, kind: .trade),
                    Tick(
                        symbol: "BRK.A", price: dec("1000000.25"), at: t0.addingTimeInterval(0.25), size: 7,
                        kind: .trade),
                ]
            ),
            (
                "\u{FEFF}Symbol, TS ,Price,venue,bid,ask,type\n\"MSFT\", 1795617000.5 , \"300.5\",\"X, Y\",300.49,300.51,quote\n",
                [
                    Tick(
                        symbol: "MSFT", price: dec("300.5"), at: t0.addingTimeInterval(0.5), bid: dec("300.49"),
                        ask: dec("300.51"), kind: .quote)
                ]
            ),
            (
                "time,symbol,price\n2026-11-25T15:30:00+01:00,AAPL,1\n2026-11-25 14:30:01.5,AAPL,2\n",
                [
                    Tick(symbol: "AAPL", price: 1, at: t0, kind: .trade),
                    Tick(symbol: "AAPL", price: 2, at: t0.addingTimeInterval(1.5), kind: .trade),
                ]
            ),
            ("timestamp,symbol,price\n", []),
        ])
    func goodCSV(content: String, expected: [Tick]) throws {
        #expect(try Self.ticks("ticks.csv", content) == expected)
    }

    @Test(
        "good JSON lines: numbers or strings, exact text, exponents, nulls, unknown and nested fields ignored",
        arguments: [
            (
                #"{"symbol":"AAPL","price":145.10,"ts":"2026-11-25T14:30:00.250Z","size":100}"#,
                Tick(symbol: "AAPL", price: dec("145.1"), at: t0.addingTimeInterval(0.25), size: 100, kind: .trade)
            ),
            (
                #"{"symbol":"AAPL","price":0.30000000000000004,"timestamp":1795617000000,"size":"7","bid":null}"#,
                Tick(symbol: "AAPL", price: dec("0.30000000000000004"), at: t0, size: 7, kind: .trade)
            ),
            (
                #" { "price" : "1000000.25" , "symbol" : "BRK.A", "ts" : 1795617000, "x":{"y":[1,"}",{}]}, "ok":true } "#,
                Tick(symbol: "BRK.A", price: dec("1000000.25"), at: t0, kind: .trade)
            ),
            (
                #"{"symbol":"PENNY","price":1e-4,"ts":"1795617000","bid":1.455e2,"ask":"145.6","type":"quote"}"#,
                Tick(
                    symbol: "PENNY", price: dec("0.0001"), at: t0, bid: dec("145.5"), ask: dec("145.6"), kind: .quote)
            ),
            (
                #"{"symbol":"A\/B","price":2,"ts":"2026-11-25T14:30:00Z","note":"caf\u00e9 \ud83d\ude00"}"#,
                Tick(symbol: "A/B", price: 2, at: t0, kind: .trade)
            ),
        ])
    func goodJSONLines(line: String, expected: Tick) throws {
        #expect(try Self.ticks("ticks.jsonl", line + "\n\n") == [expected])
        #expect(try Self.ticks("ticks.ndjson", line) == [expected])
    }

    @Test(
        "quotes: bid_size and ask_size read from CSV and JSON lines; a quote line without a price is at the midpoint, exactly",
        arguments: [
            (
                "q.jsonl",
                #"{"symbol":"AAPL","ts":1795617000,"type":"quote","bid":"145.10","ask":145.13,"bid_size":300,"ask_size":"0"}"#
                    + "\n",
                Tick(
                    symbol: "AAPL", price: dec("145.115"), at: t0, bid: dec("145.1"), ask: dec("145.13"), kind: .quote,
                    bidSize: 300, askSize: 0)
            ),
            (
                "t.jsonl",
                #"{"symbol":"AAPL","ts":1795617000,"price":145.12,"size":5,"bid":145.1,"ask_size":null}"# + "\n",
                Tick(symbol: "AAPL", price: dec("145.12"), at: t0, bid: dec("145.1"), size: 5, kind: .trade)
            ),
            (
                "q.csv", "ts,symbol,price,bid,ask,bid_size,ask_size,type\n1795617000,AAPL,,0.0001,0.0002,10,20,quote\n",
                Tick(
                    symbol: "AAPL", price: dec("0.00015"), at: t0, bid: dec("0.0001"), ask: dec("0.0002"),
                    kind: .quote, bidSize: 10, askSize: 20)
            ),
            (
                "n.csv", "ts,symbol,bid,ask,ask_size,type\n1795617000,AAPL,10,10.01,7,quote\n",
                Tick(
                    symbol: "AAPL", price: dec("10.005"), at: t0, bid: 10, ask: dec("10.01"), kind: .quote,
                    askSize: 7)
            ),
            (
                "t.csv", "ts,symbol,price,bid,ask,bid_size,ask_size\n1795617000,AAPL,10,10,10,,\n",
                Tick(symbol: "AAPL", price: 10, at: t0, bid: 10, ask: 10, kind: .trade)
            ),
        ])
    func quotes(name: String, content: String, expected: Tick) throws {
        let ticks = try Self.ticks(name, content)
        #expect(ticks == [expected])
        // The line strategies read carries the quote after the prices, and its type.
        if let tick = ticks.first, tick.bidSize != nil {
            #expect(tick.jsonLine.contains(#""bid_size":"#))
            #expect(tick.jsonLine.contains(#""type":"quote""#))
        }
    }

    @Test(
        "bad lines are reported as file:line with what was wrong",
        arguments: [
            ("a.csv", "symbol,price\nAAPL,1\n", 1, "lacks timestamp"),
            ("b.csv", "1795617000,AAPL,1\n", 1, "must be a header"),
            ("c.csv", "timestamp,symbol,price\n1,AAPL,1\n2,AAPL\n", 3, "has 2 fields; the header has 3"),
            ("d.csv", "timestamp,symbol,price\n\n1,AAPL,abc\n", 3, #"price "abc" is not a decimal number"#),
            ("e.csv", "timestamp,symbol,price\n1,AAPL,-1\n", 2, "must be greater than zero"),
            ("f.csv", "timestamp,symbol,price\nyesterday,AAPL,1\n", 2, #"timestamp "yesterday" is not a time"#),
            ("g.csv", "timestamp,symbol,price\n2,AAPL,1\n1,AAPL,1\n", 3, "must be in time order"),
            ("h.csv", "timestamp,symbol,price\n1,aapl,1\n", 2, "is not a ticker"),
            ("i.csv", "timestamp,symbol,price,size\n1,AAPL,1,-5\n", 2, "size \"-5\" must be zero or more"),
            ("j.csv", "ts,time,symbol,price\n", 1, "names timestamp twice"),
            ("k.csv", "timestamp,symbol,price\n1,\"AAPL,1\n", 2, "quoted field is not closed"),
            ("l.csv", "timestamp,symbol,price,type\n1,AAPL,1,fill\n", 2, #"type "fill" is not one of"#),
            ("m.csv", "timestamp,symbol,price\n2026-02-30T00:00:00Z,AAPL,1\n", 2, "is not a time"),
            (
                "n.jsonl", "{\"symbol\":\"AAPL\",\"price\":1,\"ts\":1}\n{\"symbol\":\"AAPL\",\"ts\":2}\n", 2,
                #"missing "price""#
            ),
            ("o.jsonl", "\n\nnot json\n", 3, "not a JSON object: expected '{'"),
            ("p.jsonl", "{\"symbol\":\"AAPL\",\"price\":01,\"ts\":1}\n", 1, "malformed number"),
            ("q.jsonl", "{\"symbol\":\"AAPL\",\"price\":1,\"ts\":1} {}\n", 1, "text after the object"),
            ("r.jsonl", "{\"symbol\":\"AAPL\",\"price\":true,\"ts\":1}\n", 1, #""price" must be a number or a string"#),
            ("s.jsonl", "{\"symbol\":\"AAPL\",\"price\":1}\n", 1, #"missing "ts""#),
            ("t.jsonl", "{\"symbol\":\"AAPL\",\"price\":1,\"ts\":1,\"x\":[1,2}\n", 1, "mismatched"),
            ("u.jsonl", "{\"symbol\":\"AAPL\",\"price\":\"1.5.2\",\"ts\":1}\n", 1, "not a decimal number"),
            ("v.jsonl", "{\"symbol\":7,\"price\":1,\"ts\":1}\n", 1, #""symbol" must be a string"#),
            (
                "w.ndjson", "{\"symbol\":\"AAPL\",\"price\":1,\"ts\":\"2026-11-25T14:30:00Z\",\"size\":\"lots\"}", 1,
                "size"
            ),
            (
                "x.jsonl", "{\"symbol\":\"AAPL\",\"ts\":1,\"type\":\"quote\",\"bid\":1}\n", 1,
                "only a quote line (type quote) with both bid and ask may leave it out"
            ),
            ("y.jsonl", "{\"symbol\":\"AAPL\",\"ts\":1,\"bid\":1,\"ask\":2}\n", 1, #"missing "price""#),
            (
                "z.jsonl", "{\"symbol\":\"AAPL\",\"ts\":1,\"type\":\"quote\",\"bid\":2.5,\"ask\":2.4}\n", 1,
                "bid 2.5 is above ask 2.4"
            ),
            (
                "qa.jsonl", "{\"symbol\":\"AAPL\",\"price\":1,\"ts\":1,\"bid\":1,\"bid_size\":-1}\n", 1,
                #"bid_size "-1" must be zero or more"#
            ),
            (
                "qb.jsonl", "{\"symbol\":\"AAPL\",\"price\":1,\"ts\":1,\"ask_size\":5}\n", 1,
                "ask_size is given without ask"
            ),
            (
                "qc.jsonl", "{\"symbol\":\"AAPL\",\"price\":1,\"ts\":1,\"ask\":1,\"ask_size\":\"many\"}\n", 1,
                #"ask_size "many" is not a decimal number"#
            ),
            ("qd.csv", "ts,symbol,bid,ask,type\n1,AAPL,1,2,\n", 2, #"missing "price""#),
            ("qe.csv", "ts,symbol,price,bid,ask,bid_size,type\n1,AAPL,,1,2,x,quote\n", 2, "bid_size \"x\""),
            ("qf.csv", "ts,symbol,bid\n1,AAPL,1\n", 1, "price (or bid and ask, for quotes alone)"),
            ("qg.csv", "ts,symbol,price,bid,ask\n1,AAPL,1,0,2\n", 2, "bid \"0\" must be greater than zero"),
        ])
    func badLines(name: String, content: String, line: Int, fragment: String) throws {
        let error = try #require(try Self.error(name, content))
        #expect(error.line == line)
        #expect(error.description.hasPrefix("\(error.file):\(line): "))
        #expect(error.file.hasSuffix("/\(name)"))
        #expect(error.message.contains(fragment), "\(error.message)")
    }

    @Test("bars: open, high, low and volume read from CSV and JSON lines and written back into the tick's line")
    func bars() throws {
        let bar = BarFields(open: dec("10.5"), high: dec("11.25"), low: dec("10.0"), volume: 1200)
        let expected = [Tick(symbol: "AAPL", price: dec("11"), at: Self.t0, kind: .bar, bar: bar)]
        #expect(
            try Self.ticks(
                "bars.csv",
                "timestamp,symbol,open,high,low,price,volume,type\n2026-11-25T14:30:00Z,AAPL,10.5,11.25,10.0,11,1200,bar\n"
            )
                == expected)
        let line =
            #"{"symbol":"AAPL","price":11,"ts":"2026-11-25T14:30:00.000Z","type":"bar","open":10.5,"high":11.25,"low":10.0,"volume":1200}"#
        #expect(try Self.ticks("bars.jsonl", line + "\n") == expected)
        #expect(
            expected[0].jsonLine
                == #"{"symbol":"AAPL","price":11,"ts":"2026-11-25T14:30:00.000Z","type":"bar","open":10.5,"high":11.25,"low":10,"volume":1200}"#
                + "\n")
        let partial = try Self.error(
            "partial.jsonl", #"{"symbol":"AAPL","price":11,"ts":"2026-11-25T14:30:00Z","open":10}"# + "\n")
        #expect("\(partial.map { "\($0)" } ?? "")".contains("all of open, high, low and volume"))
        let inverted = try Self.error(
            "inverted.csv", "timestamp,symbol,open,high,low,price,volume\n2026-11-25T14:30:00Z,AAPL,10,9,11,10,5\n")
        #expect("\(inverted.map { "\($0)" } ?? "")".contains("low must not be above"))
    }

    @Test(
        """
        one pass (ReplaySource.ticks(in:)) reads the ticks and refuses the files that checking then reading does, \
        with the same errors
        """,
        arguments: [
            ("good.csv", "timestamp,symbol,price,size\n1,AAPL,1.50,100\n\n2,MSFT,400,\n"),
            (
                "good.jsonl",
                #"{"symbol":"AAPL","price":"1.5","ts":1,"type":"bar","open":1,"high":2,"low":1,"volume":9}"# + "\n"
            ),
            ("quote.ndjson", #"{"symbol":"AAPL","ts":1,"type":"quote","bid":1,"ask":2,"bid_size":3}"# + "\n"),
            ("empty.jsonl", ""),
            ("bad.csv", "timestamp,symbol,price\n2,AAPL,1\n1,AAPL,1\n"),
            ("bad.jsonl", "{\"symbol\":\"AAPL\",\"price\":1,\"ts\":1}\nnot json\n"),
            ("empty.csv", ""),
            ("ticks.txt", "timestamp,symbol,price\n"),
        ])
    func onePass(name: String, content: String) throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let file = try folder.write(name, content)
        let twoPasses = Result { () throws(ReplayFileError) -> [Tick] in
            try ReplaySource(file: file, speed: .asFastAsPossible).readTicks()
        }
        let onePass = Result { () throws(ReplayFileError) -> [Tick] in try ReplaySource.ticks(in: file) }
        #expect(onePass == twoPasses)
        let missing = folder.url.appendingPathComponent("missing.csv")
        let checked = Result { () throws(ReplayFileError) -> Int in
            try ReplaySource(file: missing, speed: .recorded).tickCount
        }
        let read = Result { () throws(ReplayFileError) -> Int in try ReplaySource.ticks(in: missing).count }
        #expect(read == checked)
        #expect(throws: ReplayFileError.self) { try read.get() }
    }

    @Test("whole-file problems: unknown extension, missing file, empty CSV, bad speed")
    func wholeFileProblems() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let text = try folder.write("ticks.txt", "timestamp,symbol,price\n")
        #expect(throws: ReplayFileError.self) { try ReplaySource(file: text, speed: .recorded) }
        // The same file read with an explicit format is fine.
        #expect(try ReplaySource(file: text, speed: .recorded, format: .csv).tickCount == 0)
        do {
            _ = try ReplaySource(file: folder.url.appendingPathComponent("missing.csv"), speed: .recorded)
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.line == nil)
            #expect(error.message.contains("cannot open"))
        }
        let empty = try folder.write("empty.csv", "")
        #expect(throws: ReplayFileError.self) { try ReplaySource(file: empty, speed: .recorded) }
        let good = try folder.write("good.csv", "timestamp,symbol,price\n1,AAPL,1\n")
        #expect(throws: ReplayFileError.self) { try ReplaySource(file: good, speed: .scaled(0)) }
        #expect(throws: ReplayFileError.self) { try ReplaySource(file: good, speed: .scaled(-.infinity)) }
    }

    @Test("a source knows its tick count and time span; long files stream across read chunks")
    func countAndSpan() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        var csv = "timestamp,symbol,price\n"
        for index in 0..<5000 { csv += "\(1_795_617_000 + index),SYM\(index % 7),\(index + 1).25\n" }
        let source = try ReplaySource(file: try folder.write("long.csv", csv), speed: .recorded)
        #expect(source.tickCount == 5000)
        #expect(source.timeSpan == Self.t0...Self.t0.addingTimeInterval(4999))
        let ticks = try source.readTicks()
        #expect(ticks.count == 5000)
        #expect(ticks[4321].price == dec("4322.25"))
        #expect(ticks[4321].symbol == "SYM\(4321 % 7)")
    }

    @Test(
        "replay speeds parse",
        arguments: [
            ("recorded", ReplaySpeed.recorded), ("1x", .recorded), ("fast", .asFastAsPossible),
            ("max", .asFastAsPossible), ("10x", .scaled(10)), ("0.5x", .scaled(0.5)), ("0x", nil), ("-2x", nil),
            ("sometimes", nil), ("x", nil),
        ])
    func speeds(text: String, speed: ReplaySpeed?) {
        #expect(ReplaySpeed.parse(text) == speed)
    }

    @Test(
        "recorded speed sleeps the recorded gaps; scaled divides them",
        arguments: [
            // 0.2 s recorded: no faster than recorded.
            (ReplaySpeed.recorded, ["1795617000", "1795617000.1", "1795617000.2"], 0.19, 1_000.0),
            // 20 s recorded, 200 times as fast: at least 0.1 s, and well short of the unscaled 20 s.
            (.scaled(200), ["1795617000", "1795617010", "1795617020"], 0.095, 19.0),
        ])
    func pacing(speed: ReplaySpeed, times: [String], least: Double, most: Double) async throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let rows = times.enumerated().map { "\($0.element),AAPL,\($0.offset + 1)" }
        let file = try folder.write("paced.csv", "timestamp,symbol,price\n" + rows.joined(separator: "\n"))
        let source = try ReplaySource(file: file, speed: speed)
        let received = Collected<Decimal>()
        let start = ContinuousClock.now
        try await source.run { received.append($0.price) }
        let elapsed = ContinuousClock.now - start
        #expect(received.all == [1, 2, 3])
        // A lower bound (pacing is kept) and, for a scaled run, less than the unscaled time: what it
        // takes on a loaded machine is the benchmark's business, never this test's.
        #expect(elapsed >= .seconds(least) && elapsed < .seconds(most), "\(speed): \(elapsed)")
    }
}

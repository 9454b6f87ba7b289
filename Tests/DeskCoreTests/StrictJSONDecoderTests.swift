import DeskCore
import Foundation
import Testing

@Suite("Strict JSON decoding")
struct StrictJSONDecoderTests {
    struct Limits: Decodable, Equatable {
        var memory: String?
        var cpus: Double?
        var openFiles: Int?

        enum CodingKeys: String, CodingKey {
            case memory, cpus, openFiles = "open_files"
        }
    }

    struct Settings: Decodable, Equatable {
        var member: String
        var reason: String?
        var price: Decimal?
        var symbols: [String]?
        var env: [String: String]?
        var limits: Limits?
    }

    /// A type with a rule of its own, reported at its key.
    struct Ticker: Decodable, Equatable {
        var symbol: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            symbol = try container.decode(String.self)
            guard symbol == symbol.uppercased() else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "\(symbol) is not a ticker: write it in capitals")
            }
        }
    }

    struct Watch: Decodable {
        var ticker: Ticker
    }

    @Test("decodes nested objects, lists, dictionaries and exact decimals")
    func decodes() throws {
        let text = """
            {"member": "alice", "price": 145.10, "symbols": ["AAPL"], "env": {"A": "1", "B": "2"},
             "limits": {"memory": "1g", "cpus": 0.5, "open_files": 64}}
            """
        let settings = try StrictJSONDecoder().decode(Settings.self, from: Array(text.utf8))
        #expect(
            settings
                == Settings(
                    member: "alice", price: Decimal(string: "145.10")!, symbols: ["AAPL"], env: ["A": "1", "B": "2"],
                    limits: Limits(memory: "1g", cpus: 0.5, openFiles: 64)))
        #expect(try StrictJSONDecoder().decode(Settings.self, from: Array(#"{"member":"b"}"#.utf8)).reason == nil)
    }

    @Test(
        "each problem names the key, its line and column, and what is allowed",
        arguments: [
            (#"{"member": "a",\#n "usr": "b"}"#, 2, 2, ["usr"], #"unknown key "usr"; allowed here: member, reason"#),
            (#"{"member": "a", "limits": {"gpus": 1}}"#, 1, 28, ["limits", "gpus"], #"unknown key "limits.gpus""#),
            (#"{"member": "a", "usr": "b", "why": 1}"#, 1, 17, ["usr"], #"unknown keys "usr", "why"; allowed here"#),
            (#"{"member": 5}"#, 1, 2, ["member"], #""member" must be a string"#),
            (#"{"member": null}"#, 1, 2, ["member"], #""member" must be a string, not null"#),
            (#"{"reason": "x"}"#, 1, 1, ["member"], #""member" is required"#),
            (#"{"member": "a",\#n"limits": {"open_files": 1.5}}"#, 2, 12, ["limits", "open_files"], "a whole number"),
            (#"{"member": "a", "symbols": ["A", 1]}"#, 1, 34, ["symbols", "[1]"], #""symbols[1]" must be a string"#),
            (#"{"member": "a", "env": {"A": 1}}"#, 1, 25, ["env", "A"], #""env.A" must be a string"#),
            (#"{"member": "a", "member": "b"}"#, 1, 17, [], "appears more than once"),
        ] as [(String, Int, Int, [String], String)])
    func problems(text: String, line: Int, column: Int, path: [String], fragment: String) {
        do {
            _ = try StrictJSONDecoder().decode(Settings.self, from: Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(error.line == line && error.column == column, "\(error)")
            #expect(error.path == path)
        }
    }

    @Test("a type's own rule comes back at its key, with its sentence")
    func ownRule() {
        do {
            _ = try StrictJSONDecoder().decode(Watch.self, from: Array("{\n  \"ticker\": \"aapl\"\n}".utf8))
            Issue.record("accepted a lower-case ticker")
        } catch {
            #expect(error.message == "aapl is not a ticker: write it in capitals")
            #expect(error.line == 2 && error.column == 3 && error.key == "ticker")
        }
    }

    @Test("unknown keys list what the object reads")
    func allowedKeys() {
        do {
            _ = try StrictJSONDecoder().decode(Limits.self, from: Array(#"{"cpu": 1}"#.utf8))
            Issue.record("accepted an unknown key")
        } catch {
            #expect(error.allowedKeys == ["memory", "cpus", "open_files"])
        }
    }
}

@Suite("One-shot values and timestamps")
struct OneShotAndTimestampTests {
    @Test("waiters before and after the value get it; a second value is ignored")
    func oneShot() async {
        let shot = OneShot<Int>()
        #expect(shot.value == nil)
        async let early = shot.wait()
        shot.fire(7)
        shot.fire(8)
        #expect(await early == 7)
        #expect(await shot.wait() == 7)
        let ready = OneShot<Void>()
        #expect(!ready.hasFired)
        ready.fire()
        await ready.wait()
        #expect(ready.hasFired)
    }

    @Test(
        "ISO-8601 times, written one way and read with or without fractions and offsets",
        arguments: [
            ("2026-11-25T14:30:00Z", 1_795_617_000.0), ("2026-11-25T14:30:00.250Z", 1_795_617_000.25),
            ("2026-11-25T15:30:00+01:00", 1_795_617_000.0),
        ])
    func timestamps(text: String, seconds: Double) throws {
        let date = try #require(Timestamp.date(text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.001)
        #expect(Timestamp.string(Date(timeIntervalSince1970: 1_795_617_000)) == "2026-11-25T14:30:00Z")
        #expect(Timestamp.date("yesterday") == nil)
    }
}

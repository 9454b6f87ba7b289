import Foundation
import MessagePack
import Testing

/// Bytes from hex text, spaces ignored (`"cd 01 00"`).
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

@Suite("MessagePack codec")
struct MessagePackTests {
    /// Values and their canonical bytes, from the format's specification: each
    /// encodes to exactly these bytes, and these bytes decode to the value.
    static let canonical: [(MessagePackValue, String)] = [
        (.null, "c0"),
        (false, "c2"),
        (true, "c3"),
        (0, "00"),
        (127, "7f"),
        (128, "cc 80"),
        (255, "cc ff"),
        (256, "cd 01 00"),
        (65_535, "cd ff ff"),
        (65_536, "ce 00 01 00 00"),
        (4_294_967_295, "ce ff ff ff ff"),
        (4_294_967_296, "cf 00 00 00 01 00 00 00 00"),
        (.int(Int64.max), "cf 7f ff ff ff ff ff ff ff"),
        (.uint(UInt64.max), "cf ff ff ff ff ff ff ff ff"),
        (-1, "ff"),
        (-32, "e0"),
        (-33, "d0 df"),
        (-128, "d0 80"),
        (-129, "d1 ff 7f"),
        (-32_768, "d1 80 00"),
        (-32_769, "d2 ff ff 7f ff"),
        (.int(Int64(Int32.min)), "d2 80 00 00 00"),
        (.int(Int64(Int32.min) - 1), "d3 ff ff ff ff 7f ff ff ff"),
        (.int(Int64.min), "d3 80 00 00 00 00 00 00 00"),
        (.float(1.5), "ca 3f c0 00 00"),
        (.double(1.5), "cb 3f f8 00 00 00 00 00 00"),
        (.double(145.72), "cb 40 62 37 0a 3d 70 a3 d7"),
        ("", "a0"),
        ("a", "a1 61"),
        ("é", "a2 c3 a9"),
        (.string(String(repeating: "x", count: 31)), "bf" + String(repeating: "78", count: 31)),
        (.string(String(repeating: "x", count: 32)), "d9 20" + String(repeating: "78", count: 32)),
        (.string(String(repeating: "x", count: 256)), "da 01 00" + String(repeating: "78", count: 256)),
        (.binary([]), "c4 00"),
        (.binary([1, 2, 3]), "c4 03 01 02 03"),
        (.binary(Array(repeating: 0, count: 256)), "c5 01 00" + String(repeating: "00", count: 256)),
        ([], "90"),
        ([1, "a", nil], "93 01 a1 61 c0"),
        (.array(Array(repeating: .null, count: 16)), "dc 00 10" + String(repeating: "c0", count: 16)),
        (.map([]), "80"),
        (.map(["a": 1]), "81 a1 61 01"),
        (.map(["T": "t", "S": "AAPL"]), "82 a1 54 a1 74 a1 53 a4 41 41 50 4c"),
        (.map([(key: 1, value: [true])]), "81 01 91 c3"),
        (.ext(type: 5, data: [0xaa]), "d4 05 aa"),
        (.ext(type: 5, data: [1, 2]), "d5 05 01 02"),
        (.ext(type: 5, data: [1, 2, 3]), "c7 03 05 01 02 03"),
        (.ext(type: -2, data: Array(repeating: 7, count: 16)), "d8 fe" + String(repeating: "07", count: 16)),
        // Timestamps: 32-bit (seconds only), 64-bit (30-bit nanoseconds, 34-bit seconds), 96-bit.
        (.timestamp(.init(seconds: 0)), "d6 ff 00 00 00 00"),
        (.timestamp(.init(seconds: 1_700_000_000)), "d6 ff 65 53 f1 00"),
        (.timestamp(.init(seconds: 1, nanoseconds: 1)), "d7 ff 00 00 00 04 00 00 00 01"),
        (.timestamp(.init(seconds: 1_700_000_000, nanoseconds: 123_456_789)), "d7 ff 1d 6f 34 54 65 53 f1 00"),
        (.timestamp(.init(seconds: 1 << 34)), "c7 0c ff 00 00 00 00 00 00 00 04 00 00 00 00"),
        (.timestamp(.init(seconds: -1, nanoseconds: 500)), "c7 0c ff 00 00 01 f4 ff ff ff ff ff ff ff ff"),
    ]

    @Test("canonical values encode to exactly the specification's bytes", arguments: canonical)
    func encodes(value: MessagePackValue, bytes: String) {
        #expect(value.encoded() == hex(bytes))
    }

    @Test("the specification's bytes decode to the value", arguments: canonical)
    func decodes(value: MessagePackValue, bytes: String) throws {
        #expect(try MessagePackValue.decode(hex(bytes)) == value)
    }

    @Test(
        "wider forms than needed decode too",
        arguments: [
            ("cd 00 05", MessagePackValue.int(5)),
            ("cf 00 00 00 00 00 00 00 05", 5),
            ("d3 ff ff ff ff ff ff ff ff", -1),
            ("d0 05", 5),
            ("db 00 00 00 01 61", "a"),
            ("dd 00 00 00 01 c3", .array([true])),
            ("de 00 01 a1 61 c2", .map(["a": false])),
            ("c8 00 01 05 aa", .ext(type: 5, data: [0xaa])),
            ("c7 04 ff 00 00 00 01", .timestamp(.init(seconds: 1))),
            ("c7 08 ff 00 00 00 04 00 00 00 01", .timestamp(.init(seconds: 1, nanoseconds: 1))),
        ])
    func widerForms(bytes: String, value: MessagePackValue) throws {
        #expect(try MessagePackValue.decode(hex(bytes)) == value)
    }

    @Test(
        "bad input throws what is wrong and where, never traps",
        arguments: [
            ("", MessagePackError(.truncated(what: "value", needed: 1, available: 0), at: 0)),
            ("c1", MessagePackError(.neverUsedByte, at: 0)),
            ("92 01 c1", MessagePackError(.neverUsedByte, at: 2)),
            ("cd 01", MessagePackError(.truncated(what: "uint 16", needed: 2, available: 1), at: 0)),
            ("91 a5 61 62", MessagePackError(.truncated(what: "fixstr", needed: 5, available: 2), at: 1)),
            ("d9 05 61", MessagePackError(.truncated(what: "str 8", needed: 5, available: 1), at: 0)),
            ("a2 c3 28", MessagePackError(.invalidUTF8, at: 0)),
            (
                "dd ff ff ff ff",
                MessagePackError(.truncated(what: "array of 4294967295", needed: 4294967295, available: 0), at: 0)
            ),
            ("df 00 00 00 02 01", MessagePackError(.truncated(what: "map of 2", needed: 4, available: 1), at: 0)),
            ("d7 ff ff ff ff ff 00 00 00 00", MessagePackError(.invalidTimestamp(length: 8), at: 0)),
            ("d5 ff 00 01", MessagePackError(.invalidTimestamp(length: 2), at: 0)),
            ("c7 0c ff 3b 9a ca 00 00 00 00 00 00 00 00 00", MessagePackError(.invalidTimestamp(length: 12), at: 0)),
            ("c0 c0", MessagePackError(.trailingBytes(count: 1), at: 1)),
            ("c4 02 00", MessagePackError(.truncated(what: "bin 8", needed: 2, available: 1), at: 0)),
            ("81 a1 54", MessagePackError(.truncated(what: "value", needed: 1, available: 0), at: 3)),
        ])
    func badInput(bytes: String, error: MessagePackError) {
        #expect(throws: error) { try MessagePackValue.decode(hex(bytes)) }
    }

    @Test("the error message names the offset and the problem")
    func errorMessage() {
        let error = MessagePackError(.truncated(what: "str 8", needed: 10, available: 4), at: 3)
        #expect(error.description == "MessagePack at offset 3: truncated str 8: needs 10 bytes, 4 remain")
    }

    @Test("nesting beyond the limit is refused, not a stack overflow")
    func deepNesting() throws {
        let depth = 100_000
        #expect(
            throws: MessagePackError(.tooDeep(limit: MessagePackValue.maximumDepth), at: MessagePackValue.maximumDepth)
        ) {
            try MessagePackValue.decode(Array(repeating: 0x91, count: depth) + [0xc0])
        }
        var nested = MessagePackValue.null
        for _ in 0..<MessagePackValue.maximumDepth { nested = [nested] }
        #expect(try MessagePackValue.decode(nested.encoded()) == nested)
    }

    @Test("every prefix of a valid message fails cleanly and every single-byte corruption is handled")
    func prefixesAndCorruption() throws {
        let message: MessagePackValue = [
            .map([
                "T": "t", "S": "AAPL", "i": 52_983_525_029_461, "x": "V", "p": 145.72, "s": 100,
                "c": ["@", "I"], "z": "C", "t": .timestamp(.init(seconds: 1_700_000_000, nanoseconds: 123_456_789)),
            ])
        ]
        let bytes = message.encoded()
        #expect(try MessagePackValue.decode(bytes) == message)
        for length in 0..<bytes.count {
            #expect(throws: MessagePackError.self) { try MessagePackValue.decode(Array(bytes[..<length])) }
        }
        for index in bytes.indices {
            for byte: UInt8 in [0x00, 0x7f, 0xc1, 0xdd, 0xdf, 0xff] {
                var corrupted = bytes
                corrupted[index] = byte
                _ = try? MessagePackValue.decode(corrupted)
            }
        }
    }

    @Test("random bytes never trap; whatever decodes re-encodes to bytes that decode to the same bytes again")
    func randomInput() throws {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func nextByte() -> UInt8 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        var decoded = 0
        for round in 0..<20_000 {
            let input = (0..<(round % 48)).map { _ in nextByte() }
            guard let value = try? MessagePackValue.decode(input) else { continue }
            decoded += 1
            let canonical = value.encoded()
            #expect(try MessagePackValue.decode(canonical).encoded() == canonical)
        }
        #expect(decoded > 100, "the generator should hit some valid inputs")
    }

    @Test("map entries keep their wire order, duplicates included; lookup finds the first")
    func mapOrder() throws {
        let decoded = try MessagePackValue.decode(hex("83 a1 54 a1 71 a1 41 01 a1 41 02"))
        #expect(decoded.mapEntries?.map { $0.key.stringValue } == ["T", "A", "A"])
        #expect(decoded["T"] == "q")
        #expect(decoded["A"] == 1)
        #expect(decoded["missing"] == nil)
        #expect(MessagePackValue.int(3)["T"] == nil)
    }

    @Test("integers compare by value whatever their case; accessors convert")
    func accessors() {
        #expect(MessagePackValue.uint(5) == .int(5))
        #expect(MessagePackValue.uint(UInt64.max) != .int(-1))
        #expect(MessagePackValue.uint(5).int64Value == 5)
        #expect(MessagePackValue.uint(UInt64.max).int64Value == nil)
        #expect(MessagePackValue.float(0.5).doubleValue == 0.5)
        #expect(MessagePackValue.int(-3).doubleValue == -3)
        #expect(MessagePackValue.string("3").doubleValue == nil)
        #expect(MessagePackValue.null.isNull)
        #expect(MessagePackValue.array([1]).arrayValue == [1])
    }

    @Test(
        "timestamps convert to and from dates; whole seconds in nanoseconds carry",
        arguments: [
            (1_700_000_000.0, 1_700_000_000 as Int64, 0 as UInt32),
            (1_700_000_000.25, 1_700_000_000, 250_000_000),
            (-0.5, -1, 500_000_000),
            (0, 0, 0),
        ])
    func timestampDates(interval: Double, seconds: Int64, nanoseconds: UInt32) {
        let timestamp = MessagePackTimestamp(Date(timeIntervalSince1970: interval))
        #expect(timestamp == MessagePackTimestamp(seconds: seconds, nanoseconds: nanoseconds))
        #expect(timestamp.date == Date(timeIntervalSince1970: interval))
        #expect(MessagePackTimestamp(seconds: 1, nanoseconds: 2_000_000_001) == .init(seconds: 3, nanoseconds: 1))
    }
}

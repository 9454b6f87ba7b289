import Foundation

/// JSON-lines replay lines: one object per line with `symbol` (string), `price`
/// (number or string), `ts` or `timestamp` (ISO-8601 string, or epoch number or
/// string) and optionally `size`, `bid`, `ask`, `bid_size`, `ask_size` (number,
/// string or null), `type` (`trade`, `quote`, `bar`; default `trade`) and, for a
/// bar, `open`, `high`, `low` and `volume` (all four or none). A quote line with
/// both `bid` and `ask` may leave out `price`: it is their midpoint. Other fields, nested or not, are ignored. Blank
/// lines are skipped.
///
/// Numbers are read from their own text by ``JSONObjectScanner`` rather than through
/// `JSONSerialization`, which turns `145.10` into the nearest binary float.
struct JSONLineTickDecoder: ReplayLineDecoder {
    /// One tick per non-blank line.
    mutating func decode(_ line: ArraySlice<UInt8>, line number: Int) throws(ReplayLineProblem) -> Tick? {
        if line.allSatisfy(JSONObjectScanner.isSpace) { return nil }
        let object: [String: JSONObjectScanner.Value]
        do throws(JSONObjectScanner.Problem) {
            object = try JSONObjectScanner.parse(line)
        } catch {
            throw ReplayLineProblem(message: "not a JSON object: \(error.description)")
        }
        func text(_ key: String, numberAllowed: Bool = true) throws(ReplayLineProblem) -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            case .number(let value)? where numberAllowed: return value
            case .number?: throw ReplayLineProblem(message: "\"\(key)\" must be a string")
            case .other?: throw ReplayLineProblem(message: "\"\(key)\" must be a number or a string")
            }
        }
        guard let symbol = try text("symbol", numberAllowed: false) else {
            throw ReplayLineProblem(message: "missing \"symbol\" (a string such as \"AAPL\")")
        }
        let timestampKey = object["ts"] != nil ? "ts" : "timestamp"
        guard let timestamp = try text(timestampKey) else {
            throw ReplayLineProblem(
                message: "missing \"ts\" (or \"timestamp\"): ISO-8601 text or epoch seconds or milliseconds")
        }
        func optional(_ key: String, positive: Bool) throws(ReplayLineProblem) -> Decimal? {
            guard let value = try text(key) else { return nil }
            return try ReplayField.decimal(value, field: key, positive: positive)
        }
        let kind =
            try text("type", numberAllowed: false).map { text throws(ReplayLineProblem) in
                try ReplayField.kind(text)
            } ?? .trade
        let barValues = try ["open", "high", "low", "volume"].map { key throws(ReplayLineProblem) in
            try optional(key, positive: key != "volume")
        }
        let bar = try ReplayField.bar(barValues)
        let price = try text("price").map { text throws(ReplayLineProblem) in
            try ReplayField.decimal(text, field: "price", positive: true)
        }
        let (bid, ask) = (try optional("bid", positive: true), try optional("ask", positive: true))
        let (bidSize, askSize) = (try optional("bid_size", positive: false), try optional("ask_size", positive: false))
        return Tick(
            symbol: try ReplayField.symbol(symbol),
            price: try ReplayField.quoted(
                price: price, kind: kind, bid: bid, ask: ask, bidSize: bidSize, askSize: askSize),
            at: try ReplayField.timestamp(timestamp, field: timestampKey), bid: bid, ask: ask,
            size: try optional("size", positive: false), kind: kind, bar: bar, bidSize: bidSize, askSize: askSize)
    }

    /// Any number of lines, none included, makes a good file.
    func finish() -> ReplayLineProblem? { nil }
}

/// A small JSON reader for one object per line that keeps each top-level number as
/// the exact text it was written with. Nested objects and arrays are checked for
/// balance and skipped.
enum JSONObjectScanner {
    /// A top-level field's value.
    enum Value: Equatable {
        /// A string, unescaped.
        case string(String)
        /// A number, as its JSON text (`145.10`, `-1e-5`).
        case number(String)
        /// `null`.
        case null
        /// `true`, `false`, an object or an array.
        case other
    }

    /// What is wrong with the text, and where (1-based column).
    struct Problem: Error, CustomStringConvertible {
        /// What was expected or wrong.
        var message: String
        /// Where, counting bytes from 1.
        var column: Int
        /// `message at column N`.
        var description: String { "\(message) at column \(column)" }
    }

    /// JSON whitespace: space, tab, line feed, carriage return.
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// The fields of the one object on `line`; a repeated key keeps its last value.
    static func parse(_ line: ArraySlice<UInt8>) throws(Problem) -> [String: Value] {
        var scanner = Scanner(bytes: line)
        return try scanner.object()
    }

    private struct Scanner {
        let bytes: ArraySlice<UInt8>
        var index: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            index = bytes.startIndex
        }

        func problem(_ message: String) -> Problem {
            Problem(message: message, column: index - bytes.startIndex + 1)
        }

        var current: UInt8? { index < bytes.endIndex ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = current, isSpace(byte) { index += 1 }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(Problem) {
            skipSpace()
            guard current == byte else {
                throw problem(current == nil ? "line ends where \(what) was expected" : "expected \(what)")
            }
            index += 1
        }

        mutating func object() throws(Problem) -> [String: Value] {
            try expect(UInt8(ascii: "{"), "'{' (each line must be one JSON object)")
            var fields: [String: Value] = [:]
            skipSpace()
            if current == UInt8(ascii: "}") {
                index += 1
            } else {
                while true {
                    skipSpace()
                    guard current == UInt8(ascii: "\"") else { throw problem("expected a quoted field name") }
                    let key = try string()
                    try expect(UInt8(ascii: ":"), "':' after a field name")
                    fields[key] = try value()
                    skipSpace()
                    if current == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    try expect(UInt8(ascii: "}"), "',' or '}'")
                    break
                }
            }
            skipSpace()
            guard current == nil else { throw problem("text after the object (one object per line)") }
            return fields
        }

        mutating func value() throws(Problem) -> Value {
            skipSpace()
            guard let byte = current else { throw problem("line ends where a value was expected") }
            switch byte {
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                try skipNested()
                return .other
            case UInt8(ascii: "t"):
                try literal("true")
                return .other
            case UInt8(ascii: "f"):
                try literal("false")
                return .other
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            default: throw problem("expected a value (string, number, object, array, true, false or null)")
            }
        }

        mutating func literal(_ word: String) throws(Problem) {
            guard bytes[index...].starts(with: word.utf8) else { throw problem("expected \(word)") }
            index += word.utf8.count
        }

        /// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as written.
        mutating func number() throws(Problem) -> String {
            let start = index
            func digits() -> Int {
                var count = 0
                while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                    index += 1
                    count += 1
                }
                return count
            }
            if current == UInt8(ascii: "-") { index += 1 }
            let leadingZero = current == UInt8(ascii: "0")
            let whole = digits()
            guard whole > 0, !(leadingZero && whole > 1) else { throw problem("malformed number") }
            if current == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw problem("malformed number: digits must follow '.'") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw problem("malformed number: digits must follow the exponent") }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// A string starting at the opening quote, unescaped.
        mutating func string() throws(Problem) -> String {
            index += 1  // the opening quote
            var result: [UInt8] = []
            while let byte = current {
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: result, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = current else { throw problem("unfinished escape") }
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): result.append(escaped)
                    case UInt8(ascii: "b"): result.append(0x08)
                    case UInt8(ascii: "f"): result.append(0x0C)
                    case UInt8(ascii: "n"): result.append(0x0A)
                    case UInt8(ascii: "r"): result.append(0x0D)
                    case UInt8(ascii: "t"): result.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            guard bytes[index...].starts(with: #"\u"#.utf8) else {
                                throw problem("unpaired surrogate in \\u escape")
                            }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else {
                                throw problem("unpaired surrogate in \\u escape")
                            }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw problem("invalid \\u escape") }
                        result.append(contentsOf: String(Character(unicode)).utf8)
                    default: throw problem("unknown escape \\\(Character(Unicode.Scalar(escaped)))")
                    }
                case 0x00..<0x20:
                    throw problem("control character inside a string")
                default:
                    result.append(byte)
                }
            }
            throw problem("unterminated string")
        }

        mutating func hex4() throws(Problem) -> UInt32 {
            guard bytes.endIndex - index >= 4 else { throw problem("short \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw problem("invalid \\u escape")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        /// Skips a nested object or array, checking brackets balance (strings included).
        mutating func skipNested() throws(Problem) {
            var closers: [UInt8] = []
            while let byte = current {
                switch byte {
                case UInt8(ascii: "{"):
                    closers.append(UInt8(ascii: "}"))
                    index += 1
                case UInt8(ascii: "["):
                    closers.append(UInt8(ascii: "]"))
                    index += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    guard closers.popLast() == byte else {
                        throw problem("mismatched '\(Character(Unicode.Scalar(byte)))'")
                    }
                    index += 1
                    if closers.isEmpty { return }
                case UInt8(ascii: "\""):
                    _ = try string()
                default:
                    index += 1
                }
            }
            throw problem("unclosed object or array")
        }
    }
}

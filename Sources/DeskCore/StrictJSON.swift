/// Checks that a text is exactly one JSON value as RFC 8259 writes it, and that
/// no object repeats a key: what the desk requires of every JSON it reads
/// (config files, config.json, request bodies), so that `{"qty":"1","qty":"9999"}`
/// or a trailing comma is refused instead of read one way or another.
/// Problems carry the line and column (1-based, columns in characters).
public enum StrictJSON {
    /// What is wrong, and where.
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public var message: String

        public init(line: Int, column: Int, message: String) {
            self.line = line
            self.column = column
            self.message = message
        }

        public var description: String { "line \(line), column \(column): \(message)" }
    }

    /// Deepest nesting accepted.
    public static let maximumDepth = 64

    /// Throws the first problem of `text`.
    public static func check(_ text: String) throws(Problem) { try check(Array(text.utf8)) }

    /// Throws the first problem of `bytes` (UTF-8).
    public static func check(_ bytes: [UInt8]) throws(Problem) {
        var scanner = Scanner(bytes: bytes)
        scanner.skipWhitespace()
        try scanner.value(depth: 0)
        scanner.skipWhitespace()
        if scanner.index < bytes.count { throw scanner.problem("unexpected text after the JSON value") }
    }

    struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        /// Where `index` is, as line and column.
        func position(_ at: Int) -> (Int, Int) {
            var line = 1
            var column = 1
            var offset = 0
            while offset < min(at, bytes.count) {
                if bytes[offset] == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else if bytes[offset] & 0xC0 != 0x80 {
                    column += 1
                }
                offset += 1
            }
            return (line, column)
        }

        func problem(_ message: String, at: Int? = nil) -> Problem {
            let (line, column) = position(at ?? index)
            return Problem(line: line, column: column, message: message)
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(Problem) {
            guard current == byte else {
                throw problem(current == nil ? "the text ends where \(what) was expected" : "expected \(what)")
            }
            index += 1
        }

        mutating func value(depth: Int) throws(Problem) {
            guard depth < StrictJSON.maximumDepth else {
                throw problem("nested deeper than \(StrictJSON.maximumDepth) levels")
            }
            guard let byte = current else { throw problem("the text ends where a value was expected") }
            switch byte {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""): _ = try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw problem("expected a value (an object, array, string, number, true, false or null)")
            }
        }

        mutating func object(depth: Int) throws(Problem) {
            index += 1
            var keys: Set<String> = []
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                let start = index
                guard current == UInt8(ascii: "\"") else {
                    throw problem(
                        current == UInt8(ascii: "}")
                            ? "a comma before } (trailing commas are not JSON)" : "expected a \"key\"")
                }
                let key = try string()
                guard keys.insert(key).inserted else {
                    throw problem("the key \"\(key)\" appears twice in one object", at: start)
                }
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':' after the key")
                skipWhitespace()
                try value(depth: depth + 1)
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "}"), "',' or '}'")
                return
            }
        }

        mutating func array(depth: Int) throws(Problem) {
            index += 1
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                if current == UInt8(ascii: "]") { throw problem("a comma before ] (trailing commas are not JSON)") }
                try value(depth: depth + 1)
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "]"), "',' or ']'")
                return
            }
        }

        mutating func literal(_ word: String) throws(Problem) {
            let expected = Array(word.utf8)
            guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else {
                throw problem("expected a value (did you mean \(word)?)")
            }
            index += expected.count
        }

        mutating func number() throws(Problem) {
            let start = index
            func digits() -> Int {
                let first = index
                while let byte = current, byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") { index += 1 }
                return index - first
            }
            if current == UInt8(ascii: "-") { index += 1 }
            if current == UInt8(ascii: "0") {
                index += 1
                if let byte = current, byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                    throw problem("a number may not start with 0 (write 10, not 010)", at: start)
                }
            } else if digits() == 0 {
                throw problem("expected digits in the number", at: start)
            }
            if current == UInt8(ascii: ".") {
                index += 1
                if digits() == 0 { throw problem("expected digits after the decimal point", at: start) }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                if digits() == 0 { throw problem("expected digits in the exponent", at: start) }
            }
        }

        /// Reads a string (the opening quote is current); returns its value.
        mutating func string() throws(Problem) -> String {
            let start = index
            index += 1
            var scalars = String.UnicodeScalarView()
            var chunk: [UInt8] = []
            func flush() throws(Problem) {
                guard !chunk.isEmpty else { return }
                guard let text = String(validating: chunk, as: UTF8.self) else {
                    throw problem("the string is not valid UTF-8", at: start)
                }
                scalars.append(contentsOf: text.unicodeScalars)
                chunk.removeAll()
            }
            while true {
                guard let byte = current else { throw problem("the string is not closed", at: start) }
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    try flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    try flush()
                    guard let escape = current else { throw problem("the string is not closed", at: start) }
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800...0xDBFF).contains(code) {
                            guard current == UInt8(ascii: "\\"), index + 1 < bytes.count,
                                bytes[index + 1] == UInt8(ascii: "u")
                            else { throw problem("a \\u escape holds half of a surrogate pair") }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else {
                                throw problem("a \\u escape holds half of a surrogate pair")
                            }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else {
                            throw problem("a \\u escape holds half of a surrogate pair")
                        }
                        scalars.append(scalar)
                    default:
                        throw problem("\\\(Character(Unicode.Scalar(escape))) is not a JSON escape", at: index - 2)
                    }
                case 0..<0x20:
                    throw problem("a control character inside a string (write \\n, \\t, …)", at: index - 1)
                default:
                    chunk.append(byte)
                }
            }
        }

        mutating func hex4() throws(Problem) -> UInt32 {
            guard index + 4 <= bytes.count else { throw problem("a \\u escape needs four hex digits") }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw problem("a \\u escape needs four hex digits")
                }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }
    }
}

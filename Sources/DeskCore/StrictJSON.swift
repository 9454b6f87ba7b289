/// The desk's reading of JSON, stricter than the decoders behind it:
/// well-formed UTF-8 JSON (RFC 8259) with no byte-order mark, one object at the
/// top, nesting at most `maximumDepth` deep, no trailing commas, and every key
/// at most once per object. A decoder that keeps the last of two `"qty"` keys
/// would otherwise fill a different order than the one a reviewer of the first
/// key saw. Used for every JSON the desk reads: request bodies, the config file,
/// strategies' config.json.
public enum StrictJSON {
    /// Deepest nesting of objects and arrays read.
    public static let maximumDepth = 32

    /// What is wrong, and where (a byte offset, and the line and column it is on, 1-based).
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public var offset: Int
        public var line: Int
        public var column: Int
        /// The keys (and `[index]`es) leading to the value at fault; empty for a syntax problem.
        public var path: [String]
        /// For a key the reader does not know: the keys it reads in that object.
        public var allowedKeys: [String]?

        public init(
            message: String, offset: Int, line: Int, column: Int, path: [String] = [], allowedKeys: [String]? = nil
        ) {
            self.message = message
            self.offset = offset
            self.line = line
            self.column = column
            self.path = path
            self.allowedKeys = allowedKeys
        }

        /// The last key of `path`: the key whose value is at fault.
        public var key: String? { path.last { !$0.hasPrefix("[") } }

        /// `path` as written in messages: `risk.members.alice`, `symbols[0]`.
        public var dottedPath: String { StrictJSON.dotted(path) }

        public var description: String { "\(message) (line \(line), column \(column))" }
    }

    /// A value read from the text, with where it starts (a byte offset).
    public struct Node: Sendable {
        /// What the value is; numbers keep their text, so that no digit is lost to a float.
        public enum Value: Sendable {
            case object([Member])
            case array([Node])
            case string(String)
            case number(String)
            case bool(Bool)
            case null
        }

        public var value: Value
        public var offset: Int
    }

    /// One key of an object and its value; `keyOffset` is where the key's opening quote is.
    public struct Member: Sendable {
        public var key: String
        public var keyOffset: Int
        public var node: Node
    }

    /// A checked text: its bytes and its top-level object.
    public struct Document: Sendable {
        public let bytes: [UInt8]
        public let root: Node

        /// The top-level object's keys, in order.
        public var keys: [String] {
            if case .object(let members) = root.value { return members.map(\.key) }
            return []
        }

        /// The 1-based line and column of a byte offset (columns count characters).
        public func position(of offset: Int) -> (line: Int, column: Int) {
            StrictJSON.position(of: offset, in: bytes)
        }
    }

    /// Checks `text`; see `check(_:canonicalKey:)`.
    @discardableResult
    public static func check(_ text: String) throws(Problem) -> [String] { try check(Array(text.utf8)) }

    /// Checks `bytes` and returns the keys of its top-level object, in order.
    /// - Parameter canonicalKey: names that mean the same field map to one name
    ///   (the protobuf JSON reader takes `orderType` for `order_type`), so spelling a
    ///   field both ways is a duplicate too.
    @discardableResult
    public static func check(_ bytes: [UInt8], canonicalKey: @escaping (String) -> String = { $0 }) throws(Problem)
        -> [String]
    {
        try parse(bytes, canonicalKey: canonicalKey).keys
    }

    /// Checks `bytes` and returns what they hold (see `StrictJSONDecoder` to decode it).
    public static func parse(_ bytes: [UInt8], canonicalKey: @escaping (String) -> String = { $0 }) throws(Problem)
        -> Document
    {
        var reader = Reader(bytes: bytes, canonicalKey: canonicalKey)
        return Document(bytes: bytes, root: try reader.document())
    }

    /// The 1-based line and column of `offset` in `bytes` (columns count characters, not bytes).
    public static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for byte in bytes[..<min(max(offset, 0), bytes.count)] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }

    /// A path of keys and `[index]`es as messages write it: `risk.members.alice`, `symbols[0]`.
    public static func dotted(_ path: [String]) -> String {
        path.enumerated().map { index, part in index == 0 || part.hasPrefix("[") ? part : "." + part }.joined()
    }

    private struct Reader {
        let bytes: [UInt8]
        let canonicalKey: (String) -> String
        var index = 0
        var depth = 0

        init(bytes: [UInt8], canonicalKey: @escaping (String) -> String) {
            self.bytes = bytes
            self.canonicalKey = canonicalKey
        }

        func problem(_ message: String, at offset: Int? = nil) -> Problem {
            let at = min(offset ?? index, bytes.count)
            let (line, column) = StrictJSON.position(of: at, in: bytes)
            return Problem(message: message, offset: at, line: line, column: column)
        }

        mutating func document() throws(Problem) -> Node {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
                throw problem("the body starts with a byte-order mark; send UTF-8 JSON without one")
            }
            if String(validating: bytes, as: UTF8.self) == nil {
                throw problem("the body is not valid UTF-8 (JSON bodies are UTF-8)", at: firstInvalidUTF8())
            }
            skipSpace()
            guard peek == UInt8(ascii: "{") else {
                throw problem("the body must be one JSON object, {…}")
            }
            let root = try object()
            skipSpace()
            if index < bytes.count { throw problem("unexpected text after the JSON object") }
            return root
        }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func value() throws(Problem) -> Node {
            skipSpace()
            guard let byte = peek else { throw problem("the JSON ends where a value was expected") }
            let start = index
            switch byte {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return Node(value: .string(try string()), offset: start)
            case UInt8(ascii: "t"):
                try literal("true")
                return Node(value: .bool(true), offset: start)
            case UInt8(ascii: "f"):
                try literal("false")
                return Node(value: .bool(false), offset: start)
            case UInt8(ascii: "n"):
                try literal("null")
                return Node(value: .null, offset: start)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try number()
                return Node(value: .number(String(decoding: bytes[start..<index], as: UTF8.self)), offset: start)
            default: throw problem("a value (string, number, object, array, true, false or null) was expected")
            }
        }

        mutating func enter() throws(Problem) {
            depth += 1
            if depth > StrictJSON.maximumDepth {
                throw problem("the JSON nests deeper than \(StrictJSON.maximumDepth) levels")
            }
        }

        mutating func object() throws(Problem) -> Node {
            let objectStart = index
            try enter()
            index += 1
            var members: [Member] = []
            var seen: Set<String> = []
            skipSpace()
            if peek == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return Node(value: .object(members), offset: objectStart)
            }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else {
                    throw problem(
                        peek == UInt8(ascii: "}")
                            ? "a comma before \"}\" (trailing commas are not JSON)"
                            : "an object key (a string) was expected")
                }
                let start = index
                let key = try string()
                let canonical = canonicalKey(key)
                if !seen.insert(canonical).inserted {
                    let shown = canonical == key ? "" : " (the same field as \"\(canonical)\")"
                    throw problem(
                        "key \(OrderValidation.quoted(key))\(shown) appears more than once in one object; send each key once",
                        at: start)
                }
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw problem("\":\" was expected after an object key") }
                index += 1
                members.append(Member(key: key, keyOffset: start, node: try value()))
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"):
                    index += 1
                    depth -= 1
                    return Node(value: .object(members), offset: objectStart)
                default: throw problem("\",\" or \"}\" was expected in an object")
                }
            }
        }

        mutating func array() throws(Problem) -> Node {
            let start = index
            try enter()
            index += 1
            var elements: [Node] = []
            skipSpace()
            if peek == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return Node(value: .array(elements), offset: start)
            }
            while true {
                skipSpace()
                if peek == UInt8(ascii: "]") { throw problem("a comma before \"]\" (trailing commas are not JSON)") }
                elements.append(try value())
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"):
                    index += 1
                    depth -= 1
                    return Node(value: .array(elements), offset: start)
                default: throw problem("\",\" or \"]\" was expected in an array")
                }
            }
        }

        /// Reads a string and returns it decoded (escapes resolved), so that
        /// `"q\u0074y"` is recognised as `"qty"`.
        mutating func string() throws(Problem) -> String {
            let start = index
            index += 1
            var scalars = String.UnicodeScalarView()
            var run = index
            func flush(_ end: Int, into scalars: inout String.UnicodeScalarView) {
                scalars.append(contentsOf: String(decoding: bytes[run..<end], as: UTF8.self).unicodeScalars)
            }
            while true {
                guard let byte = peek else { throw problem("a string is not closed", at: start) }
                switch byte {
                case UInt8(ascii: "\""):
                    flush(index, into: &scalars)
                    index += 1
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flush(index, into: &scalars)
                    index += 1
                    guard let escaped = peek else { throw problem("a string is not closed", at: start) }
                    index += 1
                    switch escaped {
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
                            guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count,
                                bytes[index + 1] == UInt8(ascii: "u")
                            else { throw problem("a \\u escape holds half of a surrogate pair") }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else {
                                throw problem("a \\u escape holds half of a surrogate pair")
                            }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(code) {
                            throw problem("a \\u escape holds half of a surrogate pair")
                        }
                        guard let scalar = Unicode.Scalar(code) else {
                            throw problem("a \\u escape is not a character")
                        }
                        scalars.append(scalar)
                    default:
                        throw problem("\\\(Character(Unicode.Scalar(escaped))) is not a JSON escape", at: index - 2)
                    }
                    run = index
                case 0x00..<0x20:
                    throw problem("a control character must be escaped inside a string")
                default:
                    index += 1
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

        mutating func literal(_ word: String) throws(Problem) {
            let expected = Array(word.utf8)
            guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected
            else { throw problem("a value (string, number, object, array, true, false or null) was expected") }
            index += expected.count
        }

        /// A JSON number: `-`? (`0` | [1-9][0-9]*) (`.` [0-9]+)? ([eE] [+-]? [0-9]+)?
        mutating func number() throws(Problem) {
            let start = index
            func digits(_ reader: inout Reader) -> Int {
                var count = 0
                while let byte = reader.peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                    reader.index += 1
                    count += 1
                }
                return count
            }
            if peek == UInt8(ascii: "-") { index += 1 }
            if peek == UInt8(ascii: "0") {
                index += 1
                if let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                    throw problem("a JSON number has no leading zeros", at: start)
                }
            } else if digits(&self) == 0 {
                throw problem("a JSON number needs digits", at: start)
            }
            if peek == UInt8(ascii: ".") {
                index += 1
                if digits(&self) == 0 { throw problem("a JSON number needs digits after its point", at: start) }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                index += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
                if digits(&self) == 0 { throw problem("a JSON number needs digits in its exponent", at: start) }
            }
        }

        func firstInvalidUTF8() -> Int {
            var offset = 0
            var decoder = UTF8()
            var iterator = bytes.makeIterator()
            while true {
                switch decoder.decode(&iterator) {
                case .scalarValue(let scalar): offset += UTF8.width(scalar)
                case .emptyInput: return offset
                case .error: return offset
                }
            }
        }
    }
}

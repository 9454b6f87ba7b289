import DeskCore
import Foundation

/// How fast a replay runs.
public enum ReplaySpeed: Sendable, Equatable {
    /// The recorded gaps between ticks.
    case recorded
    /// The recorded gaps divided by this factor (2 = twice as fast).
    case scaled(Double)
    /// No waiting at all.
    case asFastAsPossible

    /// Parses `recorded`, `fast`, or a factor such as `10x`.
    public static func parse(_ text: String) -> ReplaySpeed? {
        switch text {
        case "recorded", "1x": return .recorded
        case "fast", "max": return .asFastAsPossible
        default:
            guard text.hasSuffix("x"), let factor = Double(text.dropLast()), factor > 0 else { return nil }
            return .scaled(factor)
        }
    }
}

/// A line of a replay file that cannot be used.
public struct ReplayFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { "\(file):\(line): \(message)" }
}

/// Replays recorded ticks from a CSV file (a header naming `timestamp`, `symbol`,
/// `price` and optionally `size`, `bid`, `ask`, in any order) or a JSON-lines file
/// (objects with `symbol`, `price`, `ts` or `timestamp`, optional `size`, `bid`,
/// `ask`). Timestamps are ISO-8601 or epoch seconds (milliseconds when ≥ 1e11).
/// The whole file is checked when the source is made.
public struct ReplaySource: TickSource {
    public let file: URL
    public let speed: ReplaySpeed
    public let ticks: [Tick]

    public init(file: URL, speed: ReplaySpeed) throws {
        self.file = file
        self.speed = speed
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw ReplayFileError(file: file.path, line: 0, message: "cannot read the file")
        }
        let text = String(decoding: data, as: UTF8.self)
        switch file.pathExtension.lowercased() {
        case "csv": ticks = try Self.parseCSV(text, file: file.path)
        case "jsonl", "ndjson", "json": ticks = try Self.parseJSONLines(text, file: file.path)
        default:
            throw ReplayFileError(
                file: file.path, line: 0, message: "unknown file type: use .csv, .jsonl or .ndjson")
        }
    }

    public var name: String { "replay \(file.lastPathComponent) (\(ticks.count) ticks)" }

    public func run(_ emit: @Sendable (Tick) async -> Void) async throws {
        guard let first = ticks.first else { return }
        let clock = ContinuousClock()
        let start = clock.now
        for tick in ticks {
            if Task.isCancelled { return }
            let offset = tick.at.timeIntervalSince(first.at)
            switch speed {
            case .recorded: try await Task.sleep(until: start + .seconds(offset), clock: clock)
            case .scaled(let factor): try await Task.sleep(until: start + .seconds(offset / factor), clock: clock)
            case .asFastAsPossible: break
            }
            await emit(tick)
        }
    }

    // MARK: Parsing

    static func parseCSV(_ text: String, file: String) throws -> [Tick] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().makeIterator()
        guard let (_, headerLine) = lines.next() else { return [] }
        let header = headerLine.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        func column(_ names: [String]) -> Int? { names.lazy.compactMap { header.firstIndex(of: $0) }.first }
        guard let timeColumn = column(["timestamp", "ts", "time"]), let symbolColumn = column(["symbol"]),
            let priceColumn = column(["price"])
        else {
            throw ReplayFileError(
                file: file, line: 1,
                message:
                    "the header must name timestamp, symbol and price columns (size, bid, ask optional); found: \(header.joined(separator: ","))"
            )
        }
        let sizeColumn = column(["size"])
        let bidColumn = column(["bid"])
        let askColumn = column(["ask"])
        var ticks: [Tick] = []
        while let (index, rawLine) = lines.next() {
            let number = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count == header.count else {
                throw ReplayFileError(
                    file: file, line: number, message: "has \(fields.count) fields; the header has \(header.count)")
            }
            func optional(_ column: Int?, _ name: String) throws -> Decimal? {
                guard let column, !fields[column].isEmpty else { return nil }
                return try Self.number(fields[column], name: name, file: file, line: number)
            }
            try append(
                Tick(
                    symbol: try symbol(fields[symbolColumn], file: file, line: number),
                    price: try self.number(fields[priceColumn], name: "price", file: file, line: number),
                    at: try timestamp(fields[timeColumn], file: file, line: number),
                    bid: try optional(bidColumn, "bid"), ask: try optional(askColumn, "ask"),
                    size: try optional(sizeColumn, "size"), kind: .trade), to: &ticks, file: file, line: number)
        }
        return ticks
    }

    static func parseJSONLines(_ text: String, file: String) throws -> [Tick] {
        var ticks: [Tick] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let object: [String: FlatJSON.Value]
            do { object = try FlatJSON.parseObject(line) } catch {
                throw ReplayFileError(file: file, line: number, message: "not a flat JSON object: \(error)")
            }
            func text(_ key: String) -> String? {
                switch object[key] {
                case .string(let value)?: value
                case .number(let value)?: value
                default: nil
                }
            }
            guard let symbolText = text("symbol") else {
                throw ReplayFileError(file: file, line: number, message: "missing \"symbol\"")
            }
            guard let priceText = text("price") else {
                throw ReplayFileError(file: file, line: number, message: "missing \"price\"")
            }
            guard let timeText = text("ts") ?? text("timestamp") else {
                throw ReplayFileError(file: file, line: number, message: "missing \"ts\" (or \"timestamp\")")
            }
            func optional(_ key: String) throws -> Decimal? {
                try text(key).map { try self.number($0, name: key, file: file, line: number) }
            }
            try append(
                Tick(
                    symbol: try symbol(symbolText, file: file, line: number),
                    price: try self.number(priceText, name: "price", file: file, line: number),
                    at: try timestamp(timeText, file: file, line: number), bid: try optional("bid"),
                    ask: try optional("ask"), size: try optional("size"),
                    kind: text("type").flatMap(TickKind.init(rawValue:)) ?? .trade), to: &ticks, file: file,
                line: number)
        }
        return ticks
    }

    static func symbol(_ text: String, file: String, line: Int) throws -> String {
        do { return try OrderValidation.validateSymbol(text) } catch {
            throw ReplayFileError(file: file, line: line, message: error.message)
        }
    }

    static func number(_ text: String, name: String, file: String, line: Int) throws -> Decimal {
        guard case .success(let value) = ExactDecimal.parse(text), value > 0 else {
            throw ReplayFileError(
                file: file, line: line, message: "\(name) \"\(text)\" is not a positive decimal number")
        }
        return value
    }

    static func timestamp(_ text: String, file: String, line: Int) throws -> Date {
        if case .success(let value) = ExactDecimal.parse(text) {
            let seconds = NSDecimalNumber(decimal: value).doubleValue
            return Date(timeIntervalSince1970: seconds >= 1e11 ? seconds / 1000 : seconds)
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        throw ReplayFileError(
            file: file, line: line,
            message: "timestamp \"\(text)\" is neither ISO-8601 (2026-11-25T14:30:00Z) nor epoch seconds")
    }

    /// Appends a tick, refusing one earlier than the tick before it.
    static func append(_ tick: Tick, to ticks: inout [Tick], file: String, line: Int) throws {
        if let previous = ticks.last, tick.at < previous.at {
            throw ReplayFileError(
                file: file, line: line, message: "timestamps go backwards; a replay file must be in time order")
        }
        ticks.append(tick)
    }
}

/// A reader for flat JSON objects that keeps numbers as their exact text
/// (JSONSerialization would turn 145.10 into a binary float).
enum FlatJSON {
    enum Value: Equatable {
        case string(String)
        case number(String)
        case bool(Bool)
        case null
    }

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    static func parseObject(_ text: String) throws -> [String: Value] {
        var bytes = Array(text.utf8)[...]
        func skipSpace() {
            while let byte = bytes.first, byte == 0x20 || byte == 0x09 || byte == 0x0D { bytes.removeFirst() }
        }
        func expect(_ byte: UInt8) throws {
            skipSpace()
            guard bytes.first == byte else {
                throw Problem(description: "expected '\(Character(Unicode.Scalar(byte)))'")
            }
            bytes.removeFirst()
        }
        func string() throws -> String {
            try expect(UInt8(ascii: "\""))
            var result: [UInt8] = []
            while let byte = bytes.popFirst() {
                switch byte {
                case UInt8(ascii: "\""): return String(decoding: result, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = bytes.popFirst() else { throw Problem(description: "unfinished escape") }
                    switch escaped {
                    case UInt8(ascii: "n"): result.append(0x0A)
                    case UInt8(ascii: "t"): result.append(0x09)
                    case UInt8(ascii: "u"):
                        let hex = String(decoding: bytes.prefix(4), as: UTF8.self)
                        bytes = bytes.dropFirst(4)
                        guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                            throw Problem(description: "bad \\u escape")
                        }
                        result += Array(String(Character(scalar)).utf8)
                    default: result.append(escaped)
                    }
                default: result.append(byte)
                }
            }
            throw Problem(description: "unterminated string")
        }
        func value() throws -> Value {
            skipSpace()
            guard let first = bytes.first else { throw Problem(description: "missing value") }
            switch first {
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                var number: [UInt8] = []
                while let byte = bytes.first,
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                        || [
                            UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"),
                            UInt8(ascii: "E"),
                        ].contains(byte)
                {
                    number.append(byte)
                    bytes.removeFirst()
                }
                return .number(String(decoding: number, as: UTF8.self))
            case UInt8(ascii: "t") where bytes.starts(with: Array("true".utf8)):
                bytes = bytes.dropFirst(4)
                return .bool(true)
            case UInt8(ascii: "f") where bytes.starts(with: Array("false".utf8)):
                bytes = bytes.dropFirst(5)
                return .bool(false)
            case UInt8(ascii: "n") where bytes.starts(with: Array("null".utf8)):
                bytes = bytes.dropFirst(4)
                return .null
            default:
                throw Problem(description: "nested or unknown value (only strings, numbers, true, false, null)")
            }
        }
        var object: [String: Value] = [:]
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if bytes.first == UInt8(ascii: "}") {
            bytes.removeFirst()
        } else {
            while true {
                let key = try string()
                try expect(UInt8(ascii: ":"))
                object[key] = try value()
                skipSpace()
                if bytes.first == UInt8(ascii: ",") {
                    bytes.removeFirst()
                    skipSpace()
                    continue
                }
                try expect(UInt8(ascii: "}"))
                break
            }
        }
        skipSpace()
        if !bytes.isEmpty { throw Problem(description: "text after the object") }
        return object
    }
}

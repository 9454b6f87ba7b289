import DeskCore
import Foundation

/// A replay file, or one of its lines, that cannot be used. Its description reads
/// `ticks.csv:14: price "abc" is not a decimal number …`.
public struct ReplayFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file's path.
    public var file: String
    /// The 1-based line number, or nil when the problem is the whole file.
    public var line: Int?
    /// What was wrong and what is allowed.
    public var message: String

    /// An error about `line` of `file` (nil: the whole file).
    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`, or `file: message`.
    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// The layout of a replay file.
public enum ReplayFormat: String, Sendable, Equatable, CaseIterable {
    /// Comma-separated values with a header line naming the columns.
    case csv
    /// One JSON object per line (`.jsonl` or `.ndjson`).
    case jsonLines

    /// The format a file's extension names (`.csv`, `.jsonl`, `.ndjson`, any case); nil otherwise.
    public init?(fileExtension: String) {
        switch fileExtension.lowercased() {
        case "csv": self = .csv
        case "jsonl", "ndjson": self = .jsonLines
        default: return nil
        }
    }
}

/// Reads the ticks of a replay file one at a time, with line numbers, checking that
/// time never goes backwards. Used twice: once to validate the whole file when a
/// ``ReplaySource`` is made, and again, streaming, when it runs, so a file of any
/// length replays in constant memory.
struct ReplayReader {
    private var lines: LineReader
    private var decoder: any ReplayLineDecoder
    private var previous: Date?
    /// The file's path, for errors.
    let path: String

    /// Opens `file` to read it as `format`.
    init(file: URL, format: ReplayFormat) throws(ReplayFileError) {
        path = file.path
        lines = try LineReader(file: file)
        switch format {
        case .csv: decoder = CSVTickDecoder()
        case .jsonLines: decoder = JSONLineTickDecoder()
        }
    }

    /// The next tick and its line number; nil at the end of the file.
    mutating func next() throws(ReplayFileError) -> (tick: Tick, line: Int)? {
        while let (number, bytes) = try lines.next() {
            let tick: Tick?
            do throws(ReplayLineProblem) {
                tick = try decoder.decode(bytes, line: number)
            } catch {
                throw ReplayFileError(file: path, line: number, message: error.message)
            }
            guard let tick else { continue }
            if let previous, tick.at < previous {
                throw ReplayFileError(
                    file: path, line: number,
                    message:
                        "timestamp \(UTCTimestamp.iso8601(tick.at)) is before the line above it (\(UTCTimestamp.iso8601(previous))); a replay file must be in time order"
                )
            }
            previous = tick.at
            return (tick, number)
        }
        if let problem = decoder.finish() {
            throw ReplayFileError(file: path, line: 1, message: problem.message)
        }
        return nil
    }
}

/// Why one line could not be read; the reader adds the file and line.
struct ReplayLineProblem: Error {
    /// What was wrong and what is allowed.
    var message: String
}

/// Turns one line into a tick.
protocol ReplayLineDecoder {
    /// The line's tick, or nil for a line that holds none (blank, the header).
    mutating func decode(_ line: ArraySlice<UInt8>, line number: Int) throws(ReplayLineProblem) -> Tick?
    /// A problem with the file as a whole once every line was read (no header), if any.
    func finish() -> ReplayLineProblem?
}

// MARK: - Fields shared by both formats

/// Checks and converts field text.
enum ReplayField {
    /// A bar's open, high, low and volume: all four or none; high is the highest and low the lowest.
    static func bar(_ values: [Decimal?]) throws(ReplayLineProblem) -> BarFields? {
        let given = values.compactMap { $0 }
        if given.isEmpty { return nil }
        guard given.count == 4 else {
            throw ReplayLineProblem(message: "a bar needs all of open, high, low and volume, or none of them")
        }
        let bar = BarFields(open: given[0], high: given[1], low: given[2], volume: given[3])
        guard bar.low <= bar.high, bar.low <= bar.open, bar.open <= bar.high else {
            throw ReplayLineProblem(
                message: "a bar's low must not be above its open or high, nor its open above its high")
        }
        return bar
    }

    /// A ticker, by the same rule as orders (``OrderValidation/validateSymbol(_:)``).
    static func symbol(_ text: String) throws(ReplayLineProblem) -> String {
        do {
            return try OrderValidation.validateSymbol(text)
        } catch {
            throw ReplayLineProblem(message: error.message)
        }
    }

    /// A decimal written exactly; `positive` refuses zero, otherwise zero is allowed. JSON
    /// exponents (`1.5e2`) are applied exactly.
    static func decimal(_ text: String, field: String, positive: Bool) throws(ReplayLineProblem) -> Decimal {
        guard let value = ExactNumber.parse(text) else {
            throw ReplayLineProblem(
                message: "\(field) \(OrderValidation.quoted(text)) is not a decimal number (write it like 145.25)")
        }
        if positive ? value <= 0 : value < 0 {
            throw ReplayLineProblem(
                message:
                    "\(field) \(OrderValidation.quoted(text)) must be \(positive ? "greater than zero" : "zero or more")"
            )
        }
        return value
    }

    /// An ISO-8601 or epoch time (see ``UTCTimestamp/parse(_:)``).
    static func timestamp(_ text: String, field: String) throws(ReplayLineProblem) -> Date {
        guard let date = UTCTimestamp.parse(text) else {
            throw ReplayLineProblem(
                message:
                    "\(field) \(OrderValidation.quoted(text)) is not a time: use ISO-8601 (2026-11-25T14:30:00.250Z) or epoch seconds or milliseconds (1795617000.25, 1795617000250)"
            )
        }
        return date
    }

    /// A line's quote and price, checked together (``Tick/price(given:kind:bid:ask:bidSize:askSize:)``).
    static func quoted(
        price: Decimal?, kind: TickKind, bid: Decimal?, ask: Decimal?, bidSize: Decimal?, askSize: Decimal?
    ) throws(ReplayLineProblem) -> Decimal {
        switch Tick.price(given: price, kind: kind, bid: bid, ask: ask, bidSize: bidSize, askSize: askSize) {
        case .success(let price): return price
        case .failure(let problem): throw ReplayLineProblem(message: problem.message)
        }
    }

    /// `trade`, `quote` or `bar`.
    static func kind(_ text: String) throws(ReplayLineProblem) -> TickKind {
        guard let kind = TickKind(rawValue: text) else {
            let allowed = TickKind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw ReplayLineProblem(message: "type \(OrderValidation.quoted(text)) is not one of \(allowed)")
        }
        return kind
    }
}

/// Exact decimal text, including JSON's exponent form.
enum ExactNumber {
    /// `145.10` → 145.1, `-2` → -2, `1.455e2` → 145.5, `1e-05` → 0.00001; nil for
    /// anything else (hex, `nan`, spaces, a bare `.`).
    static func parse(_ text: String) -> Decimal? {
        let bytes = text.utf8
        guard let e = bytes.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) else {
            if case .success(let value) = ExactDecimal.parse(text) { return value }
            return nil
        }
        let mantissaText = String(text[..<e])
        let exponentText = String(text[text.index(after: e)...])
        guard case .success(let mantissa) = ExactDecimal.parse(mantissaText),
            let exponent = Int(exponentText), abs(exponent) <= 60
        else { return nil }
        let scaled = Decimal(sign: mantissa.sign, exponent: exponent, significand: mantissa.magnitude)
        return scaled.isNaN ? nil : scaled
    }
}

// MARK: - Lines

/// Reads a file in 64 KiB chunks and hands out its lines (without `\n` or `\r\n`,
/// and without a leading UTF-8 byte-order mark) with 1-based line numbers.
struct LineReader {
    /// Longest line accepted.
    static let maximumLineLength = 1 << 20

    private let handle: FileHandle
    private let path: String
    private var buffer: [UInt8] = []
    private var position = 0
    private var endOfFile = false
    private var lineNumber = 0

    /// Opens `file` for reading.
    init(file: URL) throws(ReplayFileError) {
        path = file.path
        do {
            handle = try FileHandle(forReadingFrom: file)
        } catch {
            throw ReplayFileError(file: file.path, line: nil, message: "cannot open the file: \(Self.reason(error))")
        }
    }

    /// The next line; nil at the end of the file. The slice is valid until the next call.
    mutating func next() throws(ReplayFileError) -> (number: Int, bytes: ArraySlice<UInt8>)? {
        while true {
            if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = trimmed(buffer[position..<newline])
                position = newline + 1
                return (lineNumber, line)
            }
            if buffer.count - position > Self.maximumLineLength {
                throw ReplayFileError(
                    file: path, line: lineNumber + 1,
                    message: "line is longer than \(Self.maximumLineLength) bytes; is this a text file?")
            }
            if endOfFile {
                guard position < buffer.count else { return nil }
                let line = trimmed(buffer[position...])
                position = buffer.count
                return (lineNumber, line)
            }
            try fill()
        }
    }

    private mutating func trimmed(_ raw: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        lineNumber += 1
        var line = raw
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        if lineNumber == 1, line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
        return line
    }

    private mutating func fill() throws(ReplayFileError) {
        if position > 0 {
            buffer.removeFirst(position)
            position = 0
        }
        do {
            if let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty {
                buffer.append(contentsOf: chunk)
            } else {
                endOfFile = true
                try? handle.close()
            }
        } catch {
            throw ReplayFileError(file: path, line: lineNumber + 1, message: "cannot read: \(Self.reason(error))")
        }
    }

    private static func reason(_ error: any Error) -> String {
        (error as NSError).localizedDescription
    }
}

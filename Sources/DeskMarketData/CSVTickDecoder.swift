import DeskCore
import Foundation

/// CSV replay lines. The first non-blank line is the header; columns are found by
/// name, in any order, case-insensitive: `timestamp` (or `ts`, `time`), `symbol`,
/// `price`, and optionally `size`, `bid`, `ask`, `bid_size`, `ask_size`, `type` and
/// a bar's `open`, `high`, `low`, `volume` (all four or none). Other columns are
/// ignored. A quote line with both `bid` and `ask` may leave `price` empty (it is
/// their midpoint); a file of quotes alone may have no `price` column.
/// Fields may be double-quoted (`"AAPL"`, `"a ""b"""`); blank lines are skipped; an
/// empty optional field means "not given". Without a `type` column every tick is a
/// trade.
struct CSVTickDecoder: ReplayLineDecoder {
    /// Column positions, known once the header is read.
    private struct Columns {
        var count: Int
        var timestamp: Int
        var symbol: Int
        var price: Int?
        var size: Int?
        var bid: Int?
        var ask: Int?
        var bidSize: Int?
        var askSize: Int?
        var type: Int?
        var bar: [Int?]
    }

    /// Accepted header names for each field.
    static let names: [(field: String, aliases: [String])] = [
        ("timestamp", ["timestamp", "ts", "time"]), ("symbol", ["symbol"]), ("price", ["price"]),
        ("size", ["size"]), ("bid", ["bid"]), ("ask", ["ask"]), ("bid_size", ["bid_size"]),
        ("ask_size", ["ask_size"]), ("type", ["type"]), ("open", ["open"]),
        ("high", ["high"]), ("low", ["low"]), ("volume", ["volume"]),
    ]

    private var columns: Columns?

    /// Reads the header from the first non-blank line, then one tick per line.
    mutating func decode(_ line: ArraySlice<UInt8>, line number: Int) throws(ReplayLineProblem) -> Tick? {
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { return nil }
        let fields = try Self.split(line)
        guard let columns else {
            columns = try Self.header(fields)
            return nil
        }
        guard fields.count == columns.count else {
            throw ReplayLineProblem(
                message:
                    "has \(fields.count) fields; the header has \(columns.count) (quote a field that holds a comma)")
        }
        func optional(_ column: Int?, _ field: String, positive: Bool) throws(ReplayLineProblem) -> Decimal? {
            guard let column, !fields[column].isEmpty else { return nil }
            return try ReplayField.decimal(fields[column], field: field, positive: positive)
        }
        let kindText = columns.type.map { fields[$0] } ?? ""
        let barValues = try zip(["open", "high", "low", "volume"], columns.bar).map {
            field, column throws(ReplayLineProblem) in try optional(column, field, positive: field != "volume")
        }
        let bar = try ReplayField.bar(barValues)
        let kind = kindText.isEmpty ? .trade : try ReplayField.kind(kindText)
        let (bid, ask) = (
            try optional(columns.bid, "bid", positive: true), try optional(columns.ask, "ask", positive: true)
        )
        let bidSize = try optional(columns.bidSize, "bid_size", positive: false)
        let askSize = try optional(columns.askSize, "ask_size", positive: false)
        return Tick(
            symbol: try ReplayField.symbol(fields[columns.symbol]),
            price: try ReplayField.quoted(
                price: try optional(columns.price, "price", positive: true), kind: kind, bid: bid, ask: ask,
                bidSize: bidSize, askSize: askSize),
            at: try ReplayField.timestamp(fields[columns.timestamp], field: "timestamp"), bid: bid, ask: ask,
            size: try optional(columns.size, "size", positive: false), kind: kind, bar: bar, bidSize: bidSize,
            askSize: askSize)
    }

    /// A file without a header line is a problem.
    func finish() -> ReplayLineProblem? {
        columns == nil ? ReplayLineProblem(message: "the file is empty: a CSV replay needs a header line") : nil
    }

    private static func header(_ fields: [String]) throws(ReplayLineProblem) -> Columns {
        let lowered = fields.map { $0.lowercased() }
        var found: [String: Int] = [:]
        for (index, name) in lowered.enumerated() {
            guard let field = names.first(where: { $0.aliases.contains(name) })?.field else { continue }
            if let earlier = found[field] {
                throw ReplayLineProblem(
                    message: "header names \(field) twice (columns \(earlier + 1) and \(index + 1))")
            }
            found[field] = index
        }
        let priced = found["price"] != nil || (found["bid"] != nil && found["ask"] != nil)
        let missing = ["timestamp", "symbol", "price"].filter { found[$0] == nil && ($0 != "price" || !priced) }
        guard missing.isEmpty, let timestamp = found["timestamp"], let symbol = found["symbol"] else {
            let looksLikeData = fields.first.map { UTCTimestamp.parse($0) != nil } ?? false
            let shown = fields.joined(separator: ",")
            throw ReplayLineProblem(
                message: looksLikeData
                    ? "the first line must be a header naming the columns (timestamp,symbol,price[,size,bid,ask,bid_size,ask_size,type]); found data: \(shown)"
                    : "the header lacks \(missing.joined(separator: ", ")): it must name timestamp (or ts, time), symbol and price (or bid and ask, for quotes alone), and may name size, bid, ask, bid_size, ask_size, type; found: \(shown)"
            )
        }
        return Columns(
            count: fields.count, timestamp: timestamp, symbol: symbol, price: found["price"], size: found["size"],
            bid: found["bid"], ask: found["ask"], bidSize: found["bid_size"], askSize: found["ask_size"],
            type: found["type"],
            bar: ["open", "high", "low", "volume"].map { found[$0] })
    }

    /// Splits a line at commas outside double quotes; trims spaces and tabs around
    /// unquoted fields; `""` inside quotes is one quote.
    static func split(_ line: ArraySlice<UInt8>) throws(ReplayLineProblem) -> [String] {
        var fields: [String] = []
        var field: [UInt8] = []
        var index = line.startIndex
        var quoted = false
        func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        func close() {
            if !quoted {
                while let last = field.last, isSpace(last) { field.removeLast() }
            }
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quoted = false
        }
        while index < line.endIndex {
            // Start of a field: skip leading spaces; a quote opens a quoted field.
            while index < line.endIndex, isSpace(line[index]) { index += 1 }
            if index < line.endIndex, line[index] == UInt8(ascii: "\"") {
                quoted = true
                index += 1
                var closed = false
                while index < line.endIndex {
                    let byte = line[index]
                    index += 1
                    if byte == UInt8(ascii: "\"") {
                        if index < line.endIndex, line[index] == UInt8(ascii: "\"") {
                            field.append(byte)
                            index += 1
                        } else {
                            closed = true
                            break
                        }
                    } else {
                        field.append(byte)
                    }
                }
                guard closed else { throw ReplayLineProblem(message: "a quoted field is not closed") }
                while index < line.endIndex, isSpace(line[index]) { index += 1 }
                guard index == line.endIndex || line[index] == UInt8(ascii: ",") else {
                    throw ReplayLineProblem(message: "text after a closing quote (fields are separated by commas)")
                }
            } else {
                while index < line.endIndex, line[index] != UInt8(ascii: ",") {
                    field.append(line[index])
                    index += 1
                }
            }
            close()
            if index < line.endIndex {
                index += 1  // the comma
                if index == line.endIndex { close() }  // a trailing comma ends an empty last field
            }
        }
        return fields
    }
}

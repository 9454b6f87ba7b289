import DeskCore
import Foundation

/// What a tick reports: a trade, a quote or a bar.
public enum TickKind: String, Sendable, Codable {
    case trade, quote, bar
}

/// One market data event for one symbol. Prices are exact decimals.
public struct Tick: Sendable, Equatable {
    public var symbol: String
    public var price: Decimal
    /// When it happened (for replays, when it was recorded).
    public var at: Date
    public var bid: Decimal?
    public var ask: Decimal?
    public var size: Decimal?
    public var kind: TickKind?

    public init(
        symbol: String, price: Decimal, at: Date, bid: Decimal? = nil, ask: Decimal? = nil, size: Decimal? = nil,
        kind: TickKind? = nil
    ) {
        self.symbol = symbol
        self.price = price
        self.at = at
        self.bid = bid
        self.ask = ask
        self.size = size
        self.kind = kind
    }

    /// The line strategies read: one JSON object and `\n`, e.g.
    /// `{"symbol":"AAPL","price":145.5,"ts":"2026-11-25T14:30:00.123Z","size":100,"type":"trade"}`.
    /// Numbers are written from their exact decimal text; absent fields are left out.
    public var jsonLine: String {
        var line =
            "{\"symbol\":\"\(symbol)\",\"price\":\(ExactDecimal.plain(price)),\"ts\":\"\(TimestampText.iso8601(at))\""
        if let bid { line += ",\"bid\":\(ExactDecimal.plain(bid))" }
        if let ask { line += ",\"ask\":\(ExactDecimal.plain(ask))" }
        if let size { line += ",\"size\":\(ExactDecimal.plain(size))" }
        if let kind { line += ",\"type\":\"\(kind.rawValue)\"" }
        return line + "}\n"
    }
}

/// A tick and its JSON line, encoded once by the hub and shared by every subscriber.
public struct FeedLine: Sendable {
    public let tick: Tick
    public let bytes: [UInt8]

    public init(tick: Tick) {
        self.tick = tick
        bytes = Array(tick.jsonLine.utf8)
    }
}

/// ISO-8601 UTC timestamps with milliseconds, formatted without a DateFormatter
/// (this runs once per tick).
enum TimestampText {
    static func iso8601(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(milliseconds % 1000)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }
}

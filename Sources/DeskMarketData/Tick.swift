import DeskCore
import Foundation

/// What a tick reports: a trade, a quote or a bar.
public enum TickKind: String, Sendable, Codable, CaseIterable {
    /// A trade printed at `price`.
    case trade
    /// A quote; `price` is usually the midpoint or the last trade.
    case quote
    /// A bar (for example one minute); `price` is its close.
    case bar
}

/// A bar's other prices and its volume (its close is the tick's `price`).
public struct BarFields: Sendable, Equatable {
    public var open: Decimal
    public var high: Decimal
    public var low: Decimal
    public var volume: Decimal

    public init(open: Decimal, high: Decimal, low: Decimal, volume: Decimal) {
        self.open = open
        self.high = high
        self.low = low
        self.volume = volume
    }
}

/// One market data event for one symbol. Prices and sizes are exact decimals.
public struct Tick: Sendable, Equatable {
    /// The ticker, e.g. `AAPL`.
    public var symbol: String
    /// The trade (or quote, or bar close) price.
    public var price: Decimal
    /// When the event happened (for a replay: when it was recorded).
    public var at: Date
    /// Best bid, when known.
    public var bid: Decimal?
    /// Best ask, when known.
    public var ask: Decimal?
    /// Shares offered at the bid, when known (`bid_size`).
    public var bidSize: Decimal?
    /// Shares offered at the ask, when known (`ask_size`).
    public var askSize: Decimal?
    /// Shares traded (or quoted), when known.
    public var size: Decimal?
    /// What the tick reports, when known.
    public var kind: TickKind?
    /// For a bar: its open, high, low and volume.
    public var bar: BarFields?

    /// A tick; the optional fields are left out of its JSON line when nil.
    public init(
        symbol: String, price: Decimal, at: Date, bid: Decimal? = nil, ask: Decimal? = nil, size: Decimal? = nil,
        kind: TickKind? = nil, bar: BarFields? = nil, bidSize: Decimal? = nil, askSize: Decimal? = nil
    ) {
        self.bar = bar
        self.bidSize = bidSize
        self.askSize = askSize
        self.symbol = symbol
        self.price = price
        self.at = at
        self.bid = bid
        self.ask = ask
        self.size = size
        self.kind = kind
    }

    /// The line strategies read: one JSON object and a trailing `"\n"`, e.g.
    /// `{"symbol":"AAPL","price":145.5,"ts":"2026-11-25T14:30:00.123Z","size":100,"type":"trade"}`.
    ///
    /// Fields come in the order `symbol`, `price`, `ts`, `bid`, `ask`, `bid_size`, `ask_size`, `size`, `type`,
    /// then a bar's `open`, `high`, `low`, `volume`; nil fields are left out. Numbers are JSON numbers written from their exact decimal text
    /// (``ExactDecimal/plain(_:)``), never through a binary float; `ts` is ISO-8601 UTC
    /// with milliseconds (truncated, not rounded).
    public var jsonLine: String { String(decoding: jsonLineBytes(), as: UTF8.self) }

    /// ``jsonLine`` as UTF-8 bytes, built without an intermediate `String`.
    public func jsonLineBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        out.append(contentsOf: #"{"symbol":"#.utf8)
        JSONText.appendString(symbol, to: &out)
        out.append(contentsOf: #","price":"#.utf8)
        JSONText.appendNumber(price, to: &out)
        out.append(contentsOf: #","ts":""#.utf8)
        UTCTimestamp.appendISO8601(at, to: &out)
        out.append(UInt8(ascii: "\""))
        if let bid {
            out.append(contentsOf: #","bid":"#.utf8)
            JSONText.appendNumber(bid, to: &out)
        }
        if let ask {
            out.append(contentsOf: #","ask":"#.utf8)
            JSONText.appendNumber(ask, to: &out)
        }
        if let bidSize {
            out.append(contentsOf: #","bid_size":"#.utf8)
            JSONText.appendNumber(bidSize, to: &out)
        }
        if let askSize {
            out.append(contentsOf: #","ask_size":"#.utf8)
            JSONText.appendNumber(askSize, to: &out)
        }
        if let size {
            out.append(contentsOf: #","size":"#.utf8)
            JSONText.appendNumber(size, to: &out)
        }
        if let kind {
            out.append(contentsOf: #","type":""#.utf8)
            out.append(contentsOf: kind.rawValue.utf8)
            out.append(UInt8(ascii: "\""))
        }
        if let bar {
            out.append(contentsOf: #","open":"#.utf8)
            JSONText.appendNumber(bar.open, to: &out)
            out.append(contentsOf: #","high":"#.utf8)
            JSONText.appendNumber(bar.high, to: &out)
            out.append(contentsOf: #","low":"#.utf8)
            JSONText.appendNumber(bar.low, to: &out)
            out.append(contentsOf: #","volume":"#.utf8)
            JSONText.appendNumber(bar.volume, to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
        return out
    }
}

/// Why a line's prices do not go together (a bid above its ask, a size without its
/// price, no price where one is needed): a sentence saying what is allowed.
public struct QuoteProblem: Error, Equatable, Sendable {
    /// What was wrong and what is allowed.
    public var message: String
}

extension Tick {
    /// A line's price from its quote, checked: `bid` not above `ask`, a size only
    /// beside its price (`bid_size` with `bid`, `ask_size` with `ask`), and `price`
    /// given, except on a quote line (`"type": "quote"`) with both `bid` and `ask`,
    /// whose price is then their midpoint, exactly (as the desk's Alpaca feed gives
    /// it). Every reader of lines (replay files, `POST /admin/prices`) uses this rule.
    public static func price(
        given price: Decimal?, kind: TickKind, bid: Decimal?, ask: Decimal?, bidSize: Decimal?, askSize: Decimal?
    ) -> Result<Decimal, QuoteProblem> {
        let plain = ExactDecimal.plain
        if let bid, let ask, bid > ask {
            return .failure(
                QuoteProblem(
                    message: "bid \(plain(bid)) is above ask \(plain(ask)): a quote's bid must not be above its ask"))
        }
        if bidSize != nil && bid == nil {
            return .failure(QuoteProblem(message: "bid_size is given without bid: a size belongs beside its price"))
        }
        if askSize != nil && ask == nil {
            return .failure(QuoteProblem(message: "ask_size is given without ask: a size belongs beside its price"))
        }
        if let price { return .success(price) }
        guard kind == .quote, let bid, let ask else {
            return .failure(
                QuoteProblem(
                    message:
                        "missing \"price\" (a number such as 145.25); only a quote line (type quote) with both bid and ask may leave it out (its price is then the midpoint)"
                ))
        }
        return .success((bid + ask) / 2)
    }
}

/// One line of a strategy's stdin: a tick and its JSON line, encoded once by the
/// hub and shared by every subscriber, or a line about one of the strategy's own
/// orders (``OrderEventLine``), merged into its feed in order.
public struct FeedLine: Sendable {
    /// The tick; nil for a line about one of the strategy's orders.
    public let tick: Tick?
    /// What is written to a strategy's stdin, UTF-8 ending in `"\n"`: ``Tick/jsonLine``
    /// for a tick.
    public let bytes: [UInt8]

    /// Encodes `tick` once.
    public init(tick: Tick) {
        self.tick = tick
        bytes = tick.jsonLineBytes()
    }

    /// A line about one of a strategy's orders (``OrderEventLine``), as written.
    init(orderEvent bytes: [UInt8]) {
        tick = nil
        self.bytes = bytes
    }
}

/// Writing JSON values as bytes.
enum JSONText {
    /// Appends `value` as a JSON string literal, escaping quotes, backslashes and control characters.
    static func appendString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0x00..<0x20:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0x0F))
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `value` as a JSON number from its exact decimal text; `null` for NaN,
    /// which has no JSON number.
    static func appendNumber(_ value: Decimal, to out: inout [UInt8]) {
        if value.isNaN {
            out.append(contentsOf: "null".utf8)
        } else {
            ExactDecimal.appendPlain(value, to: &out)
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}

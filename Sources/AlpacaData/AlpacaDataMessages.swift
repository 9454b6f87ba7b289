import DeskCore
import DeskMarketData
import Foundation
import MessagePack

/// One element of a message from Alpaca's data stream, read.
public enum AlpacaDataMessage: Sendable, Equatable {
    /// `{"T":"success","msg":…}`: `connected` on connect, `authenticated` after auth.
    case success(String)
    /// `{"T":"error","code":…,"msg":…}`.
    case error(code: Int, message: String)
    /// `{"T":"subscription",…}`: the full current subscription.
    case subscription(trades: Set<String>, quotes: Set<String>)
    /// A trade, quote or bar, as the tick strategies see.
    case tick(Tick)
    /// A kind the desk does not use (statuses, LULDs, corrections…), by its `T`.
    case ignored(String)
    /// An element that is not what its `T` promises; `problem` says what is missing.
    case unreadable(problem: String)
}

/// Reading and writing the data stream's messages. Pure: values in, values out.
public enum AlpacaDataProtocol {
    /// The elements of one server message (an array of maps); a message that is not an array is one unreadable element.
    public static func read(_ message: MessagePackValue) -> [AlpacaDataMessage] {
        guard let elements = message.arrayValue else {
            return [.unreadable(problem: "a message that is not an array")]
        }
        return elements.map(readElement)
    }

    /// One element, by its `T`.
    public static func readElement(_ element: MessagePackValue) -> AlpacaDataMessage {
        guard let type = element["T"]?.stringValue else { return .unreadable(problem: "an element without T") }
        switch type {
        case "success":
            return .success(element["msg"]?.stringValue ?? "")
        case "error":
            return .error(
                code: element["code"]?.int64Value.map { Int($0) } ?? 0, message: element["msg"]?.stringValue ?? "")
        case "subscription":
            return .subscription(trades: symbols(element["trades"]), quotes: symbols(element["quotes"]))
        case "t": return trade(element)
        case "q": return quote(element)
        case "b", "u", "d": return bar(element)
        default: return .ignored(type)
        }
    }

    private static func symbols(_ value: MessagePackValue?) -> Set<String> {
        Set(value?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    private static func trade(_ element: MessagePackValue) -> AlpacaDataMessage {
        guard let symbol = element["S"]?.stringValue, let price = decimal(element["p"]), price > 0,
            let date = timestamp(element["t"])
        else { return .unreadable(problem: "a trade without S, a positive p or a timestamp t") }
        return .tick(Tick(symbol: symbol, price: price, at: date, size: decimal(element["s"]), kind: .trade))
    }

    /// A quote's price is the midpoint of bid and ask (exact); one side alone (the other 0) is taken as it is.
    /// Its sizes (`bs`, `as`, shares) go with the side that has a price.
    private static func quote(_ element: MessagePackValue) -> AlpacaDataMessage {
        guard let symbol = element["S"]?.stringValue, let date = timestamp(element["t"]) else {
            return .unreadable(problem: "a quote without S or a timestamp t")
        }
        let bid = decimal(element["bp"]).flatMap { $0 > 0 ? $0 : nil }
        let ask = decimal(element["ap"]).flatMap { $0 > 0 ? $0 : nil }
        let price: Decimal
        switch (bid, ask) {
        case (let bid?, let ask?): price = (bid + ask) / 2
        case (let one?, nil), (nil, let one?): price = one
        case (nil, nil): return .unreadable(problem: "a quote with neither a bid nor an ask price")
        }
        return .tick(
            Tick(
                symbol: symbol, price: price, at: date, bid: bid, ask: ask, kind: .quote,
                bidSize: bid == nil ? nil : decimal(element["bs"]), askSize: ask == nil ? nil : decimal(element["as"])))
    }

    private static func bar(_ element: MessagePackValue) -> AlpacaDataMessage {
        guard let symbol = element["S"]?.stringValue, let close = decimal(element["c"]), close > 0,
            let date = timestamp(element["t"])
        else { return .unreadable(problem: "a bar without S, a positive close c or a timestamp t") }
        return .tick(Tick(symbol: symbol, price: close, at: date, size: decimal(element["v"]), kind: .bar))
    }

    /// A number as an exact decimal: integers as they are, floats through their
    /// shortest round-trip text (145.72 stays 145.72, never 145.719999…).
    public static func decimal(_ value: MessagePackValue?) -> Decimal? {
        switch value {
        case .int(let whole)?: return Decimal(whole)
        case .uint(let whole)?: return Decimal(string: String(whole))
        case .double(let number)?: return decimal(number)
        case .float(let number)?: return decimal(Double("\(number)") ?? .nan)
        default: return nil
        }
    }

    /// `number` through its shortest round-trip text; nil for NaN and infinities.
    public static func decimal(_ number: Double) -> Decimal? {
        guard number.isFinite else { return nil }
        // "145.72", "1e-05", "1.5e+20": Decimal reads the exponent forms too.
        return Decimal(string: "\(number)", locale: Locale(identifier: "en_US_POSIX"))
    }

    private static func timestamp(_ value: MessagePackValue?) -> Date? {
        if case .timestamp(let timestamp)? = value { return timestamp.date }
        return nil
    }

    // MARK: Client messages

    /// `{"action":"auth","key":…,"secret":…}`. Holds the secret: send it, never log it.
    public static func authentication(keyID: String, secretKey: String) -> MessagePackValue {
        .map(["action": "auth", "key": .string(keyID), "secret": .string(secretKey)])
    }

    /// `{"action":"subscribe","trades":[…],"quotes":[…]}` (quotes only when asked for); symbols sorted.
    public static func subscribe(_ symbols: Set<String>, quotes: Bool) -> MessagePackValue {
        change("subscribe", symbols, quotes: quotes)
    }

    /// `{"action":"unsubscribe","trades":[…],"quotes":[…]}`.
    public static func unsubscribe(_ symbols: Set<String>, quotes: Bool) -> MessagePackValue {
        change("unsubscribe", symbols, quotes: quotes)
    }

    private static func change(_ action: String, _ symbols: Set<String>, quotes: Bool) -> MessagePackValue {
        let list = MessagePackValue.array(symbols.sorted().map { .string($0) })
        return quotes
            ? .map(["action": .string(action), "trades": list, "quotes": list])
            : .map(["action": .string(action), "trades": list])
    }
}

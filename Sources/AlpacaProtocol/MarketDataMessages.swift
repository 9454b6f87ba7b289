import DeskCore
import Foundation
import MessagePack

/// The messages of Alpaca's v2 stock data stream, as the server sends them: each
/// an array of maps whose first key is `T`. Control messages go alone in a
/// one-element array; data messages may share one.
public enum MarketDataMessage {
    /// `[{"T":"success","msg":"connected"}]`, sent as soon as a client connects.
    public static let connected: MessagePackValue = [.map(["T": "success", "msg": "connected"])]
    /// `[{"T":"success","msg":"authenticated"}]`.
    public static let authenticated: MessagePackValue = [.map(["T": "success", "msg": "authenticated"])]

    /// `[{"T":"error","code":402,"msg":"auth failed"}]` and the like.
    public static func error(_ code: MarketDataErrorCode) -> MessagePackValue {
        [.map(["T": "error", "code": .int(Int64(code.rawValue)), "msg": .string(code.message)])]
    }

    /// `[{"T":"subscription","trades":[…],"quotes":[…],"bars":[…],…}]`: the full
    /// current subscription, symbols sorted (corrections and cancel errors follow trades, as on Alpaca).
    public static func subscription(_ channels: StreamChannels) -> MessagePackValue {
        func list(_ symbols: Set<String>) -> MessagePackValue { .array(symbols.sorted().map { .string($0) }) }
        return [
            .map([
                "T": "subscription", "trades": list(channels.trades), "quotes": list(channels.quotes),
                "bars": list(channels.bars), "updatedBars": [], "dailyBars": [], "statuses": [], "lulds": [],
                "corrections": list(channels.trades), "cancelErrors": list(channels.trades),
            ])
        ]
    }

    /// A trade map: `T`, `S`, `i`, `x`, `p` (float 64), `s` (integer), `c`, `z`, `t` (timestamp).
    public static func trade(
        symbol: String, id: Int64, price: Decimal, size: Int64, at date: Date, exchange: String = "V"
    ) -> MessagePackValue {
        .map([
            "T": "t", "S": .string(symbol), "i": .int(id), "x": .string(exchange), "p": .double(wireNumber(price)),
            "s": .int(size), "c": ["@"], "z": "C", "t": .timestamp(MessagePackTimestamp(date)),
        ])
    }

    /// A quote map: `T`, `S`, `bx`, `bp`, `bs`, `ax`, `ap`, `as`, `c`, `z`, `t`.
    public static func quote(
        symbol: String, bid: Decimal, bidSize: Int64, ask: Decimal, askSize: Int64, at date: Date
    ) -> MessagePackValue {
        .map([
            "T": "q", "S": .string(symbol), "bx": "V", "bp": .double(wireNumber(bid)), "bs": .int(bidSize),
            "ax": "V", "ap": .double(wireNumber(ask)), "as": .int(askSize), "c": ["R"], "z": "C",
            "t": .timestamp(MessagePackTimestamp(date)),
        ])
    }

    /// A bar map: `T` (`b` minute, `u` updated, `d` daily), `S`, `o`, `h`, `l`, `c`, `v`, `t`, and
    /// `n` and `vw`, which alpaca-py requires (nil here: `null`).
    public static func bar(
        symbol: String, open: Decimal, high: Decimal, low: Decimal, close: Decimal, volume: Int64, at date: Date,
        tradeCount: Int64? = nil, vwap: Decimal? = nil
    ) -> MessagePackValue {
        .map([
            "T": "b", "S": .string(symbol), "o": .double(wireNumber(open)), "h": .double(wireNumber(high)),
            "l": .double(wireNumber(low)), "c": .double(wireNumber(close)), "v": .int(volume),
            "t": .timestamp(MessagePackTimestamp(date)), "n": tradeCount.map { .int($0) } ?? .null,
            "vw": vwap.map { .double(wireNumber($0)) } ?? .null,
        ])
    }

    /// A decimal as the float 64 Alpaca sends: parsed from its exact text, so the
    /// nearest double is chosen (and its shortest text gives the decimal back).
    public static func wireNumber(_ value: Decimal) -> Double {
        Double(ExactDecimal.plain(value)) ?? .nan
    }
}

/// Error codes of the data stream, with Alpaca's messages.
public enum MarketDataErrorCode: Int, Sendable, CaseIterable {
    /// 400 invalid syntax.
    case invalidSyntax = 400
    /// 401 not authenticated (subscribe before auth).
    case notAuthenticated = 401
    /// 402 auth failed.
    case authFailed = 402
    /// 403 already authenticated.
    case alreadyAuthenticated = 403
    /// 404 auth timeout.
    case authTimeout = 404
    /// 405 symbol limit exceeded.
    case symbolLimitExceeded = 405
    /// 406 connection limit exceeded.
    case connectionLimitExceeded = 406
    /// 407 slow client.
    case slowClient = 407
    /// 409 insufficient subscription.
    case insufficientSubscription = 409
    /// 500 internal error.
    case internalError = 500

    /// Alpaca's text for the code.
    public var message: String {
        switch self {
        case .invalidSyntax: "invalid syntax"
        case .notAuthenticated: "not authenticated"
        case .authFailed: "auth failed"
        case .alreadyAuthenticated: "already authenticated"
        case .authTimeout: "auth timeout"
        case .symbolLimitExceeded: "symbol limit exceeded"
        case .connectionLimitExceeded: "connection limit exceeded"
        case .slowClient: "slow client"
        case .insufficientSubscription: "insufficient subscription"
        case .internalError: "internal error"
        }
    }
}

/// What one client subscribed to, per channel; `*` means every symbol.
public struct StreamChannels: Sendable, Equatable {
    /// Symbols whose trades it gets.
    public var trades: Set<String> = []
    /// Symbols whose quotes it gets.
    public var quotes: Set<String> = []
    /// Symbols whose bars it asked for.
    public var bars: Set<String> = []

    /// Subscriptions as given.
    public init(trades: Set<String> = [], quotes: Set<String> = [], bars: Set<String> = []) {
        self.trades = trades
        self.quotes = quotes
        self.bars = bars
    }

    /// True when `symbols` (a channel's set) covers `symbol`.
    public static func covers(_ symbols: Set<String>, _ symbol: String) -> Bool {
        symbols.contains(symbol) || symbols.contains("*")
    }
}

/// One client's side of the conversation: the pure rules for answering `auth`,
/// `subscribe` and `unsubscribe` (the double does the I/O).
public struct MarketDataConversation: Sendable, Equatable {
    /// True once the client authenticated.
    public private(set) var authenticated = false
    /// What the client subscribed to.
    public private(set) var channels = StreamChannels()

    /// A client that just connected.
    public init() {}

    /// The answer to one client message. `accepts(key, secret)` says whether the
    /// keys are right; `symbolLimit` caps the symbols of one channel (IEX: 30).
    public mutating func reply(
        to request: MessagePackValue, symbolLimit: Int? = nil, accepts: (String, String) -> Bool
    ) -> MessagePackValue {
        guard let action = request["action"]?.stringValue else { return MarketDataMessage.error(.invalidSyntax) }
        switch action {
        case "auth":
            if authenticated { return MarketDataMessage.error(.alreadyAuthenticated) }
            guard let key = request["key"]?.stringValue, let secret = request["secret"]?.stringValue,
                accepts(key, secret)
            else { return MarketDataMessage.error(.authFailed) }
            authenticated = true
            return MarketDataMessage.authenticated
        case "subscribe", "unsubscribe":
            guard authenticated else { return MarketDataMessage.error(.notAuthenticated) }
            var changed = channels
            for (name, path) in Self.channelFields {
                guard let field = request[name] else { continue }
                guard let symbols = Self.symbols(field) else { return MarketDataMessage.error(.invalidSyntax) }
                if action == "subscribe" {
                    changed[keyPath: path].formUnion(symbols)
                } else {
                    changed[keyPath: path].subtract(symbols)
                }
            }
            if let symbolLimit,
                [changed.trades, changed.quotes, changed.bars].contains(where: { $0.count > symbolLimit })
            {
                return MarketDataMessage.error(.symbolLimitExceeded)
            }
            channels = changed
            return MarketDataMessage.subscription(channels)
        default:
            return MarketDataMessage.error(.invalidSyntax)
        }
    }

    /// The channels a subscribe message may name, and where each is kept.
    private static var channelFields: [(String, WritableKeyPath<StreamChannels, Set<String>>)] {
        [("trades", \.trades), ("quotes", \.quotes), ("bars", \.bars)]
    }

    /// The strings of an array of strings; nil for anything else.
    private static func symbols(_ value: MessagePackValue) -> [String]? {
        guard let elements = value.arrayValue else { return nil }
        let symbols = elements.compactMap(\.stringValue)
        return symbols.count == elements.count ? symbols : nil
    }
}

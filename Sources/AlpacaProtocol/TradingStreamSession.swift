import MessagePack

/// The server's side of Alpaca's `trade_updates` stream (shared/ALPACA.md §7),
/// as a pure state machine: each client message returns what to do. No welcome;
/// `authenticate` (keys, or an OAuth token) is answered by exactly one
/// `authorization` once the keys were checked; `listen` by `listening`; a listen
/// before authentication by `authorization` `unauthorized`.
public struct TradingStreamSession: Sendable, Equatable {
    /// What the I/O loop does next.
    public enum Action: Sendable, Equatable {
        /// Send this message.
        case send(MessagePackValue)
        /// Check an Alpaca key pair, then call `checked(_:)`.
        case checkKeys(keyId: String, secret: String)
        /// Check an OAuth token (the desk's token), then call `checked(_:)`.
        case checkToken(String)
        /// Start (true) or stop (false) sending the member's order events.
        case listen(Bool)
    }

    /// The stream the desk serves.
    public static let tradeUpdates = "trade_updates"

    public private(set) var isAuthenticated = false
    public private(set) var isListening = false

    public init() {}

    /// The answer to one client message (nil: it did not decode).
    public mutating func received(_ message: MessagePackValue?) -> [Action] {
        guard let message, let action = message["action"]?.stringValue else {
            return [
                .send(Self.error("invalid message: send {\"action\":\"authenticate\",…} or {\"action\":\"listen\",…}"))
            ]
        }
        let data = message["data"]
        switch action {
        case "authenticate", "auth":
            if let token = data?["oauth_token"]?.stringValue {
                return [.checkToken(token)]
            }
            guard let keyId = data?["key_id"]?.stringValue ?? message["key"]?.stringValue,
                let secret = data?["secret_key"]?.stringValue ?? message["secret"]?.stringValue
            else {
                isAuthenticated = false
                return [.send(Self.authorization(authorized: false, action: "authenticate"))]
            }
            return [.checkKeys(keyId: keyId, secret: secret)]
        case "listen":
            guard isAuthenticated else { return [.send(Self.authorization(authorized: false, action: "listen"))] }
            guard let streams = data?["streams"]?.arrayValue else {
                return [.send(Self.error("listen needs data.streams, e.g. [\"trade_updates\"]"))]
            }
            let wanted = streams.contains { $0.stringValue == Self.tradeUpdates }
            isListening = wanted
            return [.listen(wanted), .send(Self.listening(wanted ? [Self.tradeUpdates] : []))]
        default:
            return [.send(Self.error("unknown action \"\(action)\": use authenticate or listen"))]
        }
    }

    /// The keys (or token) checked: `authorized` or not.
    public mutating func checked(_ authorized: Bool) -> [Action] {
        let wasListening = isListening
        isAuthenticated = authorized
        if !authorized { isListening = false }
        var actions: [Action] = [.send(Self.authorization(authorized: authorized, action: "authenticate"))]
        if wasListening && !authorized { actions.insert(.listen(false), at: 0) }
        return actions
    }

    /// `{"stream":"authorization","data":{"status":"authorized"|"unauthorized","action":…}}`.
    public static func authorization(authorized: Bool, action: String) -> MessagePackValue {
        .map([
            "stream": "authorization",
            "data": .map(["status": .string(authorized ? "authorized" : "unauthorized"), "action": .string(action)]),
        ])
    }

    /// `{"stream":"listening","data":{"streams":[…]}}`.
    public static func listening(_ streams: [String]) -> MessagePackValue {
        .map(["stream": "listening", "data": .map(["streams": .array(streams.map { .string($0) })])])
    }

    /// `{"stream":"error","data":{"error_message":…}}` (alpaca-py ignores streams it does not know).
    public static func error(_ message: String) -> MessagePackValue {
        .map(["stream": "error", "data": .map(["error_message": .string(message)])])
    }
}

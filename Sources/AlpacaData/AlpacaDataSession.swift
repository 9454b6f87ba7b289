import DeskMarketData
import MessagePack

/// Why the data stream stopped for good: Alpaca refused the keys or the plan.
public struct AlpacaDataRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// Alpaca's error code (402 auth failed, 409 insufficient subscription, …).
    public var code: Int
    /// Alpaca's message.
    public var message: String

    /// A refusal with Alpaca's code and message.
    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    /// Error codes after which reconnecting cannot help: the keys, the plan or the feed are wrong.
    public static let permanentCodes: Set<Int> = [402, 408, 409, 410, 411]

    /// What was refused and which variables to check; never the keys.
    public var description: String {
        switch code {
        case 402:
            "Alpaca market data refused the desk's keys (\(code) \(message)): check APCA_API_KEY_ID and APCA_API_SECRET_KEY"
        case 409, 410, 411:
            "Alpaca market data refused the subscription (\(code) \(message)): the account's data plan does not cover this feed; check APCA_DATA_FEED (iex or sip)"
        default:
            "Alpaca market data refused the connection (\(code) \(message))"
        }
    }
}

/// One connection to Alpaca's data stream as a state machine: what it receives
/// (server messages, new demand) turns into actions (messages to send, ticks to
/// emit, reasons to stop). No I/O; ``AlpacaDataSource`` performs the actions.
///
/// The flow: wait for `connected`, send `auth`, wait for `authenticated`, subscribe
/// to the target symbols, then follow the target with delta subscribe/unsubscribe
/// messages. `requested` is what the session asked for so far (the server applies
/// requests in order, so deltas are computed against it, not against the last ack).
public struct AlpacaDataSession: Sendable, CustomStringConvertible {
    /// Where the connection is in the handshake.
    public enum Phase: Sendable, Equatable {
        case awaitingWelcome
        case authenticating
        case streaming
    }

    /// What the caller does next. Its description hides the keys of an `auth` message.
    public enum Action: Sendable, Equatable, CustomStringConvertible {
        /// Send this message (MessagePack, binary frame).
        case send(MessagePackValue)
        /// Hand this tick to the feed.
        case emit(Tick)
        /// Authenticated: the connection is up (resets the reconnect backoff).
        case authenticated
        /// The server acknowledged this subscription (for the log).
        case subscribed(trades: Set<String>, quotes: Set<String>)
        /// Something to note in the log; the session goes on.
        case warn(String)
        /// Close this connection and connect again later.
        case reconnect(String)
        /// Stop for good: reconnecting cannot help.
        case stop(AlpacaDataRefusal)

        /// The action, with an `auth` message's keys hidden.
        public var description: String {
            switch self {
            case .send(let message) where message["action"] == "auth": "send(auth, keys hidden)"
            case .send(let message): "send(\(message))"
            case .emit(let tick): "emit(\(tick.symbol) \(tick.price))"
            case .authenticated: "authenticated"
            case .subscribed(let trades, let quotes):
                "subscribed(trades: \(trades.sorted()), quotes: \(quotes.sorted()))"
            case .warn(let text): "warn(\(text))"
            case .reconnect(let reason): "reconnect(\(reason))"
            case .stop(let refusal): "stop(\(refusal))"
            }
        }
    }

    /// Where the handshake is.
    public private(set) var phase = Phase.awaitingWelcome
    /// The symbols the desk wants now.
    public private(set) var target: Set<String>
    /// What the session asked Alpaca for so far.
    public private(set) var requested: Set<String> = []
    /// What Alpaca last acknowledged.
    public private(set) var acknowledged: Set<String> = []
    private let keyID: String
    private let secretKey: String
    private let quotes: Bool

    /// A session that will subscribe to `target` (trades, and quotes when `quotes`).
    public init(keyID: String, secretKey: String, target: Set<String>, quotes: Bool) {
        self.keyID = keyID
        self.secretKey = secretKey
        self.target = target
        self.quotes = quotes
    }

    /// The phase and the symbols; never the keys.
    public var description: String {
        "AlpacaDataSession(\(phase), target \(target.sorted()), requested \(requested.sorted()))"
    }

    /// The actions for one server message.
    public mutating func receive(_ message: MessagePackValue) -> [Action] {
        AlpacaDataProtocol.read(message).flatMap { receive($0) }
    }

    /// The actions for one element of a server message.
    public mutating func receive(_ message: AlpacaDataMessage) -> [Action] {
        switch message {
        case .success("connected") where phase == .awaitingWelcome:
            phase = .authenticating
            return [.send(AlpacaDataProtocol.authentication(keyID: keyID, secretKey: secretKey))]
        case .success("authenticated") where phase == .authenticating:
            phase = .streaming
            return [.authenticated] + follow(target)
        case .success(let text):
            return [.warn("unexpected success message \"\(text)\" while \(phase)")]
        case .error(let code, let text):
            return error(code: code, message: text)
        case .subscription(let trades, let quotes):
            acknowledged = trades
            return [.subscribed(trades: trades, quotes: quotes)]
        case .tick(let tick):
            return [.emit(tick)]
        case .ignored:
            return []
        case .unreadable(let problem):
            return [.warn("skipped \(problem)")]
        }
    }

    /// The actions for a new target: the deltas once streaming, nothing before.
    public mutating func want(_ symbols: Set<String>) -> [Action] {
        target = symbols
        return phase == .streaming ? follow(symbols) : []
    }

    private mutating func follow(_ symbols: Set<String>) -> [Action] {
        let added = symbols.subtracting(requested)
        let removed = requested.subtracting(symbols)
        requested = symbols
        var actions: [Action] = []
        if !removed.isEmpty { actions.append(.send(AlpacaDataProtocol.unsubscribe(removed, quotes: quotes))) }
        if !added.isEmpty { actions.append(.send(AlpacaDataProtocol.subscribe(added, quotes: quotes))) }
        return actions
    }

    private mutating func error(code: Int, message: String) -> [Action] {
        if AlpacaDataRefusal.permanentCodes.contains(code) {
            return [.stop(AlpacaDataRefusal(code: code, message: message))]
        }
        switch code {
        case 405:
            // Alpaca applied none of the refused request: go on from what it acknowledged.
            requested = acknowledged
            return [
                .warn(
                    "Alpaca refused the subscription (405 \(message)): the plan allows fewer symbols than the \(target.count) wanted; streaming \(acknowledged.count)"
                )
            ]
        case 404, 406, 407, 500:
            return [.reconnect("Alpaca closed the session (\(code) \(message))")]
        default:
            return [.warn("Alpaca reported error \(code) \(message)")]
        }
    }
}

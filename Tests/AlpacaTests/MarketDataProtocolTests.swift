import AlpacaBroker
import AlpacaData
import AlpacaDouble
import AlpacaProtocol
import DeskMarketData
import Foundation
import MessagePack
import Testing

/// An exact decimal from text (tests only).
func dec(_ text: String) -> Decimal { Decimal(string: text)! }

private let moment = MessagePackTimestamp(seconds: 1_700_000_000, nanoseconds: 123_456_000)

@Suite("Alpaca market data: messages and session rules")
struct MarketDataProtocolTests {
    @Test(
        "server elements read into ticks with exact prices, or say what they are",
        arguments: [
            (
                MessagePackValue.map([
                    "T": "t", "S": "AAPL", "i": 7, "x": "V", "p": 145.72, "s": 100, "c": ["@"], "z": "C",
                    "t": .timestamp(moment),
                ]),
                AlpacaDataMessage.tick(
                    Tick(symbol: "AAPL", price: dec("145.72"), at: moment.date, size: 100, kind: .trade))
            ),
            (
                .map(["T": "t", "S": "X", "p": .double(0.1 + 0.2), "s": 1, "t": .timestamp(moment)]),
                .tick(Tick(symbol: "X", price: dec("0.30000000000000004"), at: moment.date, size: 1, kind: .trade))
            ),
            (
                .map([
                    "T": "q", "S": "MSFT", "bx": "V", "bp": 420.09, "bs": 1, "ax": "V", "ap": 420.12, "as": 3,
                    "t": .timestamp(moment),
                ]),
                .tick(
                    Tick(
                        symbol: "MSFT", price: dec("420.105"), at: moment.date, bid: dec("420.09"),
                        ask: dec("420.12"), kind: .quote, bidSize: 1, askSize: 3))
            ),
            (
                .map(["T": "q", "S": "MSFT", "bp": 0.0, "bs": 0, "ap": 420.12, "as": 2, "t": .timestamp(moment)]),
                .tick(
                    Tick(
                        symbol: "MSFT", price: dec("420.12"), at: moment.date, ask: dec("420.12"), kind: .quote,
                        askSize: 2))
            ),
            (
                .map([
                    "T": "b", "S": "SPY", "o": 1.5, "h": 2, "l": 1, "c": 1.75, "v": 900, "t": .timestamp(moment),
                    "n": 4, "vw": 1.6,
                ]),
                .tick(Tick(symbol: "SPY", price: dec("1.75"), at: moment.date, size: 900, kind: .bar))
            ),
            (.map(["T": "success", "msg": "connected"]), .success("connected")),
            (.map(["T": "error", "code": 402, "msg": "auth failed"]), .error(code: 402, message: "auth failed")),
            (
                .map(["T": "subscription", "trades": ["AAPL"], "quotes": ["AAPL", "MSFT"], "bars": []]),
                .subscription(trades: ["AAPL"], quotes: ["AAPL", "MSFT"])
            ),
            (.map(["T": "s", "S": "AAPL"]), .ignored("s")),
            (.map(["S": "AAPL"]), .unreadable(problem: "an element without T")),
            (
                .map(["T": "t", "S": "AAPL", "p": 1.0, "t": "2024-01-02T03:04:05Z"]),
                .unreadable(problem: "a trade without S, a positive p or a timestamp t")
            ),
            (
                .map(["T": "t", "S": "AAPL", "p": -1.0, "t": .timestamp(moment)]),
                .unreadable(problem: "a trade without S, a positive p or a timestamp t")
            ),
            (
                .map(["T": "q", "S": "AAPL", "bp": 0.0, "ap": 0.0, "t": .timestamp(moment)]),
                .unreadable(problem: "a quote with neither a bid nor an ask price")
            ),
        ])
    func readsElements(element: MessagePackValue, expected: AlpacaDataMessage) {
        #expect(AlpacaDataProtocol.readElement(element) == expected)
    }

    @Test(
        "floats become decimals through their shortest text, never accumulating float error",
        arguments: [
            (145.72, "145.72"), (190.0, "190"), (0.0001, "0.0001"), (0.00001, "0.00001"),
            (1e20, "100000000000000000000"),
            (123_456.789, "123456.789"), (0.30000000000000004, "0.30000000000000004"),
        ])
    func shortestText(number: Double, text: String) {
        #expect(AlpacaDataProtocol.decimal(number) == dec(text))
    }

    @Test("NaN and infinities are not prices; integers and float 32 read exactly")
    func otherNumbers() {
        #expect(AlpacaDataProtocol.decimal(Double.nan) == nil)
        #expect(AlpacaDataProtocol.decimal(-Double.infinity) == nil)
        #expect(AlpacaDataProtocol.decimal(MessagePackValue.int(42)) == 42)
        #expect(AlpacaDataProtocol.decimal(MessagePackValue.float(0.1)) == dec("0.1"))
        #expect(AlpacaDataProtocol.decimal(MessagePackValue.string("1")) == nil)
    }

    @Test("client messages: auth carries the keys, changes name trades and quotes, symbols sorted, action first")
    func clientMessages() {
        #expect(
            AlpacaDataProtocol.authentication(keyID: "K", secretKey: "S").encoded()
                == MessagePackValue.map(["action": "auth", "key": "K", "secret": "S"]).encoded())
        #expect(
            AlpacaDataProtocol.subscribe(["MSFT", "AAPL"], quotes: true)
                == .map(["action": "subscribe", "trades": ["AAPL", "MSFT"], "quotes": ["AAPL", "MSFT"]]))
        #expect(
            AlpacaDataProtocol.unsubscribe(["AAPL"], quotes: false)
                == .map(["action": "unsubscribe", "trades": ["AAPL"]]))
    }

    /// One step of a session: what arrives, and the actions expected.
    enum Step: Sendable {
        case receive(MessagePackValue, [AlpacaDataSession.Action])
        case want(Set<String>, [AlpacaDataSession.Action])
    }

    static let connected: MessagePackValue = [.map(["T": "success", "msg": "connected"])]
    static let authenticated: MessagePackValue = [.map(["T": "success", "msg": "authenticated"])]
    static let auth = AlpacaDataSession.Action.send(AlpacaDataProtocol.authentication(keyID: "K", secretKey: "S"))
    static func subscribe(_ symbols: Set<String>) -> AlpacaDataSession.Action {
        .send(AlpacaDataProtocol.subscribe(symbols, quotes: true))
    }
    static func unsubscribe(_ symbols: Set<String>) -> AlpacaDataSession.Action {
        .send(AlpacaDataProtocol.unsubscribe(symbols, quotes: true))
    }
    static func error(_ code: Int, _ message: String) -> MessagePackValue {
        [.map(["T": "error", "code": .int(Int64(code)), "msg": .string(message)])]
    }
    static let trade: MessagePackValue = [
        .map(["T": "t", "S": "AAPL", "p": 1.5, "s": 2, "t": .timestamp(moment)]),
        .map(["T": "t", "S": "AAPL", "p": 1.25, "s": 3, "t": .timestamp(moment)]),
    ]

    @Test(
        "a session authenticates, subscribes to its target and follows it with deltas",
        arguments: [
            (
                "handshake, then deltas computed against what was requested",
                [
                    Step.want(["MSFT"], []),
                    .receive(connected, [auth]),
                    .want(["MSFT", "AAPL"], []),
                    .receive(authenticated, [.authenticated, subscribe(["AAPL", "MSFT"])]),
                    .want(["AAPL", "GOOG"], [unsubscribe(["MSFT"]), subscribe(["GOOG"])]),
                    .want(["AAPL", "GOOG"], []),
                    .want([], [unsubscribe(["AAPL", "GOOG"])]),
                ]
            ),
            (
                "an empty target subscribes to nothing until something is wanted",
                [
                    .receive(connected, [auth]),
                    .receive(authenticated, [.authenticated]),
                    .want(["AAPL"], [subscribe(["AAPL"])]),
                ]
            ),
            (
                "acks are reported, data becomes ticks, one message may carry several",
                [
                    .receive(connected, [auth]),
                    .receive(
                        [.map(["T": "subscription", "trades": ["AAPL"], "quotes": ["AAPL"]])],
                        [.subscribed(trades: ["AAPL"], quotes: ["AAPL"])]),
                    .receive(
                        trade,
                        [
                            .emit(Tick(symbol: "AAPL", price: dec("1.5"), at: moment.date, size: 2, kind: .trade)),
                            .emit(Tick(symbol: "AAPL", price: dec("1.25"), at: moment.date, size: 3, kind: .trade)),
                        ]),
                ]
            ),
            (
                "refused keys stop for good",
                [
                    .receive(connected, [auth]),
                    .receive(error(402, "auth failed"), [.stop(AlpacaDataRefusal(code: 402, message: "auth failed"))]),
                ]
            ),
            (
                "a connection limit or an auth timeout means: connect again later",
                [
                    .receive(
                        error(406, "connection limit exceeded"),
                        [
                            .reconnect("Alpaca closed the session (406 connection limit exceeded)")
                        ]),
                    .receive(error(404, "auth timeout"), [.reconnect("Alpaca closed the session (404 auth timeout)")]),
                ]
            ),
            (
                "a refused symbol count goes on from what was acknowledged",
                [
                    .want(["A"], []),
                    .receive(connected, [auth]),
                    .receive(authenticated, [.authenticated, subscribe(["A"])]),
                    .receive(
                        [.map(["T": "subscription", "trades": ["A"], "quotes": ["A"]])],
                        [.subscribed(trades: ["A"], quotes: ["A"])]),
                    .want(["A", "B", "C"], [subscribe(["B", "C"])]),
                    .receive(
                        error(405, "symbol limit exceeded"),
                        [
                            .warn(
                                "Alpaca refused the subscription (405 symbol limit exceeded): the plan allows fewer symbols than the 3 wanted; streaming 1"
                            )
                        ]),
                    .want(["A", "B"], [subscribe(["B"])]),
                ]
            ),
            (
                "out-of-order success messages and unreadable elements are warnings",
                [
                    .receive(
                        authenticated, [.warn("unexpected success message \"authenticated\" while awaitingWelcome")]),
                    .receive([.map(["S": "AAPL"])], [.warn("skipped an element without T")]),
                    .receive(.map(["T": "t"]), [.warn("skipped a message that is not an array")]),
                ]
            ),
        ] as [(String, [Step])])
    func sessionRules(_ name: String, steps: [Step]) {
        var session = AlpacaDataSession(keyID: "K", secretKey: "S", target: [], quotes: true)
        for (index, step) in steps.enumerated() {
            switch step {
            case .receive(let message, let expected):
                #expect(session.receive(message) == expected, "\(name), step \(index)")
            case .want(let symbols, let expected):
                #expect(session.want(symbols) == expected, "\(name), step \(index)")
            }
        }
    }

    @Test("a session and its actions never show the keys when described")
    func descriptionsHideKeys() {
        var session = AlpacaDataSession(keyID: "PKVISIBLE", secretKey: "hidden-secret", target: ["AAPL"], quotes: true)
        let actions = session.receive(Self.connected)
        #expect(actions == [.send(AlpacaDataProtocol.authentication(keyID: "PKVISIBLE", secretKey: "hidden-secret"))])
        for text in ["\(session)", "\(actions)", String(reflecting: actions[0])] {
            #expect(!text.contains("hidden-secret") && !text.contains("PKVISIBLE"), "\(text)")
        }
    }

    @Test("a refusal tells which variables to check and never contains the keys")
    func refusalText() {
        let keys = AlpacaDataRefusal(code: 402, message: "auth failed").description
        #expect(keys.contains("APCA_API_KEY_ID") && keys.contains("APCA_API_SECRET_KEY") && keys.contains("402"))
        #expect(
            AlpacaDataRefusal(code: 409, message: "insufficient subscription").description.contains("APCA_DATA_FEED"))
    }
}

@Suite("Alpaca double: the data stream's server rules")
struct MarketDataConversationTests {
    static func ack(trades: [MessagePackValue], quotes: [MessagePackValue] = [], bars: [MessagePackValue] = [])
        -> MessagePackValue
    {
        [
            .map([
                "T": "subscription", "trades": .array(trades), "quotes": .array(quotes), "bars": .array(bars),
                "updatedBars": [], "dailyBars": [], "statuses": [], "lulds": [], "corrections": .array(trades),
                "cancelErrors": .array(trades),
            ])
        ]
    }

    static let auth: MessagePackValue = .map(["action": "auth", "key": "K", "secret": "S"])

    @Test(
        "auth, subscribe and unsubscribe are answered as Alpaca answers them",
        arguments: [
            (
                "subscribe before auth", [MessagePackValue.map(["action": "subscribe", "trades": ["AAPL"]])],
                MarketDataMessage.error(.notAuthenticated)
            ),
            (
                "wrong secret", [.map(["action": "auth", "key": "K", "secret": "x"])],
                MarketDataMessage.error(.authFailed)
            ),
            ("auth without keys", [.map(["action": "auth"])], MarketDataMessage.error(.authFailed)),
            ("auth", [auth], MarketDataMessage.authenticated),
            ("auth twice", [auth, auth], MarketDataMessage.error(.alreadyAuthenticated)),
            (
                "a delta adds to the set and the ack carries the whole set, sorted",
                [
                    auth, .map(["action": "subscribe", "trades": ["MSFT"], "quotes": ["MSFT"]]),
                    .map(["action": "subscribe", "trades": ["AAPL"], "bars": ["*"]]),
                ],
                ack(trades: ["AAPL", "MSFT"], quotes: ["MSFT"], bars: ["*"])
            ),
            (
                "unsubscribe removes only what it names",
                [
                    auth, .map(["action": "subscribe", "trades": ["AAPL", "MSFT"], "quotes": ["AAPL"]]),
                    .map(["action": "unsubscribe", "trades": ["MSFT"]]),
                ],
                ack(trades: ["AAPL"], quotes: ["AAPL"])
            ),
            ("no action", [.map(["trades": ["AAPL"]])], MarketDataMessage.error(.invalidSyntax)),
            ("unknown action", [auth, .map(["action": "listen"])], MarketDataMessage.error(.invalidSyntax)),
            (
                "symbols that are not strings", [auth, .map(["action": "subscribe", "trades": [1]])],
                MarketDataMessage.error(.invalidSyntax)
            ),
        ] as [(String, [MessagePackValue], MessagePackValue)])
    func replies(_ name: String, requests: [MessagePackValue], lastReply: MessagePackValue) {
        var conversation = MarketDataConversation()
        var reply = MessagePackValue.null
        for request in requests {
            reply = conversation.reply(to: request) { $0 == "K" && $1 == "S" }
        }
        #expect(reply == lastReply, "\(name)")
    }

    @Test("a subscription over the symbol limit is refused whole")
    func symbolLimit() {
        var conversation = MarketDataConversation()
        _ = conversation.reply(to: Self.auth) { _, _ in true }
        let within = conversation.reply(
            to: .map(["action": "subscribe", "trades": ["A", "B"]]), symbolLimit: 2
        ) { _, _ in true }
        #expect(within == Self.ack(trades: ["A", "B"]))
        let over = conversation.reply(to: .map(["action": "subscribe", "trades": ["C"]]), symbolLimit: 2) { _, _ in
            true
        }
        #expect(over == MarketDataMessage.error(.symbolLimitExceeded))
        #expect(conversation.channels.trades == ["A", "B"])
    }

    @Test("every message is an array of maps whose first key is T")
    func shapes() {
        let messages = [
            MarketDataMessage.connected, MarketDataMessage.authenticated, MarketDataMessage.error(.authFailed),
            MarketDataMessage.subscription(StreamChannels(trades: ["A"])),
            [
                MarketDataMessage.trade(symbol: "A", id: 1, price: dec("1.5"), size: 1, at: Date()),
                MarketDataMessage.quote(symbol: "A", bid: dec("1"), bidSize: 1, ask: dec("2"), askSize: 1, at: Date()),
            ],
        ]
        for message in messages {
            let maps = message.arrayValue ?? []
            #expect(!maps.isEmpty)
            for map in maps { #expect(map.mapEntries?.first?.key == "T") }
        }
    }

    @Test("JSON clients get the same arrays of maps, in order, with RFC 3339 nanosecond timestamps")
    func json() {
        let trade = MarketDataMessage.trade(
            symbol: "AAPL", id: 9, price: dec("145.72"), size: 100,
            at: Date(timeIntervalSince1970: 1_700_000_000.25))
        #expect(
            MarketDataJSON.text([trade])
                == #"[{"T":"t","S":"AAPL","i":9,"x":"V","p":145.72,"s":100,"c":["@"],"z":"C","t":"2023-11-14T22:13:20.250000000Z"}]"#
        )
        #expect(
            MarketDataJSON.rfc3339(MessagePackTimestamp(seconds: -1, nanoseconds: 5))
                == "1969-12-31T23:59:59.000000005Z")
        #expect(MarketDataJSON.value(fromJSON: Array(#"{"action":"auth","key":"K","n":2}"#.utf8))?["n"] == 2)
        #expect(MarketDataJSON.value(fromJSON: Array("not json".utf8)) == nil)
    }

    @Test("decimals go out as the nearest float 64, whose shortest text is the decimal again")
    func wireNumbers() {
        for text in ["145.72", "0.0001", "190", "420.105", "99999.99"] {
            let number = MarketDataMessage.wireNumber(dec(text))
            #expect(AlpacaDataProtocol.decimal(number) == dec(text))
        }
    }
}

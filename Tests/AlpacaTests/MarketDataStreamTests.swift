import AlpacaBroker
import AlpacaData
import AlpacaDouble
import AlpacaProtocol
import DeskMarketData
import DeskTestSupport
import Foundation
import HummingbirdWSClient
import Logging
import MessagePack
import NIOCore
import NIOWebSocket
import Synchronization
import Testing

/// Serves the market data double on a free loopback port while `body` runs; the
/// settings point the data stream at it (feed `iex`) with the keys it accepts.
@discardableResult
func withMarketDataDouble<T: Sendable>(
    _ double: MarketDataDouble = MarketDataDouble(),
    _ body: @Sendable (MarketDataDouble, AlpacaSettings) async throws -> T
) async throws -> T {
    let port = PortSignal()
    let server = AlpacaDouble.application(port: 0, logger: testLogger(), register: double.addRoutes) {
        await port.set($0)
    }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.runService(gracefulShutdownSignals: []) }
        group.addTask { await double.run() }
        defer { group.cancelAll() }
        let keys = double.configuration
        let settings = AlpacaSettings(
            keyID: keys.keyID, secretKey: keys.secretKey, dataStreamURL: "ws://127.0.0.1:\(await port.value())/v2",
            dataFeed: "iex")
        return try await body(double, settings)
    }
}

/// Ticks seen by a hub observer, from any task.
final class TickLog: Sendable {
    private let ticks = Mutex<[Tick]>([])
    func append(_ tick: Tick) { ticks.withLock { $0.append(tick) } }
    var all: [Tick] { ticks.withLock { $0 } }
    func symbols() -> [String] { all.map(\.symbol) }
}

/// Runs a feed hub whose source is an `AlpacaDataSource` for `settings`, logging
/// every tick it publishes, while `body` runs; returns what `body` returns.
func withAlpacaFeed<T: Sendable>(
    _ settings: AlpacaSettings, defaultSymbols: Set<String> = [],
    _ body: @Sendable (FeedHub, TickLog) async throws -> T
) async throws -> T {
    let source = AlpacaDataSource(
        settings: settings,
        options: .init(defaultSymbols: defaultSymbols, initialBackoff: .milliseconds(50)),
        logger: testLogger())
    let hub = FeedHub(source: source, logger: testLogger())
    let log = TickLog()
    hub.observe { log.append($0) }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await hub.run() }
        defer { group.cancelAll() }
        return try await body(hub, log)
    }
}

/// The one connection's trade subscriptions, or nil unless exactly one connection is open.
func subscribedTrades(_ double: MarketDataDouble) -> [String]? {
    let connections = double.connections
    return connections.count == 1 && connections[0].authenticated ? connections[0].trades : nil
}

@Suite("Alpaca market data over loopback: the double and the source", .timeLimit(.minutes(2)))
struct MarketDataStreamTests {
    static func bytes(_ message: WebSocketMessage?) -> [UInt8]? {
        guard case .binary(let buffer)? = message else { return nil }
        return Array(buffer.readableBytesView)
    }

    /// Sends `value` as msgpack the way alpaca-py does: a binary frame without FIN,
    /// then the rest (here: its second half) in a final continuation frame.
    static func sendFragmented(_ value: MessagePackValue, _ outbound: WebSocketOutboundWriter) async throws {
        let encoded = value.encoded()
        let half = encoded.count / 2
        try await outbound.write(
            .custom(WebSocketFrame(fin: false, opcode: .binary, data: ByteBuffer(bytes: encoded[..<half]))))
        try await outbound.write(
            .custom(WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(bytes: encoded[half...]))))
    }

    @Test(
        "a MessagePack client gets binary frames: welcome, auth and fragmented subscribe acks, trades with timestamp t")
    func wireFormat() async throws {
        try await withMarketDataDouble { double, settings in
            let published = Date(timeIntervalSince1970: 1_700_000_000.5)
            let received = Mutex<[MessagePackValue]>([])
            try await WebSocketClient.connect(
                url: "\(settings.dataStreamURL)/iex",
                configuration: .init(additionalHeaders: [.contentType: "application/msgpack"]), logger: testLogger()
            ) { inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                func next() async throws -> MessagePackValue? {
                    guard let bytes = Self.bytes(try await messages.next()) else { return nil }
                    let value = try MessagePackValue.decode(bytes)
                    received.withLock { $0.append(value) }
                    return value
                }
                #expect(try await next() == MarketDataMessage.connected)
                try await Self.sendFragmented(
                    .map(["action": "auth", "key": "PKTESTDOUBLE", "secret": "double-secret"]), outbound)
                #expect(try await next() == MarketDataMessage.authenticated)
                try await Self.sendFragmented(
                    .map(["trades": ["AAPL"], "quotes": ["MSFT"], "bars": ["*"], "action": "subscribe"]), outbound)
                #expect(
                    try await next()
                        == MarketDataMessage.subscription(
                            StreamChannels(trades: ["AAPL"], quotes: ["MSFT"], bars: ["*"])))
                #expect(
                    double.publishTrade(symbol: "AAPL", price: Decimal(string: "145.72")!, size: 7, at: published) == 1)
                let trade = try await next()?.arrayValue?.first
                #expect(trade?.mapEntries?.first?.key == "T")
                #expect(trade?["T"] == "t")
                #expect(trade?["p"] == .double(145.72))
                #expect(trade?["s"] == 7)
                #expect(
                    trade?["t"] == .timestamp(MessagePackTimestamp(seconds: 1_700_000_000, nanoseconds: 500_000_000)))
                try await outbound.write(.binary(ByteBuffer(bytes: [0xc1])))
                #expect(try await next() == MarketDataMessage.error(.invalidSyntax))
                try await outbound.close(.normalClosure, reason: nil)
            }
            #expect(received.withLock { $0.count } == 5)
        }
    }

    @Test("a client without the MessagePack header gets JSON text with RFC 3339 timestamps")
    func jsonClient() async throws {
        try await withMarketDataDouble { double, settings in
            try await WebSocketClient.connect(url: "\(settings.dataStreamURL)/sip", logger: testLogger()) {
                inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                #expect(try await messages.next() == .text(#"[{"T":"success","msg":"connected"}]"#))
                try await outbound.write(.text(#"{"action":"auth","key":"PKTESTDOUBLE","secret":"wrong"}"#))
                #expect(try await messages.next() == .text(#"[{"T":"error","code":402,"msg":"auth failed"}]"#))
                try await outbound.write(.text(#"{"action":"auth","key":"PKTESTDOUBLE","secret":"double-secret"}"#))
                #expect(try await messages.next() == .text(#"[{"T":"success","msg":"authenticated"}]"#))
                try await outbound.write(.text(#"{"action":"subscribe","quotes":["AAPL"]}"#))
                _ = try await messages.next()
                #expect(double.connections.map(\.codec) == ["json"])
                double.publishQuote(
                    symbol: "AAPL", bid: 1, ask: 2, at: Date(timeIntervalSince1970: 1_700_000_000))
                guard case .text(let quote)? = try await messages.next() else {
                    Issue.record("expected a text frame")
                    return
                }
                #expect(quote.hasPrefix(#"[{"T":"q","S":"AAPL","bx":"V","bp":1.0,"bs":1,"ax":"V","ap":2.0"#))
                #expect(quote.hasSuffix(#""t":"2023-11-14T22:13:20.000000000Z"}]"#))
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
    }

    @Test("the source's ticks are the subscribed symbols' trades and quotes, exact, stamped with the trade time")
    func subscribedSymbolsOnly() async throws {
        try await withMarketDataDouble { double, settings in
            try await withAlpacaFeed(settings) { hub, log in
                let alice = hub.subscribe(id: "alice", symbols: ["AAPL"])
                #expect(await eventually { subscribedTrades(double) == ["AAPL"] })
                #expect(double.connections.first?.quotes == ["AAPL"])
                #expect(double.connections.first?.codec == "msgpack")
                #expect(double.publishTrade(symbol: "MSFT", price: 420) == 0, "nobody subscribed to MSFT")
                let tradeTime = Date(timeIntervalSince1970: 1_700_000_000.123456)
                double.publishTrade(symbol: "AAPL", price: Decimal(string: "145.72")!, size: 7, at: tradeTime)
                double.publishQuote(symbol: "AAPL", bid: Decimal(string: "145.70")!, ask: Decimal(string: "145.75")!)
                #expect(await eventually { log.all.count == 2 })
                let ticks = log.all
                #expect(ticks.map(\.symbol) == ["AAPL", "AAPL"])
                #expect(ticks.map(\.kind) == [.trade, .quote])
                #expect(ticks.map(\.price) == [Decimal(string: "145.72")!, Decimal(string: "145.725")!])
                #expect(ticks[0].size == 7)
                #expect(abs(ticks[0].at.timeIntervalSince(tradeTime)) < 1e-6)
                #expect(ticks[1].bid == Decimal(string: "145.7") && ticks[1].ask == Decimal(string: "145.75"))
                // The strategy's subscription received the same ticks as JSON lines.
                var lines = alice.makeAsyncIterator()
                #expect(await lines.next()?.tick == ticks[0])
                #expect(String(decoding: await lines.next()?.bytes ?? [], as: UTF8.self).contains(#""price":145.725"#))
                alice.cancel()
            }
        }
    }

    @Test("the subscription follows subscribers coming and going; every-symbol subscribers add the default list")
    func followsSubscribers() async throws {
        try await withMarketDataDouble { double, settings in
            try await withAlpacaFeed(settings, defaultSymbols: ["SPY", "QQQ"]) { hub, log in
                #expect(await eventually { subscribedTrades(double) == [] })
                let alice = hub.subscribe(id: "alice", symbols: ["AAPL"])
                #expect(await eventually { subscribedTrades(double) == ["AAPL"] })
                let bob = hub.subscribe(id: "bob", symbols: ["MSFT", "AAPL"])
                #expect(await eventually { subscribedTrades(double) == ["AAPL", "MSFT"] })
                alice.cancel()
                #expect(await eventually { subscribedTrades(double) == ["AAPL", "MSFT"] })
                bob.cancel()
                let carol = hub.subscribe(id: "carol", symbols: ["TSLA"])
                #expect(await eventually { subscribedTrades(double) == ["TSLA"] })
                let everything = hub.subscribe(id: "all", symbols: nil)
                #expect(await eventually { subscribedTrades(double) == ["QQQ", "SPY", "TSLA"] })
                everything.cancel()
                carol.cancel()
                #expect(await eventually { subscribedTrades(double) == [] })
                #expect(double.connectionsOpened == 1, "changes travel on the one connection")
                #expect(log.all.isEmpty)
            }
        }
    }

    @Test("a dropped connection reconnects, authenticates and subscribes again; a malformed message is skipped")
    func reconnects() async throws {
        try await withMarketDataDouble { double, settings in
            try await withAlpacaFeed(settings) { hub, log in
                let alice = hub.subscribe(id: "alice", symbols: ["AAPL", "GOOG"])
                #expect(await eventually { subscribedTrades(double) == ["AAPL", "GOOG"] })
                double.sendMalformedMessage()
                double.publishTrade(symbol: "AAPL", price: 190)
                #expect(await eventually { log.all.map(\.price) == [190] })
                #expect(double.connectionsOpened == 1, "a malformed message does not cost the connection")
                #expect(double.dropConnections() == 1)
                #expect(
                    await eventually { double.connectionsOpened == 2 && subscribedTrades(double) == ["AAPL", "GOOG"] })
                double.publishTrade(symbol: "GOOG", price: Decimal(string: "170.01")!)
                #expect(await eventually { log.all.map(\.price) == [190, Decimal(string: "170.01")!] })
                // What changed while the connection was down is what the new one subscribes to.
                #expect(double.dropConnections() == 1)
                alice.cancel()
                let bob = hub.subscribe(id: "bob", symbols: ["MSFT"])
                #expect(await eventually { double.connectionsOpened == 3 && subscribedTrades(double) == ["MSFT"] })
                bob.cancel()
            }
        }
    }

    @Test("refused keys stop the source with a clear error in the feed's status, keys nowhere in it")
    func authenticationFailure() async throws {
        let double = MarketDataDouble()
        double.refusesAuthentication = true
        try await withMarketDataDouble(double) { double, settings in
            try await withAlpacaFeed(settings) { hub, _ in
                _ = hub.subscribe(id: "alice", symbols: ["AAPL"])
                #expect(
                    await eventually {
                        if case .failed = hub.statistics.sourceState { return true }
                        return false
                    })
                guard case .failed(let reason) = hub.statistics.sourceState else { return }
                #expect(reason.contains("402 auth failed"))
                #expect(reason.contains("APCA_API_KEY_ID"))
                #expect(!reason.contains(settings.secretKey) && !reason.contains(settings.keyID))
                #expect(double.connectionsOpened == 1, "refused keys are not retried")
            }
            // Run on its own, the source throws the refusal.
            let source = AlpacaDataSource(settings: settings, logger: testLogger())
            await #expect(throws: AlpacaDataRefusal(code: 402, message: "auth failed")) {
                try await source.run { _ in }
            }
        }
    }

    @Test("a connection turned away (406 connection limit) is retried until one is let in")
    func retriesTurnedAway() async throws {
        let double = MarketDataDouble()
        double.connectionLimitReached = true
        try await withMarketDataDouble(double) { double, settings in
            try await withAlpacaFeed(settings) { hub, _ in
                _ = hub.subscribe(id: "alice", symbols: ["AAPL"])
                #expect(await eventually { double.connectionsOpened >= 3 })
                #expect(hub.statistics.sourceState == .running, "turned away is not refused: the source goes on")
                double.connectionLimitReached = false
                #expect(await eventually { subscribedTrades(double) == ["AAPL"] })
            }
        }
    }
}

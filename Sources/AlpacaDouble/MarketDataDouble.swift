import AlpacaProtocol
import DeskCore
import DeskMarketData
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import MessagePack
import NIOCore
import Synchronization

/// Alpaca's v2 stock data stream on loopback, at `/v2/iex` and `/v2/sip`.
///
/// It speaks the protocol as ALPACA.md §8 describes it: the welcome on connect,
/// `auth`, delta `subscribe`/`unsubscribe` acknowledged with the full current set,
/// MessagePack in binary frames when the upgrade request says
/// `Content-Type: application/msgpack` (JSON text otherwise), every message an
/// array of maps with `T` first, control messages alone, `t` as a timestamp
/// extension, fragmented client messages reassembled.
///
/// It publishes trades and quotes for the symbols clients subscribed to: from a
/// seeded random walk per symbol (``Configuration/stepsPerSecond``), and whenever a
/// test calls ``publishTrade(symbol:price:size:at:)`` or
/// ``publishQuote(symbol:bid:ask:at:)``. Faults on command: ``dropConnections()``,
/// ``refusesAuthentication``, ``connectionLimitReached``, ``sendMalformedMessage()``. The same commands are
/// routes under `/_double/data/` for a double run as its own process.
///
/// It registers on a router it is given (``addRoutes(to:)``), so the trading double
/// can share the server; the trading double reads ``currentPrice(_:)`` or follows
/// ``onTrade(_:)`` so that fills match the published prices.
public final class MarketDataDouble: Sendable {
    /// How the double behaves.
    public struct Configuration: Sendable {
        /// The key id it accepts.
        public var keyID: String
        /// The secret it accepts.
        public var secretKey: String
        /// Where each symbol's walk starts; a symbol not listed starts at 100.
        public var startPrices: [String: Decimal]
        /// Walk steps per second for each subscribed symbol (a trade and a quote
        /// each); 0 publishes only what tests inject.
        public var stepsPerSecond: Double
        /// Seed of the walks.
        public var seed: UInt64
        /// Most symbols one channel may hold (IEX allows 30); nil for no limit.
        public var symbolLimit: Int?

        /// Accepts `keyID`/`secretKey`; walks from `startPrices` at `stepsPerSecond`, seeded by `seed`.
        public init(
            keyID: String = "PKTESTDOUBLE", secretKey: String = "double-secret",
            startPrices: [String: Decimal] = [:], stepsPerSecond: Double = 0, seed: UInt64 = 1,
            symbolLimit: Int? = nil
        ) {
            self.keyID = keyID
            self.secretKey = secretKey
            self.startPrices = startPrices
            self.stepsPerSecond = stepsPerSecond
            self.seed = seed
            self.symbolLimit = symbolLimit
        }
    }

    /// One client connection as the double sees it.
    public struct ConnectionInfo: Sendable, Equatable, Codable {
        /// Its number, counting from 1 in the order clients connected.
        public var id: Int
        /// `iex` or `sip`.
        public var feed: String
        /// `msgpack` or `json`.
        public var codec: String
        /// True once it authenticated.
        public var authenticated: Bool
        /// Its trade subscriptions, sorted.
        public var trades: [String]
        /// Its quote subscriptions, sorted.
        public var quotes: [String]
        /// Its bar subscriptions, sorted (accepted, never published).
        public var bars: [String]
    }

    enum Codec: String {
        case messagePack = "msgpack"
        case json
    }

    /// What a connection's writer sends next.
    enum Outgoing {
        case message(MessagePackValue)
        /// Bytes that are not a message in the connection's codec.
        case malformed
        /// A close frame; the writer stops.
        case close
    }

    struct Connection {
        let feed: String
        let codec: Codec
        var conversation = MarketDataConversation()
        let outbox: AsyncStream<Outgoing>.Continuation
    }

    struct State {
        var connections: [Int: Connection] = [:]
        var connectionsOpened = 0
        var prices: [String: Decimal]
        var walks: [String: SyntheticSource.Walk] = [:]
        var refusesAuthentication = false
        var connectionLimitReached = false
        var nextTradeID: Int64 = 1
        var tradeObservers: [@Sendable (String, Decimal) -> Void] = []
        var quoteObservers: [@Sendable (String, Decimal, Decimal) -> Void] = []

        /// Queues `message` for the authenticated connections whose `channel` covers
        /// `symbol`; returns how many there are.
        func send(
            _ message: MessagePackValue, toSubscribersOf channel: KeyPath<StreamChannels, Set<String>>, _ symbol: String
        ) -> Int {
            var sent = 0
            for connection in connections.values
            where connection.conversation.authenticated
                && StreamChannels.covers(connection.conversation.channels[keyPath: channel], symbol)
            {
                connection.outbox.yield(.message(message))
                sent += 1
            }
            return sent
        }
    }

    /// The feeds served, as path components under `/v2`.
    public static let feeds = ["iex", "sip"]

    /// How it behaves.
    public let configuration: Configuration
    private let state: Mutex<State>
    private let logger: Logger

    /// A double that serves nothing until ``addRoutes(to:)`` and publishes nothing until ``run()`` or a test injects.
    public init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "alpaca-double")) {
        self.configuration = configuration
        self.logger = logger
        state = Mutex(State(prices: configuration.startPrices))
    }

    // MARK: Prices

    /// The last trade price published for `symbol` (or its start price); nil for a symbol never seen.
    public func currentPrice(_ symbol: String) -> Decimal? {
        state.withLock { $0.prices[symbol] }
    }

    /// Every symbol's current price.
    public var prices: [String: Decimal] { state.withLock { $0.prices } }

    /// Calls `observer` with every trade the double publishes (walk steps and
    /// injected trades), after the clients were sent it. Keep it cheap.
    public func onTrade(_ observer: @escaping @Sendable (String, Decimal) -> Void) {
        state.withLock { $0.tradeObservers.append(observer) }
    }

    /// Calls `observer` with every quote a test publishes (``publishQuote(symbol:bid:ask:bidSize:askSize:at:)``,
    /// `POST /_double/data/quote`; not the walk's), after the clients were sent it: symbol, bid, ask.
    public func onQuote(_ observer: @escaping @Sendable (String, Decimal, Decimal) -> Void) {
        state.withLock { $0.quoteObservers.append(observer) }
    }

    /// Publishes a trade to every client subscribed to the symbol's trades and makes
    /// `price` the symbol's current price (the walk goes on from there). Returns how
    /// many connections it was sent to.
    @discardableResult
    public func publishTrade(symbol: String, price: Decimal, size: Int64 = 100, at date: Date = Date()) -> Int {
        let (sent, observers) = state.withLock { state in
            state.prices[symbol] = price
            state.walks[symbol] = nil
            let trade = MarketDataMessage.trade(
                symbol: symbol, id: state.nextTradeID, price: price, size: size, at: date)
            state.nextTradeID += 1
            return (state.send([trade], toSubscribersOf: \.trades, symbol), state.tradeObservers)
        }
        for observer in observers { observer(symbol, price) }
        return sent
    }

    /// Publishes a quote to every client subscribed to the symbol's quotes, and tells
    /// the quote observers (the trading double fills at it). Returns how many
    /// connections it was sent to.
    @discardableResult
    public func publishQuote(
        symbol: String, bid: Decimal, ask: Decimal, bidSize: Int64 = 1, askSize: Int64 = 1, at date: Date = Date()
    ) -> Int {
        let quote = MarketDataMessage.quote(
            symbol: symbol, bid: bid, bidSize: bidSize, ask: ask, askSize: askSize, at: date)
        let (sent, observers) = state.withLock {
            ($0.send([quote], toSubscribersOf: \.quotes, symbol), $0.quoteObservers)
        }
        for observer in observers { observer(symbol, bid, ask) }
        return sent
    }

    /// One step of every subscribed symbol's walk: a trade to its trade subscribers
    /// and a quote (a cent wide around it) to its quote subscribers, batched into
    /// one message per connection.
    public func step(at date: Date = Date()) {
        let (trades, observers) = state.withLock {
            state -> ([(String, Decimal)], [@Sendable (String, Decimal) -> Void]) in
            let live = state.connections.values.filter(\.conversation.authenticated)
            var symbols = Set<String>()
            for connection in live {
                for channel in [connection.conversation.channels.trades, connection.conversation.channels.quotes] {
                    symbols.formUnion(channel.contains("*") ? Set(state.prices.keys) : channel)
                }
            }
            symbols.remove("*")
            var batches: [[MessagePackValue]] = Array(repeating: [], count: live.count)
            var trades: [(String, Decimal)] = []
            for symbol in symbols.sorted() {
                var walk =
                    state.walks[symbol]
                    ?? SyntheticSource.Walk(
                        symbols: [symbol: state.prices[symbol] ?? 100],
                        seed: configuration.seed ^ Self.fingerprint(symbol),
                        volatility: SyntheticSource.defaultVolatility)
                let tick = walk.next(at: date)
                state.walks[symbol] = walk
                state.prices[symbol] = tick.price
                let trade = MarketDataMessage.trade(
                    symbol: symbol, id: state.nextTradeID, price: tick.price,
                    size: tick.size.flatMap { Int64(ExactDecimal.plain($0)) } ?? 1, at: date)
                state.nextTradeID += 1
                let quote = MarketDataMessage.quote(
                    symbol: symbol, bid: tick.bid ?? tick.price, bidSize: 1, ask: tick.ask ?? tick.price, askSize: 1,
                    at: date)
                trades.append((symbol, tick.price))
                for (index, connection) in live.enumerated() {
                    let channels = connection.conversation.channels
                    if StreamChannels.covers(channels.trades, symbol) { batches[index].append(trade) }
                    if StreamChannels.covers(channels.quotes, symbol) { batches[index].append(quote) }
                }
            }
            for (index, connection) in live.enumerated() where !batches[index].isEmpty {
                connection.outbox.yield(.message(.array(batches[index])))
            }
            return (trades, state.tradeObservers)
        }
        for (symbol, price) in trades {
            for observer in observers { observer(symbol, price) }
        }
    }

    /// FNV-1a of the symbol: a stable per-symbol seed (Swift's hashing is randomized per process).
    static func fingerprint(_ symbol: String) -> UInt64 {
        symbol.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    /// Steps the walks at ``Configuration/stepsPerSecond`` until cancelled (idles when it is 0).
    public func run() async {
        let rate = configuration.stepsPerSecond
        guard rate.isFinite, rate > 0 else {
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            return
        }
        let interval = Duration.seconds(1 / rate)
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            step()
        }
    }

    // MARK: Faults

    /// True while every `auth` is answered with 402 auth failed.
    public var refusesAuthentication: Bool {
        get { state.withLock { $0.refusesAuthentication } }
        set { state.withLock { $0.refusesAuthentication = newValue } }
    }

    /// True while every `auth` is answered with 406 connection limit exceeded and the
    /// connection is closed (as when another client holds the account's one connection).
    public var connectionLimitReached: Bool {
        get { state.withLock { $0.connectionLimitReached } }
        set { state.withLock { $0.connectionLimitReached = newValue } }
    }

    /// Closes every data connection (a close frame, "going away"), as Alpaca does on
    /// maintenance. Returns how many there were.
    @discardableResult
    public func dropConnections() -> Int {
        state.withLock { state in
            for connection in state.connections.values { connection.outbox.yield(.close) }
            return state.connections.count
        }
    }

    /// Sends every connection a message that does not decode: MessagePack clients
    /// get a binary frame with a byte the format never uses, JSON clients cut-off JSON.
    public func sendMalformedMessage() {
        state.withLock { state in
            for connection in state.connections.values { connection.outbox.yield(.malformed) }
        }
    }

    // MARK: Inspection

    /// The open connections, in the order they connected.
    public var connections: [ConnectionInfo] {
        state.withLock { state in
            state.connections.sorted { $0.key < $1.key }.map { id, connection in
                let channels = connection.conversation.channels
                return ConnectionInfo(
                    id: id, feed: connection.feed, codec: connection.codec.rawValue,
                    authenticated: connection.conversation.authenticated, trades: channels.trades.sorted(),
                    quotes: channels.quotes.sorted(), bars: channels.bars.sorted())
            }
        }
    }

    /// Connections accepted since the double started (reconnections count again).
    public var connectionsOpened: Int { state.withLock { $0.connectionsOpened } }

    // MARK: Routes

    /// The data stream at `/v2/iex` and `/v2/sip`, and the control routes under `/_double/data/`.
    public func addRoutes(to router: Router<BasicWebSocketRequestContext>) {
        for feed in Self.feeds {
            router.ws("v2/\(feed)") { inbound, outbound, context in
                let contentType = context.request.headers[.contentType]?.lowercased() ?? ""
                let codec: Codec = contentType.hasPrefix("application/msgpack") ? .messagePack : .json
                await self.serve(feed: feed, codec: codec, inbound: inbound, outbound: outbound)
            }
        }
        MarketDataControl(double: self).addRoutes(to: router)
    }

    /// One client connection: the welcome, then its messages answered in order,
    /// with everything it is sent going through one writer task.
    private func serve(
        feed: String, codec: Codec, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter
    ) async {
        let (outbox, continuation) = AsyncStream.makeStream(of: Outgoing.self)
        let id = state.withLock { state in
            state.connectionsOpened += 1
            state.connections[state.connectionsOpened] = Connection(feed: feed, codec: codec, outbox: continuation)
            return state.connectionsOpened
        }
        let logger = self.logger
        logger.debug("data stream connected", metadata: ["connection": "\(id)", "feed": "\(feed)"])
        continuation.yield(.message(MarketDataMessage.connected))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await Self.write(outbox, to: outbound, codec: codec) }
            do {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    answer(message, on: id)
                }
            } catch {
                logger.debug("data stream read failed", metadata: ["connection": "\(id)", "error": "\(error)"])
            }
            state.withLock { _ = $0.connections.removeValue(forKey: id) }
            continuation.finish()
        }
        logger.debug("data stream closed", metadata: ["connection": "\(id)"])
    }

    /// Answers one client message; the answer is queued under the lock, so it goes
    /// out before any data published after the subscription changed.
    private func answer(_ message: WebSocketMessage, on id: Int) {
        let request: MessagePackValue? =
            switch message {
            case .binary(let buffer): try? MessagePackValue.decode(Array(buffer.readableBytesView))
            case .text(let text): MarketDataJSON.value(fromJSON: Array(text.utf8))
            }
        let configuration = self.configuration
        state.withLock { state in
            guard var connection = state.connections[id] else { return }
            if state.connectionLimitReached, request?["action"] == "auth" {
                connection.outbox.yield(.message(MarketDataMessage.error(.connectionLimitExceeded)))
                connection.outbox.yield(.close)
                return
            }
            let refuses = state.refusesAuthentication
            let reply =
                request.map {
                    connection.conversation.reply(to: $0, symbolLimit: configuration.symbolLimit) { key, secret in
                        !refuses && key == configuration.keyID && secret == configuration.secretKey
                    }
                } ?? MarketDataMessage.error(.invalidSyntax)
            state.connections[id] = connection
            connection.outbox.yield(.message(reply))
        }
    }

    /// Sends what is queued for one connection until the queue ends or a close is sent.
    private static func write(
        _ outbox: AsyncStream<Outgoing>, to outbound: WebSocketOutboundWriter, codec: Codec
    ) async {
        for await item in outbox {
            do {
                switch (item, codec) {
                case (.message(let value), .messagePack):
                    try await outbound.write(.binary(ByteBuffer(bytes: value.encoded())))
                case (.message(let value), .json):
                    try await outbound.write(.text(MarketDataJSON.text(value)))
                case (.malformed, .messagePack):
                    try await outbound.write(.binary(ByteBuffer(bytes: [0x91, 0xc1])))
                case (.malformed, .json):
                    try await outbound.write(.text(#"[{"T":"t","S":"#))
                case (.close, _):
                    try await outbound.close(.goingAway, reason: "dropped by the double")
                    return
                }
            } catch {
                return
            }
        }
    }
}

import AlpacaProtocol
import DeskAPI
import DeskCore
import DeskIdentity
import DeskMarketData
import DeskServices
import Foundation
import HTTPTypes
import HummingbirdWebSocket
import Logging
import MessagePack
import NIOCore
import ServiceLifecycle
import Synchronization

/// Alpaca's two WebSocket streams on the desk's listeners: `trade_updates` at
/// `/stream` (only the authenticated member's own order events) and the market data
/// stream at `/v2/iex`, `/v2/sip` and `/v2/test` (the desk's own feed, whatever its
/// source). Both authenticate in-band with the same key pair as the REST API (key
/// id: the member or the token's id; secret: the member's token) or, on the trading
/// stream, an OAuth token (the desk token). Every client gets what it is sent
/// through its own queue and one writer, so a slow client holds up nobody else;
/// a client that stops reading loses its oldest events (the hubs' bounded buffers).
public final class AlpacaStreams: Sendable {
    let tokens: TokenAuthenticator
    let orderEvents: OrderEvents
    let feed: FeedHub
    let logger: Logger
    private let connections = Atomic<Int>(0)

    /// Largest client message read.
    static let maximumMessageSize = 64 * 1024

    /// Streams whose callers `tokens` names, with the order events of `orderEvents`
    /// and the ticks of `feed`.
    public init(tokens: TokenAuthenticator, orderEvents: OrderEvents, feed: FeedHub, logger: Logger) {
        self.tokens = tokens
        self.orderEvents = orderEvents
        self.feed = feed
        self.logger = logger
    }

    /// How a connection's messages are written: MessagePack when the upgrade said
    /// `Content-Type: application/msgpack` (as alpaca-py's data stream does), else JSON text.
    enum Codec: String, Sendable {
        case json, messagePack = "msgpack"

        init(_ head: HTTPRequest) {
            let contentType = head.headerFields[.contentType]?.lowercased() ?? ""
            self = contentType.hasPrefix("application/msgpack") ? .messagePack : .json
        }

        /// A client message as a value; nil when it is neither JSON nor MessagePack.
        func read(_ message: WebSocketMessage) -> MessagePackValue? {
            switch message {
            case .text(let text): return MarketDataJSON.value(fromJSON: Array(text.utf8))
            case .binary(let buffer):
                let bytes = Array(buffer.readableBytesView)
                if self == .messagePack, let value = try? MessagePackValue.decode(bytes) { return value }
                return MarketDataJSON.value(fromJSON: bytes)
            }
        }

        func write(_ value: MessagePackValue, to outbound: WebSocketOutboundWriter) async throws {
            switch self {
            case .messagePack: try await outbound.write(.binary(ByteBuffer(bytes: value.encoded())))
            case .json: try await outbound.write(.text(MarketDataJSON.text(value)))
            }
        }
    }

    /// The stream a request upgrades to, by its path; nil for every other path.
    /// A client that has not authenticated within `authenticationTimeout` is told
    /// so and closed; `identified` hears the member once one authenticated.
    func handler(
        for head: HTTPRequest, authenticationTimeout: Duration, identified: @escaping @Sendable (String) -> Void
    ) -> WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>? {
        let path = String((head.path ?? "").prefix { $0 != "?" })
        let stream = StreamConnection(
            codec: Codec(head), authenticationTimeout: authenticationTimeout, identified: identified)
        if AlpacaRoutes.tradingStreamPaths.contains(path) {
            return { inbound, outbound, _ in await self.serveTradeUpdates(stream, inbound, outbound) }
        }
        for feed in AlpacaRoutes.dataStreamFeeds where path == "/v2/\(feed)" {
            return { inbound, outbound, _ in await self.serveMarketData(stream, inbound, outbound) }
        }
        return nil
    }

    /// One stream's settings and what it learned: how it writes, its authentication deadline, its member.
    struct StreamConnection: Sendable {
        let codec: Codec
        let authenticationTimeout: Duration
        let identified: @Sendable (String) -> Void
        let member = Locked<String?>(nil)

        /// Authenticated as `member` (nil: the keys were refused).
        func authenticated(as member: String?) {
            self.member.withLock { $0 = member }
            if let member { identified(member) }
        }
    }

    /// What ended a stream.
    enum StreamEnd: Sendable, Equatable {
        /// Nothing yet: a helper task ended (or was cancelled).
        case none
        /// The client closed the stream, or its messages ended.
        case clientLeft
        /// The client did not authenticate in time.
        case authenticationLate
        /// The desk is shutting down.
        case shutdown
    }

    /// Runs a stream's `reader` and `helpers` until the client leaves, the desk
    /// shuts down, or the stream is still unauthenticated at its deadline; then
    /// cancels them all. The helpers end on cancellation.
    func run(
        _ stream: StreamConnection, reader: @escaping @Sendable () async -> Void,
        helpers: [@Sendable () async -> Void]
    ) async -> StreamEnd {
        await withTaskGroup(of: StreamEnd.self) { group in
            for helper in helpers {
                group.addTask {
                    await helper()
                    return .none
                }
            }
            group.addTask {
                await reader()
                return .clientLeft
            }
            group.addTask {
                do { try await Task.sleep(for: stream.authenticationTimeout) } catch { return .none }
                return stream.member.withLock { $0 } == nil ? .authenticationLate : .none
            }
            group.addTask {
                do { try await gracefulShutdown() } catch { return .none }
                return .shutdown
            }
            var end = StreamEnd.none
            for await result in group where result != .none {
                end = result
                break
            }
            group.cancelAll()
            return end
        }
    }

    /// The member behind a key pair, when it is a member's (not a metrics) token.
    func member(keyId: String, secret: String) async -> Caller? {
        guard let caller = try? await tokens.caller(keyId: keyId, secret: secret) else { return nil }
        return try? Access.member.admit(caller)
    }

    /// The member behind a bare token.
    func member(token: String) async -> Caller? {
        guard let caller = try? await tokens.caller(token: token) else { return nil }
        return try? Access.member.admit(caller)
    }

    // MARK: trade_updates

    private func serveTradeUpdates(
        _ stream: StreamConnection, _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter
    ) async {
        let codec = stream.codec
        let (outbox, out) = AsyncStream.makeStream(of: MessagePackValue.self, bufferingPolicy: .bufferingNewest(1024))
        let (listening, listen) = AsyncStream.makeStream(of: Caller?.self)
        let writer: @Sendable () async -> Void = {
            for await message in outbox { try? await codec.write(message, to: outbound) }
        }
        let forwarder: @Sendable () async -> Void = {
            // One listener at a time: a new listen (or a new caller) stops the previous one.
            await withTaskGroup(of: Void.self) { forwarding in
                var current: OrderEventsListener?
                for await caller in listening {
                    current?.stop()
                    current = caller.map { self.orderEvents.listen(for: $0) }
                    if let listener = current { forwarding.addTask { await self.forward(listener, to: out) } }
                }
                current?.stop()
                forwarding.cancelAll()
            }
        }
        let reader: @Sendable () async -> Void = {
            var session = TradingStreamSession()
            var caller: Caller?
            do {
                for try await message in inbound.messages(maxSize: Self.maximumMessageSize) {
                    var actions = session.received(codec.read(message))
                    while !actions.isEmpty {
                        let action = actions.removeFirst()
                        switch action {
                        case .send(let value): out.yield(value)
                        case .checkKeys(let keyId, let secret):
                            caller = await self.member(keyId: keyId, secret: secret)
                            stream.authenticated(as: caller?.member)
                            actions += session.checked(caller != nil)
                            // Authenticated again while listening: the events follow the new member.
                            if session.isListening { listen.yield(caller) }
                        case .checkToken(let token):
                            caller = await self.member(token: token)
                            stream.authenticated(as: caller?.member)
                            actions += session.checked(caller != nil)
                            if session.isListening { listen.yield(caller) }
                        case .listen(let on): listen.yield(on ? caller : nil)
                        }
                    }
                }
            } catch {
                self.logger.debug("trade_updates stream read failed", metadata: ["error": "\(error)"])
            }
        }
        let end = await run(stream, reader: reader, helpers: [writer, forwarder])
        listen.finish()
        out.finish()
        if end == .authenticationLate {
            let seconds = stream.authenticationTimeout.seconds
            try? await codec.write(
                TradingStreamSession.error("auth timeout: authenticate within \(seconds) s of connecting"),
                to: outbound)
        }
    }

    /// Sends `member`'s order events as `trade_updates` messages until cancelled.
    private func forward(_ listener: OrderEventsListener, to out: AsyncStream<MessagePackValue>.Continuation)
        async
    {
        for await booked in listener.events {
            let update = AlpacaTradeUpdate(
                event: booked.event, fillId: booked.fillId,
                order: AlpacaOrderView(booked.order, clientOrderId: booked.clientOrderId), at: booked.at,
                positionQty: booked.positionQty)
            if let value = MarketDataJSON.value(fromJSON: Array(AlpacaJSON.text(update).utf8)) { out.yield(value) }
        }
    }

    // MARK: market data

    private func serveMarketData(
        _ stream: StreamConnection, _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter
    ) async {
        let codec = stream.codec
        let id = connections.add(1, ordering: .relaxed).newValue
        let (outbox, out) = AsyncStream.makeStream(of: MessagePackValue.self, bufferingPolicy: .bufferingNewest(4096))
        let (subscriptions, subscribe) = AsyncStream.makeStream(of: FeedSubscription.self)
        let conversation = Locked(MarketDataConversation())
        let subscriberId = "alpaca-stream-\(id)"
        out.yield(MarketDataMessage.connected)
        let writer: @Sendable () async -> Void = {
            for await message in outbox { try? await codec.write(message, to: outbound) }
        }
        let forwarder: @Sendable () async -> Void = {
            // A changed subscription replaces the previous one (same id), which then ends.
            var trades: Int64 = 0
            for await subscription in subscriptions {
                for await line in subscription {
                    guard let tick = line.tick else { continue }
                    let channels = conversation.withLock { $0.channels }
                    for message in AlpacaStreamData.messages(for: tick, channels: channels, tradeId: &trades) {
                        out.yield(message)
                    }
                }
            }
        }
        let reader: @Sendable () async -> Void = {
            var current: Set<String>?? = .none
            do {
                for try await message in inbound.messages(maxSize: Self.maximumMessageSize) {
                    guard let request = codec.read(message) else {
                        out.yield(MarketDataMessage.error(.invalidSyntax))
                        continue
                    }
                    var accepted = false
                    if request["action"]?.stringValue == "auth", let key = request["key"]?.stringValue,
                        let secret = request["secret"]?.stringValue
                    {
                        let member = await self.member(keyId: key, secret: secret)?.member
                        accepted = member != nil
                        if conversation.withLock({ !$0.authenticated }) { stream.authenticated(as: member) }
                    }
                    let (reply, channels) = conversation.withLock { state in
                        (state.reply(to: request) { _, _ in accepted }, state.channels)
                    }
                    out.yield(reply)
                    let wanted = AlpacaStreamData.feedSymbols(channels)
                    if current != .some(wanted) {
                        current = .some(wanted)
                        subscribe.yield(self.feed.subscribe(id: subscriberId, symbols: wanted, capacity: 4096))
                    }
                }
            } catch {
                self.logger.debug("market data stream read failed", metadata: ["error": "\(error)"])
            }
        }
        let end = await run(stream, reader: reader, helpers: [writer, forwarder])
        // An empty subscription under the same id ends the last one; cancelling it makes the hub forget the id.
        feed.subscribe(id: subscriberId, symbols: [], capacity: 1).cancel()
        subscribe.finish()
        out.finish()
        if end == .authenticationLate { try? await codec.write(MarketDataMessage.error(.authTimeout), to: outbound) }
    }
}

/// A value behind a lock, shared by a connection's reader and its forwarding task.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result { mutex.withLock { body(&$0) } }
}

/// The desk's ticks as Alpaca's market data messages (pure).
public enum AlpacaStreamData {
    /// The symbols a connection needs from the feed: every one its channels name, or
    /// nil (every symbol) when one of them is `*`.
    public static func feedSymbols(_ channels: StreamChannels) -> Set<String>? {
        let all = channels.trades.union(channels.quotes).union(channels.bars)
        return all.contains("*") ? nil : all
    }

    /// The messages `tick` makes for a client subscribed to `channels`: a trade (a
    /// trade tick, or one of no kind), a quote (a quote tick, or any tick with a bid
    /// and an ask), a minute bar (a bar tick). Each is its own one-map array.
    /// `tradeId` numbers the trades sent.
    public static func messages(for tick: Tick, channels: StreamChannels, tradeId: inout Int64) -> [MessagePackValue] {
        var messages: [MessagePackValue] = []
        let symbol = tick.symbol
        switch tick.kind {
        case .bar?:
            if StreamChannels.covers(channels.bars, symbol) {
                let bar = tick.bar
                messages.append(
                    [
                        MarketDataMessage.bar(
                            symbol: symbol, open: bar?.open ?? tick.price, high: bar?.high ?? tick.price,
                            low: bar?.low ?? tick.price, close: tick.price, volume: whole(bar?.volume ?? tick.size),
                            at: tick.at)
                    ])
            }
        case .quote?:
            break
        default:
            if StreamChannels.covers(channels.trades, symbol) {
                tradeId += 1
                messages.append(
                    [
                        MarketDataMessage.trade(
                            symbol: symbol, id: tradeId, price: tick.price, size: whole(tick.size), at: tick.at)
                    ])
            }
        }
        if let bid = tick.bid, let ask = tick.ask, StreamChannels.covers(channels.quotes, symbol) {
            messages.append(
                [
                    MarketDataMessage.quote(
                        symbol: symbol, bid: bid, bidSize: whole(tick.bidSize), ask: ask, askSize: whole(tick.askSize),
                        at: tick.at)
                ])
        }
        return messages
    }

    /// A size as the whole number Alpaca sends (fractions dropped; none is 0).
    static func whole(_ value: Decimal?) -> Int64 {
        guard let value else { return 0 }
        var input = value
        var result = Decimal()
        NSDecimalRound(&result, &input, 0, .down)
        return Int64(ExactDecimal.plain(result)) ?? 0
    }
}

import DeskMarketData
import Foundation
import HummingbirdWSClient
import Logging
import MessagePack
import NIOCore
import Synchronization

/// Market data from Alpaca's v2 stock stream as a feed source: trades and quotes
/// become the ticks strategies and the paper broker see.
///
/// It connects to `<dataStreamURL>/<feed>` asking for MessagePack, authenticates,
/// and subscribes only to the symbols the hub's subscribers want, following them
/// with delta subscribe/unsubscribe messages as strategies start and stop. Alpaca
/// cannot stream "every symbol" to the desk: while some subscriber wants every
/// symbol, the source adds ``Options/defaultSymbols`` to the symbols others name.
///
/// A lost connection is retried with exponential backoff (with jitter), and the
/// new connection subscribes to what is wanted then. Refused keys or plan
/// (``AlpacaDataRefusal``) end ``run(demand:_:)`` with that error: the hub reports it
/// in its status, and retrying would only repeat it. The secret is sent in the
/// `auth` message and appears nowhere else: not in logs, not in ``name``.
public struct AlpacaDataSource: TickSource {
    /// How the source subscribes and reconnects.
    public struct Options: Sendable {
        /// What to subscribe to (besides the symbols named) while a subscriber wants every symbol.
        public var defaultSymbols: Set<String>
        /// Subscribe to quotes as well as trades.
        public var quotes: Bool
        /// First wait before reconnecting; doubles up to ``maximumBackoff``.
        public var initialBackoff: Duration
        /// Longest wait between reconnection attempts.
        public var maximumBackoff: Duration

        /// Options as given.
        public init(
            defaultSymbols: Set<String> = [], quotes: Bool = true, initialBackoff: Duration = .seconds(1),
            maximumBackoff: Duration = .seconds(30)
        ) {
            self.defaultSymbols = defaultSymbols
            self.quotes = quotes
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
        }
    }

    /// Where the stream is, the feed and the keys.
    public let settings: AlpacaSettings
    /// How it subscribes and reconnects.
    public let options: Options
    private let logger: Logger

    /// A source for `settings`; nothing connects until the hub runs it.
    public init(settings: AlpacaSettings, options: Options = Options(), logger: Logger) {
        self.settings = settings
        self.options = options
        self.logger = logger
    }

    /// The stream's URL: `dataStreamURL` + `/` + feed.
    public var streamURL: String {
        var base = settings.dataStreamURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/" + settings.dataFeed
    }

    /// `alpaca iex (wss://stream.data.alpaca.markets/v2/iex)`.
    public var name: String { "alpaca \(settings.dataFeed) (\(streamURL))" }

    /// The symbols to subscribe to for a demand: those named, plus the default list
    /// while some subscriber wants every symbol.
    public func target(for demand: FeedDemand) -> Set<String> {
        demand.everySymbol ? demand.symbols.union(options.defaultSymbols) : demand.symbols
    }

    /// Streams ``Options/defaultSymbols`` (no hub to ask what is wanted).
    public func run(_ emit: @Sendable (Tick) async -> Void) async throws {
        try await withoutActuallyEscaping(emit) { emit in
            try await run(demand: FixedFeedDemand(FeedDemand(everySymbol: true)), emit)
        }
    }

    /// Streams what `demand` wants until cancelled, reconnecting as needed; throws
    /// ``AlpacaDataRefusal`` when Alpaca refuses the keys or the plan.
    public func run(demand: any FeedDemandProvider, _ emit: @escaping @Sendable (Tick) async -> Void) async throws {
        var backoff = options.initialBackoff
        while !Task.isCancelled {
            let progress = SessionProgress()
            do {
                try await session(demand: demand, progress: progress, emit: emit)
                if Task.isCancelled { return }
                logger.warning(
                    "Alpaca market data stream closed; reconnecting",
                    metadata: ["feed": "\(settings.dataFeed)", "retry_in": "\(backoff)"])
            } catch let refusal as AlpacaDataRefusal {
                logger.error(
                    "Alpaca market data stopped", metadata: ["feed": "\(settings.dataFeed)", "reason": "\(refusal)"])
                throw refusal
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "Alpaca market data stream lost; reconnecting",
                    metadata: ["feed": "\(settings.dataFeed)", "error": "\(error)", "retry_in": "\(backoff)"])
            }
            // A connection that got as far as streaming starts the backoff over.
            if progress.authenticated { backoff = options.initialBackoff }
            do {
                try await Task.sleep(for: backoff * Double.random(in: 0.8...1.2))
            } catch {
                return
            }
            backoff = min(backoff * 2, options.maximumBackoff)
        }
    }

    /// Whether a session got as far as authenticating.
    final class SessionProgress: Sendable {
        private let reached = Mutex(false)
        var authenticated: Bool { reached.withLock { $0 } }
        func markAuthenticated() { reached.withLock { $0 = true } }
    }

    /// What the session loop reacts to: a server message, a new demand, the end of the connection.
    private enum Input: Sendable {
        case message([UInt8])
        case demand(FeedDemand)
        case closed((any Error)?)
    }

    /// Why a session stopped that is not an error of the connection.
    struct SessionEnd: Error, CustomStringConvertible {
        var description: String
    }

    /// One connection: returns when the server closes it, throws when it fails.
    private func session(
        demand: any FeedDemandProvider, progress: SessionProgress, emit: @escaping @Sendable (Tick) async -> Void
    ) async throws {
        let configuration = WebSocketClientConfiguration(
            maxFrameSize: 1 << 20, additionalHeaders: [.contentType: "application/msgpack"])
        var quiet = logger
        quiet.logLevel = .warning
        let settings = self.settings
        let options = self.options
        let logger = self.logger
        let source = self
        try await WebSocketClient.connect(url: streamURL, configuration: configuration, logger: quiet) {
            inbound, outbound, _ in
            let (inputs, input) = AsyncStream.makeStream(of: Input.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await wanted in demand.demandChanges() { input.yield(.demand(wanted)) }
                }
                group.addTask {
                    do {
                        for try await message in inbound.messages(maxSize: 16 << 20) {
                            input.yield(.message(Self.bytes(message)))
                        }
                        input.yield(.closed(nil))
                    } catch {
                        input.yield(.closed(error))
                    }
                }
                defer { group.cancelAll() }
                var machine = AlpacaDataSession(
                    keyID: settings.keyID, secretKey: settings.secretKey,
                    target: source.target(for: demand.demand), quotes: options.quotes)
                for await next in inputs {
                    let actions: [AlpacaDataSession.Action]
                    switch next {
                    case .message(let bytes):
                        do {
                            actions = machine.receive(try MessagePackValue.decode(bytes))
                        } catch {
                            logger.warning(
                                "Alpaca market data: skipped a message that is not MessagePack",
                                metadata: ["error": "\(error)"])
                            continue
                        }
                    case .demand(let wanted):
                        actions = machine.want(source.target(for: wanted))
                    case .closed(let error?):
                        throw error
                    case .closed(nil):
                        return
                    }
                    for action in actions {
                        try await source.perform(action, outbound: outbound, progress: progress, emit: emit)
                    }
                }
            }
        }
    }

    private func perform(
        _ action: AlpacaDataSession.Action, outbound: WebSocketOutboundWriter, progress: SessionProgress,
        emit: @Sendable (Tick) async -> Void
    ) async throws {
        switch action {
        case .send(let message):
            try await outbound.write(.binary(ByteBuffer(bytes: message.encoded())))
        case .emit(let tick):
            await emit(tick)
        case .authenticated:
            progress.markAuthenticated()
            logger.info(
                "Alpaca market data connected", metadata: ["feed": "\(settings.dataFeed)", "url": "\(streamURL)"])
        case .subscribed(let trades, let quotes):
            logger.info(
                "Alpaca market data subscription",
                metadata: [
                    "trades": "\(trades.sorted().joined(separator: ","))",
                    "quotes": "\(quotes.sorted().joined(separator: ","))",
                ])
        case .warn(let text):
            logger.warning("Alpaca market data problem", metadata: ["problem": "\(text)"])
        case .reconnect(let reason):
            throw SessionEnd(description: reason)
        case .stop(let refusal):
            throw refusal
        }
    }

    private static func bytes(_ message: WebSocketMessage) -> [UInt8] {
        switch message {
        case .text(let text): Array(text.utf8)
        case .binary(let buffer): Array(buffer.readableBytesView)
        }
    }
}

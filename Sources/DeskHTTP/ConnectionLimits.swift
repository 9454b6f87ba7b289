import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTPTypes

/// How long a connection may take and how many a listener holds. Every limit
/// applies to each listener (TCP and the unix socket) on its own.
public struct ConnectionSettings: Sendable, Equatable {
    /// A connection with no request in progress is closed after this long without a byte.
    public var idleTimeout: Duration
    /// Once a request's first byte arrives, its head (request line and headers) must be complete within this.
    public var requestHeaderTimeout: Duration
    /// Once a request's head is complete, its whole body must arrive within this.
    public var requestBodyTimeout: Duration
    /// Connections a listener holds at once; further ones wait in the kernel's
    /// backlog until one closes (the desk's descriptors stay bounded).
    public var maximumConnections: Int
    /// A stream (`/stream`, `/v2/iex`) must authenticate within this of its upgrade,
    /// or it is told `auth timeout` and closed; a closing stream waits this long for
    /// the client's close frame.
    public var streamAuthenticationTimeout: Duration
    /// Slots of each listener that only authenticated connections may hold (at
    /// most half of `maximumConnections`): past the rest, the oldest idle
    /// unauthenticated connection is closed (see `ConnectionSlots`).
    public var reservedConnections: Int
    /// Unauthenticated connections one client address may hold on a listener.
    public var unauthenticatedPerAddress: Int
    /// Connections one member may hold on a listener.
    public var connectionsPerMember: Int

    /// 60 s idle, 10 s for a request head, 30 s for a body, 256 connections per
    /// listener (32 of them for authenticated connections only), 64 unauthenticated
    /// per address, 64 per member, 10 s for a stream to authenticate.
    public init(
        idleTimeout: Duration = .seconds(60), requestHeaderTimeout: Duration = .seconds(10),
        requestBodyTimeout: Duration = .seconds(30), maximumConnections: Int = 256,
        streamAuthenticationTimeout: Duration = .seconds(10), reservedConnections: Int = 32,
        unauthenticatedPerAddress: Int = 64, connectionsPerMember: Int = 64
    ) {
        self.idleTimeout = idleTimeout
        self.requestHeaderTimeout = requestHeaderTimeout
        self.requestBodyTimeout = requestBodyTimeout
        self.maximumConnections = maximumConnections
        self.streamAuthenticationTimeout = streamAuthenticationTimeout
        self.reservedConnections = reservedConnections
        self.unauthenticatedPerAddress = unauthenticatedPerAddress
        self.connectionsPerMember = connectionsPerMember
    }
}

/// The request deadlines of one connection, as a pure state machine: each event
/// returns what the channel handler must do (the timer and the close are its I/O).
struct RequestDeadlines: Equatable {
    enum Phase: Equatable {
        /// No request in progress (the idle timeout governs).
        case waiting
        /// A request's first bytes came; its head is due by the deadline.
        case head(due: NIODeadline)
        /// The head came; the body's end is due by the deadline.
        case body(due: NIODeadline)
    }

    /// What the channel handler does next.
    enum Action: Equatable {
        case nothing
        /// (Re)arm the one timer for this instant.
        case schedule(NIODeadline)
        case cancelTimer
        /// Close the connection: the part named was not complete in time.
        case close(missed: String, after: Duration)
    }

    let headerTimeout: Duration
    let bodyTimeout: Duration
    private(set) var phase: Phase = .waiting

    init(headerTimeout: Duration, bodyTimeout: Duration) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
    }

    /// Bytes arrived from the client.
    mutating func bytesArrived(now: NIODeadline) -> Action {
        guard phase == .waiting else { return .nothing }
        let due = now + TimeAmount(headerTimeout)
        phase = .head(due: due)
        return .schedule(due)
    }

    /// A request's head was decoded.
    mutating func headReceived(now: NIODeadline) -> Action {
        let due = now + TimeAmount(bodyTimeout)
        phase = .body(due: due)
        return .schedule(due)
    }

    /// A request's end (the last body byte) was decoded.
    mutating func endReceived() -> Action {
        phase = .waiting
        return .cancelTimer
    }

    /// The timer went off.
    mutating func timerFired(now: NIODeadline) -> Action {
        switch phase {
        case .waiting: return .nothing
        case .head(let due):
            return now >= due ? .close(missed: "request head", after: headerTimeout) : .schedule(due)
        case .body(let due):
            return now >= due ? .close(missed: "request body", after: bodyTimeout) : .schedule(due)
        }
    }
}

/// First in a connection's pipeline: notices the first bytes of each request,
/// keeps `RequestDeadlines`, and closes the connection when a head or body is
/// late. `RequestProgressObserver`, after the HTTP decoder, reports heads and ends.
final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    /// Its name in the pipeline (a connection upgraded to a stream removes it).
    static let name = "desk.request-deadlines"
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var deadlines: RequestDeadlines
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private let logger: Logger

    init(settings: ConnectionSettings, logger: Logger) {
        deadlines = RequestDeadlines(
            headerTimeout: settings.requestHeaderTimeout, bodyTimeout: settings.requestBodyTimeout)
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(deadlines.bytesArrived(now: .now()))
        context.fireChannelRead(data)
    }

    /// The decoder produced a request head.
    func headReceived() { perform(deadlines.headReceived(now: .now())) }

    /// The decoder produced a request end.
    func endReceived() { perform(deadlines.endReceived()) }

    private func perform(_ action: RequestDeadlines.Action) {
        guard let context else { return }
        switch action {
        case .nothing: break
        case .cancelTimer:
            timer?.cancel()
            timer = nil
        case .schedule(let deadline):
            timer?.cancel()
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                timer = nil
                perform(deadlines.timerFired(now: .now()))
            }
        case .close(let missed, let after):
            logger.debug(
                "closing a connection: late request",
                metadata: [
                    "missed": "\(missed)", "timeout": "\(after)",
                    "peer": "\(context.channel.remoteAddress.map { "\($0)" } ?? "unix socket")",
                ])
            context.close(promise: nil)
        }
    }
}

/// After the HTTP decoder: tells the connection's `RequestDeadlineHandler` when
/// a request's head and end were decoded, and its `ConnectionSlotHandler` when a
/// response was sent.
final class RequestProgressObserver: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var deadlines: RequestDeadlineHandler?
    private var slots: ConnectionSlotHandler?

    func handlerAdded(context: ChannelHandlerContext) {
        deadlines = try? context.pipeline.syncOperations.handler(type: RequestDeadlineHandler.self)
        slots = try? context.pipeline.syncOperations.handler(type: ConnectionSlotHandler.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadlines = nil
        slots = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: deadlines?.headReceived()
        case .end: deadlines?.endReceived()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { slots?.requestEnded() }
        context.write(data, promise: promise)
    }
}

/// Hummingbird's HTTP/1.1 channel with the desk's deadlines in front of it:
/// Hummingbird closes idle connections (`idleTimeout`), `RequestDeadlineHandler`
/// closes those whose request head or body is late.
struct DeskHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let settings: ConnectionSettings
    let slots: ConnectionSlotBook

    init(responder: @escaping HTTPChannelHandler.Responder, settings: ConnectionSettings, slots: ConnectionSlotBook) {
        self.settings = settings
        self.slots = slots
        http1 = HTTP1Channel(
            responder: responder,
            configuration: HTTP1Channel.Configuration(
                additionalChannelHandlers: [RequestProgressObserver()], idleTimeout: TimeAmount(settings.idleTimeout)))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let (settings, slots) = (self.settings, self.slots)
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                RequestDeadlineHandler(settings: settings, logger: logger), position: .first)
            try channel.pipeline.syncOperations.addHandler(ConnectionSlotHandler(book: slots), position: .first)
        }.flatMap { http1.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

/// A listener's connection cap (Hummingbird stops accepting at the cap and
/// resumes when a connection closes). Says so in the log when the cap is reached,
/// and again only after the listener was back below half of it.
public struct ConnectionCap: AvailableConnectionsDelegate {
    let maximum: Int
    let listener: String
    let logger: Logger
    var open = 0
    var warned = false

    public init(maximum: Int, listener: String, logger: Logger) {
        self.maximum = maximum
        self.listener = listener
        self.logger = logger
    }

    public mutating func connectionOpened() {
        open += 1
        if open >= maximum && !warned {
            warned = true
            logger.warning(
                "listener at its connection cap: new connections wait until one closes",
                metadata: [
                    "listener": "\(listener)", "max_connections": "\(maximum)",
                    "hint": "raise --max-connections (DESK_MAX_CONNECTIONS) if this is legitimate load",
                ])
        }
    }

    public mutating func connectionClosed() {
        open -= 1
        if open < maximum / 2 { warned = false }
    }

    public func isAcceptingNewConnections() -> Bool { open < maximum }
}

/// Closes a connection that sends nothing at all within the idle timeout. The
/// upgrading channel adds Hummingbird's idle handling only once a first request
/// arrived (to decide between HTTP and a stream), so a silent connection is this
/// handler's; it leaves at the first byte.
final class FirstByteDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: Duration
    private var timer: Scheduled<Void>?

    init(timeout: Duration) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) {
            loopContext.value.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        timer?.cancel()
        timer = nil
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }
}

/// `DeskHTTP1Channel` that also upgrades to Alpaca's WebSocket streams
/// (`AlpacaStreams`): the same deadlines for every HTTP request, none once a
/// connection became a stream (a stream is kept alive by pings instead).
struct DeskStreamingChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let upgrading: HTTP1WebSocketUpgradeChannel
    let settings: ConnectionSettings
    let slots: ConnectionSlotBook

    init(
        responder: @escaping HTTPChannelHandler.Responder, settings: ConnectionSettings, streams: AlpacaStreams,
        slots: ConnectionSlotBook
    ) {
        self.settings = settings
        self.slots = slots
        upgrading = HTTP1WebSocketUpgradeChannel(
            responder: responder,
            configuration: .init(
                http1: HTTP1Channel.Configuration(
                    additionalChannelHandlers: [RequestProgressObserver()],
                    idleTimeout: TimeAmount(settings.idleTimeout)),
                ws: WebSocketServerConfiguration(
                    maxFrameSize: AlpacaStreams.maximumMessageSize, closeTimeout: settings.streamAuthenticationTimeout)),
            shouldUpgrade: { head, channel, _ in
                guard
                    let handler = streams.handler(
                        for: head, authenticationTimeout: settings.streamAuthenticationTimeout,
                        identified: { ConnectionSlotHandler.identified($0, on: channel) })
                else { return .dontUpgrade }
                // From here on the connection carries frames, not requests: no request deadlines,
                // and no request in progress (an unauthenticated stream may be closed to make room).
                try await channel.pipeline.removeHandler(name: RequestDeadlineHandler.name).get()
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.handler(type: ConnectionSlotHandler.self).becameStream()
                }.get()
                return .upgrade([:], handler)
            })
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let (settings, slots) = (self.settings, self.slots)
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                RequestDeadlineHandler(settings: settings, logger: logger), name: RequestDeadlineHandler.name,
                position: .first)
            try channel.pipeline.syncOperations.addHandler(
                FirstByteDeadline(timeout: settings.idleTimeout), position: .first)
            try channel.pipeline.syncOperations.addHandler(ConnectionSlotHandler(book: slots), position: .first)
        }.flatMap { upgrading.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await upgrading.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the desk's connection deadlines (see `ConnectionSettings`).
    public static func desk(_ settings: ConnectionSettings, logger: Logger) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            DeskHTTP1Channel(
                responder: responder, settings: settings, slots: ConnectionSlotBook(settings: settings, logger: logger))
        }
    }

    /// `desk(_:)`, and Alpaca's WebSocket streams at their paths.
    public static func desk(_ settings: ConnectionSettings, streams: AlpacaStreams) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            DeskStreamingChannel(
                responder: responder, settings: settings, streams: streams,
                slots: ConnectionSlotBook(settings: settings, logger: streams.logger))
        }
    }
}

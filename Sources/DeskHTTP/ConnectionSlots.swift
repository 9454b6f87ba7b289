import Logging
import NIOCore
import Synchronization

/// Who may hold a listener's connections, as a pure state machine: each event
/// returns the connections to close (the caller closes them). Every connection
/// starts unauthenticated and becomes a member's at its first authenticated
/// request (or stream authentication). Unauthenticated peers never take the last
/// `reserved` slots from members: when unauthenticated connections would hold
/// more, or the listener is full, the oldest idle unauthenticated one is closed.
/// One address holds at most `perAddress` unauthenticated connections and one
/// member at most `perMember` connections; past either, that address's (or
/// member's) own oldest idle one goes, never another's. A stranger with a request
/// in progress is closed only when no stranger that sent something is idle, and
/// only once its response was sent (a member's first request on a new connection
/// completes); a connection that has not sent a byte yet (perhaps a member's whose
/// first request is on its way) goes only after all of those. A new connection
/// from an address whose every connection is busy is closed at once.
struct ConnectionSlots: Equatable {
    /// The limits of one listener.
    struct Limits: Equatable {
        /// Connections the listener holds at once.
        var maximum: Int
        /// Slots only authenticated connections may hold (at most half of `maximum`).
        var reserved: Int
        /// Unauthenticated connections one client address may hold.
        var perAddress: Int
        /// Connections one member may hold.
        var perMember: Int

        /// Unauthenticated connections the listener holds before it closes the oldest idle one.
        var unauthenticated: Int { maximum - min(reserved, maximum / 2) }
    }

    /// Why a connection was closed.
    enum Reason: String, Equatable {
        case unauthenticatedShare = "unauthenticated connections hold all the slots they may"
        case listenerFull = "the listener was full"
        case addressCap = "the client address holds its most unauthenticated connections"
        case memberCap = "the member holds their most connections"
    }

    /// What the caller does.
    enum Action: Equatable {
        case close(id: Int, Reason)
        /// Close it once the response in progress was sent.
        case closeAfterResponse(id: Int, Reason)
    }

    struct Connection: Equatable {
        var address: String
        var member: String?
        var busy = false
        /// It sent something: a connection that has not yet may be a member's whose
        /// first request is on its way, so it goes only after every used one.
        var used = false
        /// To be closed once its response was sent.
        var closing: Reason?
        /// Opening order: lower is older.
        var order: Int
    }

    let limits: Limits
    private(set) var connections: [Int: Connection] = [:]
    private var openings = 0

    init(limits: Limits) { self.limits = limits }

    /// A connection from `address` was accepted.
    mutating func opened(id: Int, address: String) -> [Action] {
        openings += 1
        connections[id] = Connection(address: address, order: openings)
        var actions: [Action] = []
        let fromAddress = unauthenticated { $0.address == address }
        if fromAddress.count > limits.perAddress {
            // The address's own oldest idle one goes; with none idle, the new one.
            let victim = oldestIdle(fromAddress, sparing: id) ?? id
            actions.append(close(victim, .addressCap))
            if victim == id { return actions }
        }
        while true {
            let strangers = unauthenticated { _ in true }
            let reason: Reason
            if strangers.count > limits.unauthenticated {
                reason = .unauthenticatedShare
            } else if connections.values.filter({ $0.closing == nil }).count >= limits.maximum {
                reason = .listenerFull
            } else {
                break
            }
            // A stranger that asked something goes first: idle at once, else busy once answered. One that
            // has not sent a byte yet may be a member whose first request is on its way: it goes last.
            if let victim = oldestIdle(strangers, sparing: id, used: true) {
                actions.append(close(victim, reason))
            } else if let victim = strangers.filter({ $0.key != id && $0.value.busy })
                .min(by: { $0.value.order < $1.value.order })?.key
            {
                connections[victim]?.closing = reason
                actions.append(.closeAfterResponse(id: victim, reason))
            } else if let victim = oldestIdle(strangers, sparing: id) {
                actions.append(close(victim, reason))
            } else {
                break
            }
        }
        return actions
    }

    /// A request's head arrived on the connection.
    mutating func requestStarted(id: Int) {
        connections[id]?.busy = true
        connections[id]?.used = true
    }

    /// The connection's response was sent in full (or it became a stream).
    mutating func requestEnded(id: Int) -> [Action] {
        guard let reason = connections[id]?.closing else {
            connections[id]?.busy = false
            return []
        }
        return [close(id, reason)]
    }

    /// A request (or stream) on the connection authenticated as `member`.
    mutating func authenticated(id: Int, member: String) -> [Action] {
        guard let connection = connections[id], connection.member != member else { return [] }
        connections[id]?.member = member
        connections[id]?.closing = nil  // a member's, no longer a stranger to make room with
        let own = connections.filter { $0.value.member == member && $0.value.closing == nil }
        guard own.count > limits.perMember, let victim = oldestIdle(own, sparing: id) else { return [] }
        return [close(victim, .memberCap)]
    }

    /// The connection closed.
    mutating func closed(id: Int) { connections[id] = nil }

    /// Strangers' connections not already being closed.
    private func unauthenticated(where include: (Connection) -> Bool) -> [Int: Connection] {
        connections.filter { $0.value.member == nil && $0.value.closing == nil && include($0.value) }
    }

    /// The oldest idle one of `candidates` that sent something, else the oldest idle one; with `used`,
    /// only one that sent something.
    private func oldestIdle(_ candidates: [Int: Connection], sparing spared: Int, used onlyUsed: Bool = false) -> Int? {
        let idle = candidates.filter { $0.key != spared && !$0.value.busy }
        let used = idle.filter { $0.value.used }
        return (used.isEmpty && !onlyUsed ? idle : used).min { $0.value.order < $1.value.order }?.key
    }

    /// Forgets `id` (the caller closes it) and says so.
    private mutating func close(_ id: Int, _ reason: Reason) -> Action {
        connections[id] = nil
        return .close(id: id, reason)
    }
}

/// One listener's `ConnectionSlots` and the channels behind them: it performs
/// the state machine's closes. Shared by the listener's connections.
final class ConnectionSlotBook: Sendable {
    private struct State {
        var slots: ConnectionSlots
        var channels: [Int: any Channel] = [:]
        var next = 0
    }

    private let state: Mutex<State>
    private let logger: Logger

    init(settings: ConnectionSettings, logger: Logger) {
        state = Mutex(
            State(
                slots: ConnectionSlots(
                    limits: .init(
                        maximum: settings.maximumConnections, reserved: settings.reservedConnections,
                        perAddress: settings.unauthenticatedPerAddress, perMember: settings.connectionsPerMember))))
        self.logger = logger
    }

    /// Registers a new connection; returns its id.
    func opened(_ channel: any Channel) -> Int {
        let address = channel.remoteAddress?.ipAddress ?? "unix socket"
        let (id, doomed) = state.withLock { state in
            let id = state.next
            state.next += 1
            state.channels[id] = channel
            return (id, Self.take(state.slots.opened(id: id, address: address), &state))
        }
        close(doomed)
        return id
    }

    func requestStarted(_ id: Int) { state.withLock { $0.slots.requestStarted(id: id) } }

    func requestEnded(_ id: Int) {
        let doomed = state.withLock { state in Self.take(state.slots.requestEnded(id: id), &state) }
        // After the response's last write went out (this runs within it).
        for (channel, reason) in doomed {
            channel.eventLoop.execute { self.close([(channel, reason)]) }
        }
    }

    func authenticated(_ id: Int, member: String) {
        close(state.withLock { state in Self.take(state.slots.authenticated(id: id, member: member), &state) })
    }

    func closed(_ id: Int) {
        state.withLock { state in
            state.slots.closed(id: id)
            state.channels[id] = nil
        }
    }

    /// The channels `actions` close, and why.
    private static func take(_ actions: [ConnectionSlots.Action], _ state: inout State) -> [(
        any Channel, ConnectionSlots.Reason
    )] {
        actions.compactMap { action in
            guard case .close(let id, let reason) = action, let channel = state.channels.removeValue(forKey: id)
            else { return nil }  // a close after the response waits for `requestEnded`
            return (channel, reason)
        }
    }

    private func close(_ doomed: [(any Channel, ConnectionSlots.Reason)]) {
        for (channel, reason) in doomed {
            logger.info(
                "closing an unauthenticated connection to keep slots for members",
                metadata: [
                    "reason": "\(reason.rawValue)",
                    "peer": "\(channel.remoteAddress.map { "\($0)" } ?? "unix socket")",
                ])
            channel.close(promise: nil)
        }
    }
}

/// First in every connection's pipeline: registers the connection with its
/// listener's `ConnectionSlotBook` and reports its requests and its member.
final class ConnectionSlotHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let book: ConnectionSlotBook
    private var id: Int?
    /// Between a request's first byte and its response's end.
    private var busy = false
    /// The connection carries a stream's frames, not requests.
    private var isStream = false

    init(book: ConnectionSlotBook) { self.book = book }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { register(context.channel) }
    }

    func channelActive(context: ChannelHandlerContext) {
        register(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        unregister()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { unregister() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A request is in progress from its first byte: a member's new connection
        // is never taken for an idle stranger's before its head is read.
        if !busy && !isStream, let id {
            busy = true
            book.requestStarted(id)
        }
        context.fireChannelRead(data)
    }

    private func register(_ channel: any Channel) {
        if id == nil { id = book.opened(channel) }
    }

    private func unregister() {
        if let id { book.closed(id) }
        id = nil
    }

    /// A response was sent in full.
    func requestEnded() {
        busy = false
        id.map(book.requestEnded)
    }

    /// The connection became a stream: no request is in progress on it from now on.
    func becameStream() {
        isStream = true
        requestEnded()
    }

    /// The connection authenticated as `member`.
    func authenticated(_ member: String) {
        if let id { book.authenticated(id, member: member) }
    }

    /// Tells `channel`'s handler, on its event loop, that the connection is `member`'s.
    static func identified(_ member: String, on channel: any Channel) {
        channel.eventLoop.execute {
            (try? channel.pipeline.syncOperations.handler(type: ConnectionSlotHandler.self))?.authenticated(member)
        }
    }
}

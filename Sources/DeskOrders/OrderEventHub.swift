import DeskCore
import DeskLedger
import Foundation
import Synchronization

/// One change the ledger booked for an order: the order after it, and the event.
public struct OrderEventNotice: Sendable {
    /// The order as it stands after the event.
    public var order: OrderRecord
    public var event: OrderEvent
    /// The fill's id, for fills.
    public var fillId: String?
    public var at: Date
    /// For a fill: the placing strategy's position in the order's symbol on its
    /// venue after it, as the ledger booked it; nil for other events.
    public var position: Decimal?

    public init(order: OrderRecord, event: OrderEvent, fillId: String?, at: Date, position: Decimal? = nil) {
        self.order = order
        self.event = event
        self.fillId = fillId
        self.at = at
        self.position = position
    }
}

/// Fans the order desk's booked events out to listeners (the `/v2` trading
/// stream), each through its own bounded buffer that keeps the newest events: a
/// listener that stops reading loses its oldest events and slows nobody.
public final class OrderEventHub: Sendable {
    private struct Listener {
        var member: String?
        /// Nil: every venue's orders.
        var venue: String?
        var continuation: AsyncStream<OrderEventNotice>.Continuation
    }

    private let listeners = Mutex<(next: Int, all: [Int: Listener])>((0, [:]))
    private let observers = Mutex<[@Sendable (OrderEventNotice) -> Void]>([])

    public init() {}

    /// Calls `observer` synchronously with every event, in booking order, before
    /// `publish` returns (strategies' event lines are merged into their feeds
    /// this way: after the booking, before any later tick). It must be cheap,
    /// never wait, and never publish.
    public func observe(_ observer: @escaping @Sendable (OrderEventNotice) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Events of `member`'s orders (every member's when nil) on `venue` (every
    /// venue's when nil), at most `capacity` waiting.
    public func listen(member: String?, venue: String? = nil, capacity: Int = 1024) -> OrderEventListener {
        let (stream, continuation) = AsyncStream.makeStream(
            of: OrderEventNotice.self, bufferingPolicy: .bufferingNewest(max(1, capacity)))
        let id = listeners.withLock { state in
            state.next += 1
            state.all[state.next] = Listener(member: member, venue: venue, continuation: continuation)
            return state.next
        }
        continuation.onTermination = { [weak self] _ in
            self?.listeners.withLock { _ = $0.all.removeValue(forKey: id) }
        }
        return OrderEventListener(events: stream, continuation: continuation)
    }

    /// How many listen now.
    public var listenerCount: Int { listeners.withLock { $0.all.count } }

    /// Hands `notice` to every listener of its member and venue. Never waits.
    public func publish(_ notice: OrderEventNotice) {
        for observer in observers.withLock({ $0 }) { observer(notice) }
        listeners.withLock { state in
            for listener in state.all.values
            where (listener.member == nil || listener.member == notice.order.member)
                && (listener.venue == nil || listener.venue == notice.order.venue)
            {
                listener.continuation.yield(notice)
            }
        }
    }
}

/// One listener of the hub: its events, until `stop()` ends them (and the hub forgets it).
public struct OrderEventListener: Sendable {
    /// The member's events as they are booked.
    public let events: AsyncStream<OrderEventNotice>
    let continuation: AsyncStream<OrderEventNotice>.Continuation

    /// Ends `events`: an iteration over them finishes after what is buffered.
    public func stop() { continuation.finish() }
}

import DeskCore
import DeskIdentity
import DeskLedger
import DeskOrders
import Foundation

/// One change the ledger booked for a member's order, with what a stream of
/// them shows beside it (the `/v2` trading stream's `trade_updates`).
public struct BookedOrderEvent: Sendable, Equatable {
    /// The order as it stands after the event.
    public var order: OrderRecord
    public var event: OrderEvent
    /// The fill's id, for fills.
    public var fillId: String?
    public var at: Date
    /// The member's client order id for the order; nil when they gave none.
    public var clientOrderId: String?
    /// After a fill: the member's position in the order's symbol on its venue (0 when flat); nil for other events.
    public var positionQty: Decimal?

    /// `order` after `event`, with the member's figures beside it.
    public init(
        order: OrderRecord, event: OrderEvent, fillId: String?, at: Date, clientOrderId: String?,
        positionQty: Decimal?
    ) {
        self.order = order
        self.event = event
        self.fillId = fillId
        self.at = at
        self.clientOrderId = clientOrderId
        self.positionQty = positionQty
    }
}

/// A member's order events as the order desk books them, each with its client
/// order id and, after a fill, the member's position. Every listener has its own
/// bounded buffer (the newest events kept): one that stops reading loses its
/// oldest events and slows nobody.
public struct OrderEvents: Sendable {
    let hub: OrderEventHub
    let ledger: Ledger
    /// The venue of a token issued without one.
    let defaultVenue: String

    /// The events `hub` fans out, completed from `ledger`.
    public init(hub: OrderEventHub, ledger: Ledger, defaultVenue: String = "") {
        self.hub = hub
        self.ledger = ledger
        self.defaultVenue = defaultVenue
    }

    /// The events of the caller's member's orders on the caller's venue from now on
    /// (an admin's too: their own), at most `capacity` events waiting.
    public func listen(for caller: Caller, capacity: Int = 1024) -> OrderEventsListener {
        let venue = ReadScope.own(caller, defaultVenue: defaultVenue)
        return OrderEventsListener(
            listener: hub.listen(member: caller.member, venue: venue.isEmpty ? nil : venue, capacity: capacity),
            ledger: ledger)
    }

    /// `notice` with the client order id of its order and, after a fill, the
    /// member's position in its symbol. A ledger read that fails leaves its figure
    /// out (no client order id; a position of 0), as the stream always did.
    static func booked(_ notice: OrderEventNotice, ledger: Ledger) async -> BookedOrderEvent {
        let order = notice.order
        let clientOrderId = (try? await ledger.clientOrderIds(orderIds: [order.orderId]))?[order.orderId]
        var positionQty: Decimal?
        if case .fill = notice.event {
            positionQty =
                (try? await ledger.positions(member: order.member, venue: order.venue))?.first {
                    $0.symbol == order.symbol
                }?.qty ?? 0
        }
        return BookedOrderEvent(
            order: order, event: notice.event, fillId: notice.fillId, at: notice.at, clientOrderId: clientOrderId,
            positionQty: positionQty)
    }
}

/// One listener of `OrderEvents`: its events, until `stop()` ends them.
public struct OrderEventsListener: Sendable {
    let listener: OrderEventListener
    let ledger: Ledger

    /// The member's order events as they are booked; they end after `stop()`.
    public var events: AsyncMapSequence<AsyncStream<OrderEventNotice>, BookedOrderEvent> {
        let ledger = self.ledger
        return listener.events.map { await OrderEvents.booked($0, ledger: ledger) }
    }

    /// Ends `events`: an iteration over them finishes after what is buffered.
    public func stop() { listener.stop() }
}

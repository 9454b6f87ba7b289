import DeskCore
import Foundation

/// What Alpaca says an order looks like at one moment: its status and its
/// cumulative fills. Every source — the order endpoint's answer, a
/// `trade_updates` event, a poll — reduces to this.
public struct OrderSnapshot: Sendable, Equatable {
    public var status: String
    public var filledQty: Decimal
    public var filledAvgPrice: Decimal?
    /// For a `replaced` order: the desk's id of the order that replaced it, when it is the desk's.
    public var replacedBy: String?

    public init(status: String, filledQty: Decimal, filledAvgPrice: Decimal?, replacedBy: String? = nil) {
        self.status = status
        self.filledQty = filledQty
        self.filledAvgPrice = filledAvgPrice
        self.replacedBy = replacedBy
    }
}

/// One order as the desk has booked it so far.
public struct FollowedOrder: Sendable, Equatable {
    public var filledQty: Decimal
    /// Sum of quantity × price booked (exact).
    public var filledNotional: Decimal
    /// The desk has booked that Alpaca took the order.
    public var acknowledged: Bool
    /// Filled, canceled, expired or rejected: nothing more will be booked.
    public var finished: Bool

    public init(filledQty: Decimal = 0, filledNotional: Decimal = 0, acknowledged: Bool = false, finished: Bool = false)
    {
        self.filledQty = filledQty
        self.filledNotional = filledNotional
        self.acknowledged = acknowledged
        self.finished = finished
    }
}

/// Turns Alpaca's view of an order into the desk's events, exactly once.
///
/// Fills are derived from the *cumulative* filled quantity, not from the events
/// themselves, so a duplicated event adds nothing, an event that arrives late
/// (after a later one) adds nothing, and fills missed while the stream was down
/// are caught up by the next snapshot, whatever its source. A fill's id is the
/// order's cumulative quantity after it, the same however the fill was learned.
public enum OrderFollower {
    /// Statuses after which Alpaca changes nothing more.
    static let finalStatuses: Set<String> = ["filled", "canceled", "expired", "rejected", "replaced"]
    /// Statuses that mean Alpaca has the order.
    static let workingStatuses: Set<String> = [
        "new", "accepted", "pending_new", "partially_filled", "done_for_day", "accepted_for_bidding", "calculated",
        "pending_cancel", "pending_replace", "stopped", "suspended", "held",
    ]

    /// The updates that bring `followed` up to `snapshot` (learned at `at`), and
    /// the order as booked after them. `eventFill` is the fill a `trade_updates`
    /// event reported (its own quantity and price), used as the price when it
    /// accounts for exactly the new quantity.
    public static func advance(
        _ followed: FollowedOrder, to snapshot: OrderSnapshot, orderId: String, at: Date,
        eventFill: (qty: Decimal, price: Decimal)? = nil
    ) -> (updates: [OrderUpdate], followed: FollowedOrder) {
        var state = followed
        var events: [OrderUpdate] = []
        if state.finished { return ([], state) }
        let event = { (event: OrderEvent) in OrderUpdate(orderId: orderId, event: event, at: at) }
        let known = finalStatuses.contains(snapshot.status) || workingStatuses.contains(snapshot.status)
        // A held exit is not working yet: it is accepted when it activates (held → new).
        if !state.acknowledged && snapshot.status != "rejected" && snapshot.status != "held" && known {
            events.append(event(.accepted))
            state.acknowledged = true
        }
        let newQty = snapshot.filledQty - state.filledQty
        if newQty > 0, let price = fillPrice(state, snapshot: snapshot, newQty: newQty, eventFill: eventFill) {
            events.append(
                .fill(orderId: orderId, qty: newQty, price: price, cumulativeQty: snapshot.filledQty, at: at))
            state.filledQty = snapshot.filledQty
            state.filledNotional += newQty * price
        }
        switch snapshot.status {
        case "filled":
            state.finished = state.filledQty > 0
        case "canceled":
            events.append(event(.canceled(reason: "canceled at Alpaca")))
            state.finished = true
        case "replaced":
            if let newOrderId = snapshot.replacedBy {
                events.append(event(.replaced(by: newOrderId)))
            } else {
                events.append(event(.canceled(reason: "replaced at Alpaca, outside the desk")))
            }
            state.finished = true
        case "expired":
            events.append(event(.expired))
            state.finished = true
        case "rejected":
            events.append(event(.rejected(reason: "rejected by Alpaca")))
            state.finished = true
        default:
            break
        }
        return (events, state)
    }

    /// The price of the quantity filled since the last booking: the event's own
    /// price when the event is exactly that fill; otherwise what the cumulative
    /// average implies (rounded to 6 places, as prices are).
    static func fillPrice(
        _ followed: FollowedOrder, snapshot: OrderSnapshot, newQty: Decimal,
        eventFill: (qty: Decimal, price: Decimal)?
    ) -> Decimal? {
        if let eventFill, eventFill.qty == newQty, eventFill.price > 0 { return eventFill.price }
        guard let average = snapshot.filledAvgPrice, average > 0 else { return eventFill?.price }
        let implied = (average * snapshot.filledQty - followed.filledNotional) / newQty
        let rounded = ExactDecimal.rounded(implied, scale: 6)
        return rounded > 0 ? rounded : average
    }
}

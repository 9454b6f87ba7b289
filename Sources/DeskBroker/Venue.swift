import DeskCore
import Foundation
import ServiceLifecycle

/// What kind of venue a venue is: the `broker` of its entry in the config file
/// (`paper`, `alpaca`). Kinds are registered (`VenueKinds`), not a closed list,
/// so a new broker is one new kind and its factory.
public struct VenueKind: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The embedded paper broker.
    public static let paper = VenueKind("paper")
    /// An Alpaca account (paper or live).
    public static let alpaca = VenueKind("alpaca")

    public var description: String { rawValue }
    public static func < (lhs: VenueKind, rhs: VenueKind) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What a venue can do beyond taking and canceling orders: what generic code
/// (the desk, the page, the CLI) asks instead of which broker it is.
public struct VenueCapabilities: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// It has an account of its own the ledger can drift from, and can be reconciled with (`account`).
    public static let reconciles = VenueCapabilities(rawValue: 1 << 0)
    /// It expires day orders at its own session close; otherwise the desk calls
    /// `closeSession(at:)` at each close of its calendar.
    public static let expiresDayOrders = VenueCapabilities(rawValue: 1 << 1)
    /// It trades only in the exchange's sessions (its clock opens and closes);
    /// without it the venue fills at any hour (the paper broker).
    public static let keepsMarketHours = VenueCapabilities(rawValue: 1 << 2)
    /// Canceling an order cancels its open exits (a bracket's, an oto's, an oco's
    /// other order) at the venue itself, reported as their own events; otherwise
    /// the desk cancels each open exit after its order.
    public static let cancelsExitsWithOrder = VenueCapabilities(rawValue: 1 << 3)
}

/// When a new order has to be durable, which decides how many commits an order costs.
public enum VenueJournaling: Sendable, Equatable {
    /// The venue decides in this process (the paper broker): its answer and the
    /// order are written in one transaction, and nothing left the process before it.
    case withDecision
    /// The venue is outside the process (Alpaca): the order is journaled before
    /// it leaves, and what the venue answered is booked in a second transaction.
    case beforeSubmission
}

/// A place orders go, by name (`paper`, `live`): the embedded paper broker, an
/// Alpaca paper account, the Alpaca live account. One desk holds several
/// (`Venues`); each has its own connection, rate budget and open orders.
///
/// What venues share is not here: last prices live in the desk's one
/// `PriceBook`, the session close in its `SessionCalendar`.
///
/// `submit` and `cancel` return what happened at once (a marketable order may
/// fill immediately); what happens later (resting orders filling, expiring)
/// arrives on `updates`.
public protocol Venue: Sendable {
    /// The venue's name in the configuration (`paper`, `alpaca`, `live`).
    var name: String { get }
    /// Which factory made it.
    var kind: VenueKind { get }
    /// What it can do (reconcile, expire day orders itself, keep market hours).
    var capabilities: VenueCapabilities { get }
    /// What orders this venue takes (fractional shares, maximums).
    var orderRules: OrderRules { get }
    /// When a new order must be durable relative to `submit`.
    var journaling: VenueJournaling { get }
    /// Sends a new order. Idempotent per order id; `resubmission` says a desk that
    /// stopped before hearing the answer sent it before.
    nonisolated(nonsending) func submit(_ order: Order, resubmission: Bool) async throws(BrokerError) -> [OrderUpdate]
    /// Asks to cancel a working order.
    nonisolated(nonsending) func cancel(orderId: String) async throws(BrokerError) -> [OrderUpdate]
    /// Replaces the working order `orderId` by `order` (a new id; Alpaca's
    /// `PATCH /v2/orders/{id}`): the old one ends `replaced`, the new one works
    /// with what the old had not filled. Venues that cannot refuse with `invalidOrder`.
    nonisolated(nonsending) func replace(orderId: String, with order: Order) async throws(BrokerError)
        -> [OrderUpdate]
    /// A working trailing stop's high-water mark (a buy's low), when the venue
    /// follows it (default: nil).
    func highWaterMark(orderId: String) -> Decimal?
    /// Forgets an order the desk could not record after `submit` decided it
    /// (only venues that journal `withDecision` are asked).
    func forget(orderId: String)
    /// Takes back orders the ledger says are open (after a desk restart), and
    /// reports what happened to each while the desk was away.
    nonisolated(nonsending) func restore(_ openOrders: [WorkingOrder]) async throws(BrokerError) -> [OrderUpdate]
    /// Later events, in the order they happened. One consumer.
    var updates: AsyncStream<OrderUpdate> { get }
    /// The session closed at `at`: working day orders expire (their updates
    /// arrive on `updates`). Called only for venues without `expiresDayOrders`.
    func closeSession(at: Date)
    /// What must run while the venue is in use (Alpaca's stream and poller); nil for none.
    var service: (any Service)? { get }
    /// The venue's own account, when it has one to reconcile the ledger with (`reconciles`).
    var reconciling: (any ReconcilingVenue)? { get }
    /// Ends `updates` (the desk is done with the venue).
    func finish()
}

extension Venue {
    /// A working trailing stop's high-water mark (a buy's low) as the venue follows
    /// it (`hwm` on `/v2`); nil when the venue does not know it.
    public func highWaterMark(orderId: String) -> Decimal? { nil }

    /// Venues that do not replace orders refuse.
    public nonisolated(nonsending) func replace(orderId: String, with order: Order) async throws(BrokerError)
        -> [OrderUpdate]
    {
        throw .refused(
            reason: "venue \(name) cannot replace orders: cancel the order and place a new one", kind: .invalidOrder)
    }
}

/// A venue with an account of its own (Alpaca), which the ledger can drift from.
public protocol ReconcilingVenue: Sendable {
    /// Checks `openOrders` at the venue: the updates the ledger missed, and the
    /// orders the venue does not know.
    func catchUp(openOrders: [WorkingOrder]) async throws(BrokerError) -> (updates: [OrderUpdate], unknown: [String])
    /// The account as the venue has it: open orders and positions.
    func account() async throws(BrokerError) -> BrokerAccount
    /// The splits and dividends the venue applied to its account with ex-dates in `days`
    /// (Alpaca's corporate-action announcements); the desk applies them to its books once.
    func corporateActions(_ days: ClosedRange<TradingDay>) async throws(BrokerError) -> [CorporateAction]
}

extension ReconcilingVenue {
    /// A venue that reports no corporate actions.
    public func corporateActions(_ days: ClosedRange<TradingDay>) async throws(BrokerError) -> [CorporateAction] {
        []
    }
}

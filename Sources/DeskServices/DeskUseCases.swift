import DeskBroker
import DeskCore
import DeskIdentity
import DeskLedger
import DeskOrders
import DeskPromotion
import DeskRunner
import Foundation
import Logging

/// Every use case a face works with, built once by the composition root over
/// the desk's engines (ledger, order desk, venues, prices, supervisor): the faces
/// hold this and never the engines themselves.
public struct DeskUseCases: Sendable {
    /// Orders, cancels and closes, each on its caller's venue.
    public let trading: Trading
    /// Positions, account, orders and fills, P&L.
    public let portfolio: Portfolio
    /// The desk's kill switches.
    public let switches: KillSwitches
    /// Issuing, listing and revoking tokens.
    public let tokenAdministration: TokenAdministration
    /// Each venue's book against the ledger's (the venues that reconcile).
    public let reconciliation: VenueReconciliation
    /// Members' order events as they are booked.
    public let orderEvents: OrderEvents
    /// Who a request's token names.
    public let tokens: TokenAuthenticator
    /// Moving strategies between venues: requests, approvals, the desk's demotions.
    public let promotions: Promotions
    /// Backtests members submit (nil: this desk runs none, as a backtest's own desk).
    public let backtests: Backtests?
    let supervisor: Supervisor?
    let deployer: StrategyDeployer?
    let ledger: Ledger
    /// Where strategies run unless the ledger moved them.
    let defaultVenue: String

    /// The use cases over `ledger` and `orderDesk`, orders going to `venues`' default
    /// venue, positions valued at `prices`; `supervisor` and `deployer` when the desk
    /// runs strategies, `reconcilers` one per venue with an account of its own;
    /// strategies move between venues by `promotionRules` (none given: every venue at once)
    /// and the desk demotes them to `demotionVenue`; `pauseAfterMove` is a test's hook;
    /// `backtests` when the desk runs members' submitted backtests.
    public init(
        ledger: Ledger, orderDesk: OrderDesk, venues: Venues, prices: PriceBook, supervisor: Supervisor?,
        deployer: StrategyDeployer?, reconcilers: [Reconciler], promotionRules: PromotionRules? = nil,
        demotionVenue: String = "paper", pauseAfterMove: Duration? = nil, backtests: Backtests? = nil,
        logger: Logger = Logger(label: "desk")
    ) {
        self.backtests = backtests
        self.ledger = ledger
        self.supervisor = supervisor
        self.deployer = deployer
        defaultVenue = venues.defaultVenue.name
        trading = Trading(desk: orderDesk, ledger: ledger, orderRules: venues.defaultVenue.orderRules)
        portfolio = Portfolio(
            ledger: ledger, lastPrice: { prices.lastPrice($0) }, defaultVenue: venues.defaultVenue.name,
            venueNames: venues.names)
        switches = KillSwitches(desk: orderDesk)
        tokenAdministration = TokenAdministration(
            ledger: ledger, venueNames: venues.names, defaultVenue: venues.defaultVenue.name)
        reconciliation = VenueReconciliation(reconcilers: reconcilers, venueNames: venues.names)
        orderEvents = OrderEvents(hub: orderDesk.events, ledger: ledger, defaultVenue: venues.defaultVenue.name)
        tokens = TokenAuthenticator(ledger: ledger, defaultVenue: venues.defaultVenue.name)
        let defaultVenue = venues.defaultVenue.name
        promotions = Promotions(
            rules: promotionRules
                ?? PromotionRules(
                    venues: Dictionary(uniqueKeysWithValues: venues.names.map { ($0, VenueEntryRules()) })),
            ledger: ledger, defaultVenue: defaultVenue,
            demotionVenue: venues[demotionVenue] == nil ? defaultVenue : demotionVenue, supervisor: supervisor,
            cancelOpenOrders: { member, strategy, venue in
                try await orderDesk.cancelOpenOrders(member: member, strategy: strategy, venue: venue).map(\.orderId)
            },
            lastPrice: { prices.lastPrice($0) }, pauseAfterMove: pauseAfterMove, logger: logger)
    }

    /// Strategy management for a face that words its answers (for the audit log) with `answer`.
    public func strategies(answer: @escaping FaceAnswer) -> Strategies {
        Strategies(
            supervisor: supervisor, deployer: deployer, ledger: ledger, defaultVenue: defaultVenue, answer: answer)
    }
}

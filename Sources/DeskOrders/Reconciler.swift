import DeskBroker
import DeskCore
import DeskLedger
import Foundation
import Logging
import ServiceLifecycle

/// Checks the ledger against a venue's own account (Alpaca's): that venue's open
/// orders (booking any fill, cancel or expiry the ledger missed), orders placed
/// outside the desk, and each symbol's account position against the sum of the
/// members' positions in that venue's book.
public struct Reconciler: Sendable {
    let ledger: Ledger
    /// The venue's name, for logs.
    public let venueName: String
    let account: any ReconcilingVenue
    let orderDesk: OrderDesk
    let clock: any DeskClock

    /// A reconciler of `ledger` (through `orderDesk`) with `venue`'s account; nil when the venue has none.
    public init?(ledger: Ledger, venue: any Venue, orderDesk: OrderDesk, clock: any DeskClock = WallClock()) {
        guard venue.capabilities.contains(.reconciles), let account = venue.reconciling else { return nil }
        self.ledger = ledger
        self.venueName = venue.name
        self.account = account
        self.orderDesk = orderDesk
        self.clock = clock
    }

    /// Catches up (order events, then the venue's corporate actions), then compares.
    public func run() async throws -> ReconciliationReport {
        let open = try await ledger.openOrders(venue: venueName).filter { $0.status != .pendingNew }
        let (updates, unknown) = try await account.catchUp(openOrders: open.map(\.working))
        await orderDesk.apply(updates)
        try await applyCorporateActions()
        let held = try await account.account()
        var deskPositions: [String: Decimal] = [:]
        let book = try await ledger.positions(member: nil, venue: venueName)
        for position in book {
            deskPositions[position.symbol, default: 0] += position.qty
        }
        let openNow = try await ledger.openOrders(venue: venueName)
        var report = Reconciliation.compare(
            deskOrderIds: Set(openNow.map(\.orderId)), deskPositions: deskPositions, account: held,
            openOrdersChecked: open.count, eventsCaughtUp: updates.count, unknownToBroker: unknown, at: clock.now())
        let members = Set(book.map(\.member)).union(openNow.map(\.member))
            .union(orderDesk.policy.members.keys).union(orderDesk.policy.venueCapital.keys)
        report.venue = venueName
        report.capital = ReconciliationReport.CapitalSummary(
            allocations: Self.allocations(of: members, venue: venueName, policy: orderDesk.policy),
            brokerEquity: held.equity)
        return report
    }

    /// The splits and dividends the venue applied to its account (ex-dates in the last 30 days)
    /// go into its books, each once; the venue cancels its own orders. Returns how many were new.
    @discardableResult
    public func applyCorporateActions() async throws -> Int {
        let today = SessionCalendar().day(of: clock.now())
        var applied = 0
        for action in try await account.corporateActions(today.adding(days: -30)...today) {
            if try await orderDesk.applyCorporateAction(action, venue: venueName, price: nil, cancelOrders: false)
                != nil
            {
                applied += 1
            }
        }
        return applied
    }

    /// The capital allocation on `venue` of each of `members` that has one.
    static func allocations(of members: Set<String>, venue: String, policy: RiskPolicy) -> [String: Decimal] {
        var allocations: [String: Decimal] = [:]
        for member in members { allocations[member] = policy.capital(for: member, venue: venue) }
        return allocations
    }

    /// Log lines for a report.
    public static func log(_ report: ReconciliationReport, to logger: Logger) {
        if report.isClean {
            logger.info(
                "reconciled with the broker: ledger and account agree",
                metadata: [
                    "venue": "\(report.venue ?? "")",
                    "open_orders": "\(report.open_orders_checked)", "caught_up": "\(report.events_caught_up)",
                ])
            return
        }
        for order in report.outside_orders {
            logger.warning(
                "the broker has an open order the desk did not place",
                metadata: [
                    "broker_id": "\(order.alpaca_id)", "symbol": "\(order.symbol ?? "?")",
                    "side": "\(order.side ?? "?")",
                    "qty": "\(order.qty ?? "?")",
                ])
        }
        for orderId in report.unknown_to_broker {
            logger.error("an open order in the ledger is unknown to the broker", metadata: ["order_id": "\(orderId)"])
        }
        for difference in report.position_differences {
            logger.warning(
                "position drift: the members' positions do not add up to the account's",
                metadata: [
                    "symbol": "\(difference.symbol)", "desk": "\(difference.desk)", "broker": "\(difference.broker)",
                ])
        }
    }
}

/// Reconciles once the order desk has recovered, logs what it found, and then
/// stays up (a service that returns would stop the desk).
public struct StartupReconciliation: Service {
    let reconciler: Reconciler
    let orderDesk: OrderDesk
    let logger: Logger

    /// Runs `reconciler` once `orderDesk` is ready.
    public init(reconciler: Reconciler, orderDesk: OrderDesk, logger: Logger) {
        self.reconciler = reconciler
        self.orderDesk = orderDesk
        self.logger = logger
    }

    /// Reconciles, logs, then waits for shutdown.
    public func run() async throws {
        await orderDesk.ready()
        do {
            Reconciler.log(try await reconciler.run(), to: logger)
        } catch {
            logger.error("could not reconcile with the broker at start", metadata: ["error": "\(error)"])
        }
        try? await gracefulShutdown()
    }
}

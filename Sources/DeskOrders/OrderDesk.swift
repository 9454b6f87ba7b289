import DeskBroker
import DeskCore
import DeskLedger
import Foundation
import Logging
import ServiceLifecycle

/// What a face answers an order request's outcome with, kept in its audit
/// line (`http_status`); nil records none. The application gives it (the seed
/// route's table, `seedOrderStatus`), so the order desk decides no face's answer.
public typealias ReportedStatus = @Sendable (OrderDesk.Placement) -> Int?

/// The order pipeline: admission (`Admission`, pure) → ledger → broker → ledger.
/// It asks the machine and performs the action it returns; one actor per desk,
/// so the machine sees every order before the next.
///
/// With a broker that decides in this process (paper) an order costs one
/// transaction: the broker decides, and the order in its resulting state, its
/// fills, positions and audit line are written together before the reply. With
/// a broker outside the process (Alpaca) the order is journaled before it is
/// sent and what the broker answered is booked in a second transaction.
///
/// Every order goes to its own venue (`Order.venue`, the placing caller's; empty
/// means the default venue): it is submitted, canceled, restored and booked there,
/// under that venue's order rules.
///
/// As a `Service` it recovers at start and then books the broker's later
/// updates (resting orders filling, expiring).
public actor OrderDesk: Service {
    let ledger: Ledger
    /// Every venue of the desk; each order goes to its own (`Order.venue`).
    public nonisolated let venues: Venues
    /// The desk's last prices, which admission values orders with.
    let prices: PriceBook
    let metrics: any OrderDeskMetrics
    let logger: Logger
    let clock: any DeskClock
    let reportedStatus: ReportedStatus
    /// The desk's risk configuration (capital allocations included).
    public let policy: RiskPolicy
    private var admission: Admission
    /// Told when positions changed outside fills (a corporate action), after the ledger has them.
    private var bookWatchers: [@Sendable () async -> Void] = []
    /// Every change the ledger booked for an order, as it happens (the `/v2` `trade_updates` stream).
    public nonisolated let events = OrderEventHub()
    private let recovered = OneShot<Void>()

    /// An order desk over `ledger` and `venues`, valuing orders at `prices`; `clock` gives times and order ids;
    /// `reportedStatus` what the faces answer each outcome with (for the audit log).
    public init(
        ledger: Ledger, venues: Venues, prices: PriceBook, policy: RiskPolicy, metrics: any OrderDeskMetrics,
        logger: Logger, clock: any DeskClock = WallClock(), reportedStatus: @escaping ReportedStatus
    ) {
        self.reportedStatus = reportedStatus
        self.ledger = ledger
        self.venues = venues
        self.prices = prices
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        admission = Admission(
            policy: policy, rules: venues.defaultVenue.orderRules,
            venueRules: Dictionary(
                venues.all.map { ($0.name, $0.orderRules) }, uniquingKeysWith: { first, _ in first }),
            defaultVenue: venues.defaultVenue.name)
        self.policy = policy
    }

    /// The venue `order` goes to (the default one for an order without a venue);
    /// nil when the desk no longer has it (its configuration changed).
    nonisolated func venue(of order: Order) -> (any Venue)? {
        order.venue.isEmpty ? venues.defaultVenue : venues[order.venue]
    }

    /// The venue named `name` (empty: the default venue), or why there is none:
    /// a token's venue the desk does not have (its configuration changed).
    public nonisolated func venue(named name: String) -> Result<any Venue, OrderValidationError> {
        if name.isEmpty { return .success(venues.defaultVenue) }
        if let venue = venues[name] { return .success(venue) }
        return .failure(
            OrderValidationError(
                field: "venue",
                message:
                    "venue \"\(name)\" is not one of this desk's venues (\(venues.names.joined(separator: ", "))); ask an admin for a token on one of them"
            ))
    }

    /// Returns once recovery is done and orders may be taken.
    public func ready() async {
        await recovered.wait()
    }

    /// Rebuilds state from the ledger and hands open orders back to the broker.
    /// Orders journaled but never confirmed by the broker are submitted again
    /// (idempotent: the broker knows them by the desk's order id).
    /// Rows the ledger kept from before venues are the default venue's: they are
    /// given that venue first (once; the migration does not guess one).
    public func recover() async throws {
        let adopted = try await ledger.adoptUnassignedRows(venue: venues.defaultVenue.name)
        if !adopted.isEmpty {
            logger.notice(
                "rows written before venues adopted by the default venue",
                metadata: [
                    "venue": "\(venues.defaultVenue.name)",
                    "rows":
                        "\(adopted.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))",
                ])
        }
        let open = try await ledger.openOrders()
        let positions = try await ledger.positions(member: nil)
        admission.restore(books: positions, open: open.map(\.working), halts: try await ledger.halts())
        // Venues take each order with its open legs; a leg whose order is final goes on its own.
        let openIds = Set(open.map(\.orderId))
        let orders = open.filter { record in record.parentId.map { !openIds.contains($0) } ?? true }
        let working = orders.filter { $0.status != .pendingNew }
        for record in open where venue(of: record.order) == nil {
            logger.error(
                "an open order is on a venue the desk no longer has; it is left as it is",
                metadata: ["order_id": "\(record.orderId)", "venue": "\(record.venue)"])
        }
        // Each venue takes back its own open orders only.
        for venue in venues.all {
            let own = working.filter { self.venue(of: $0.order)?.name == venue.name }
            if own.isEmpty { continue }
            do {
                await apply(
                    try await venue.restore(
                        own.map { record in
                            var working = record.working
                            working.order.legs = record.legs.filter(\.status.isOpen).map(\.order)
                            return working
                        }))
            } catch {
                logger.error(
                    "broker could not take back open orders", metadata: ["venue": "\(venue.name)", "error": "\(error)"])
            }
        }
        for record in orders where record.status == .pendingNew && venue(of: record.order) != nil {
            _ = await send(record, resubmission: true)
        }
        logger.info(
            "order desk recovered",
            metadata: ["open_orders": "\(working.count)", "resubmitted": "\(orders.count - working.count)"])
    }

    /// Recovers from the ledger, then books the broker's later updates until
    /// the stream ends or the service stops.
    public func run() async throws {
        try await recover()
        recovered.fire()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for venue in venues.all {
                    group.addTask {
                        for await update in venue.updates.cancelOnGracefulShutdown() {
                            await self.apply([update])
                        }
                    }
                }
            }
        } onGracefulShutdown: {
        }
    }

    // MARK: Placing orders

    /// What became of an order request.
    public enum Placement: Sendable {
        /// Recorded and at the broker; the order as it stands now.
        case accepted(OrderRecord)
        /// The ticket is malformed.
        case invalid(OrderValidationError)
        /// A pre-trade limit refused it.
        case riskRejected(RiskRejection)
        /// Over the member's order rate.
        case rateLimited(String)
        /// A kill switch is on.
        case halted(String)
        /// A kill switch came on after the order was journaled: recorded as rejected, never sent.
        case stopped(OrderRecord, String)
        /// The broker refused it; the order is recorded as rejected.
        case brokerRefused(OrderRecord, reason: String, kind: BrokerRefusal)
        /// The desk itself failed (storage or broker unreachable).
        case failed(String)
    }

    /// Runs an order ticket through the whole pipeline for `member` (placed by
    /// `strategy`, empty when the member placed it) on `venue` (the caller's;
    /// empty: the default venue). A venue the desk does not have is refused (`invalid`, field `venue`).
    public func place(_ ticket: OrderTicket, member: String, strategy: String, venue: String = "") async
        -> Placement
    {
        let started = ContinuousClock.now
        let (placement, audited): (Placement, Bool)
        switch self.venue(named: venue) {
        case .failure(let error): (placement, audited) = (.invalid(error), false)
        case .success(let target):
            (placement, audited) = await placeOrder(ticket, member: member, strategy: strategy, venue: target)
        }
        metrics.recordOrder(outcome: placement.outcome, duration: .now - started)
        if !audited { await audit(placement, member: member, strategy: strategy) }
        return placement
    }

    /// The placement, and whether its audit line is written already.
    private func placeOrder(_ ticket: OrderTicket, member: String, strategy: String, venue: any Venue) async
        -> (Placement, Bool)
    {
        let quote = prices.quote(ticket.symbol)
        let decision = admission.admit(
            ticket, member: member, strategy: strategy, venue: venue.name, orderId: clock.newOrderId(),
            now: clock.now(), lastPrice: prices.marketPrice(ticket.symbol, side: Side(rawValue: ticket.side)),
            bid: quote?.bid, ask: quote?.ask, newLegId: clock.newOrderId)
        switch decision {
        case .refuse(.invalid(let error)): return (.invalid(error), false)
        case .refuse(.halted(let message)): return (.halted(message), false)
        case .refuse(.rateLimited(let message)): return (.rateLimited(message), false)
        case .refuse(.risk(let rejection)): return (.riskRejected(rejection), false)
        case .journal(let order):
            switch venue.journaling {
            case .withDecision: return await decideAndRecord(order)
            case .beforeSubmission:
                let placement = await journalAndSend(order)
                if case .accepted = placement { return (placement, true) }
                return (placement, false)
            }
        }
    }

    /// A broker in this process decides first; the order, what it decided and the
    /// audit line are then written in one transaction (so it is audited unless that failed).
    private func decideAndRecord(_ order: Order) async -> (Placement, Bool) {
        var updates: [OrderUpdate]
        var refusal: (reason: String, kind: BrokerRefusal)?
        let venue = venue(of: order) ?? venues.defaultVenue
        do {
            updates = try await venue.submit(order, resubmission: false)
        } catch {
            switch error {
            case .refused(let reason, let kind):
                refusal = (reason, kind)
                updates = [OrderUpdate(orderId: order.id, event: .rejected(reason: reason), at: clock.now())]
            case .unavailable(let reason):
                admission.journalFailed(order.id)
                return (.failed("the broker could not take the order: \(reason)"), false)
            }
        }
        let audit =
            refusal.map {
                let refused = Placement.brokerRefused(
                    OrderRecord(order, progress: OrderProgress(qty: order.terms.qty)), reason: $0.reason, kind: $0.kind)
                return AuditEvent(
                    at: order.placedAt, member: order.member, strategy: order.strategy, action: .order,
                    orderId: order.id, outcome: .brokerRejected, httpStatus: reportedStatus(refused),
                    detail: refused.refusalMessage)
            } ?? acceptedAudit(order)
        let recorded: Ledger.RecordedOrder
        do {
            recorded = try await ledger.record(order, updates: updates, audit: audit)
        } catch {
            admission.journalFailed(order.id)
            venue.forget(orderId: order.id)
            logger.error(
                "order could not be recorded", metadata: ["member": "\(order.member)", "error": "\(error)"])
            return (.failed("the desk could not record the order: \(error)"), false)
        }
        let record = recorded.order
        let orders = [record] + record.legs
        var positions = recorded.positions.makeIterator()
        for update in updates {
            var position: Decimal?
            if case .fill = update.event { position = positions.next() }
            noteBooked(update, order: orders.first { $0.orderId == update.orderId } ?? record, position: position)
        }
        for each in orders { await apply(admission.recorded(each.orderId, progress: each.progress)) }
        if let refusal { return (.brokerRefused(record, reason: refusal.reason, kind: refusal.kind), true) }
        return (.accepted(record), true)
    }

    /// A broker outside the process: the order is durable before it leaves, then
    /// sent, then what the broker answered is booked.
    private func journalAndSend(_ order: Order) async -> Placement {
        do {
            try await ledger.journal(order, audit: acceptedAudit(order))
        } catch {
            admission.journalFailed(order.id)
            logger.error("journal write failed", metadata: ["member": "\(order.member)", "error": "\(error)"])
            return .failed("the desk could not record the order: \(error)")
        }
        let journaled = OrderRecord(order, progress: OrderProgress(qty: order.terms.qty))
        switch admission.journaled(order.id) {
        case .send:
            return await send(journaled, resubmission: false)
        case .stop(_, let reason):
            let rejected = OrderUpdate(orderId: order.id, event: .rejected(reason: reason), at: clock.now())
            return .stopped(await apply([rejected]).last ?? journaled, reason)
        case .none:
            return .failed("order \(order.id) was not admitted")
        }
    }

    /// Sends a journaled order to the broker and books what it says.
    private func send(_ record: OrderRecord, resubmission: Bool) async -> Placement {
        let updates: [OrderUpdate]
        guard let venue = venue(of: record.order) else {
            return .failed("venue \"\(record.venue)\" is not configured; order \(record.orderId) is kept pending")
        }
        do {
            updates = try await venue.submit(record.order, resubmission: resubmission)
        } catch {
            switch error {
            case .refused(let reason, let kind):
                let rejected = OrderUpdate(orderId: record.orderId, event: .rejected(reason: reason), at: clock.now())
                return .brokerRefused(await apply([rejected]).last ?? record, reason: reason, kind: kind)
            case .unavailable(let reason):
                // The order stays pending_new in the journal; it is resubmitted at the next start.
                logger.error(
                    "broker unavailable", metadata: ["order_id": "\(record.orderId)", "error": "\(reason)"])
                return .failed("the broker could not be reached: \(reason); order \(record.orderId) is kept pending")
            }
        }
        let applied = await apply(updates)
        // The answer may carry the exits' events too (Alpaca's legs): answer with the order itself, and its legs.
        if record.legs.isEmpty { return .accepted(applied.last { $0.orderId == record.orderId } ?? record) }
        return .accepted((try? await ledger.order(id: record.orderId)) ?? record)
    }

    /// Books broker updates in the ledger (those of orders still being written
    /// wait for them) and follows them in the machine. Returns each order as it
    /// stands after its update.
    @discardableResult
    public func apply(_ updates: [OrderUpdate]) async -> [OrderRecord] {
        let due = updates.flatMap { admission.arrived($0) }
        if due.isEmpty { return [] }
        let outcomes: [LedgerUpdateOutcome]
        do {
            outcomes = try await ledger.apply(due)
        } catch {
            logger.error("ledger could not book broker updates", metadata: ["error": "\(error)"])
            return []
        }
        var orders: [OrderRecord] = []
        for (update, outcome) in zip(due, outcomes) {
            switch outcome {
            case .applied(let order, let position):
                noteBooked(update, order: order, position: position)
                orders.append(order)
            case .duplicate(let order):
                logger.debug("duplicate fill ignored", metadata: ["order_id": "\(order.orderId)"])
                orders.append(order)
            case .refused(let order, let error):
                logger.debug(
                    "broker event not applicable", metadata: ["order_id": "\(order.orderId)", "error": "\(error)"])
                orders.append(order)
            case .unknownOrder:
                logger.warning("broker event for an unknown order", metadata: ["order_id": "\(update.orderId)"])
            }
        }
        return orders
    }

    /// Follows one booked update in the machine, counts and logs a fill, and tells the event hub
    /// (with the placing strategy's `position` after a fill).
    private func noteBooked(_ update: OrderUpdate, order: OrderRecord, position: Decimal?) {
        events.publish(
            OrderEventNotice(
                order: order, event: update.event, fillId: update.fillId, at: update.at, position: position))
        guard case .fill(let qty, let price) = update.event else {
            admission.booked(
                order.orderId, member: order.member, venue: order.venue, symbol: order.symbol, side: order.side,
                progress: order.progress, filled: nil)
            return
        }
        admission.booked(
            order.orderId, member: order.member, venue: order.venue, symbol: order.symbol, side: order.side,
            progress: order.progress, filled: qty, price: price)
        metrics.recordFill()
        logger.info(
            "fill",
            metadata: [
                "member": "\(order.member)", "strategy": "\(order.strategy)", "order_id": "\(order.orderId)",
                "venue": "\(order.venue)", "symbol": "\(order.symbol)", "qty": "\(ExactDecimal.plain(qty))",
                "price": "\(ExactDecimal.plain(price))",
            ])
    }

    // MARK: Canceling

    /// What became of a cancel request.
    public enum Cancellation: Sendable {
        case canceled(OrderRecord)
        case notFound(String)
        case notCancelable(OrderRecord, String)
        case failed(String)
    }

    /// Cancels `orderId` if `member` owns it (or `isAdmin`) and it is still working.
    public func cancel(orderId: String, member: String, strategy: String, isAdmin: Bool) async -> Cancellation {
        let result = await cancelOrder(orderId: orderId, member: member, isAdmin: isAdmin)
        let (outcome, detail): (AuditOutcome, String?) =
            switch result {
            case .canceled: (.canceled, nil)
            case .notFound(let message), .failed(let message), .notCancelable(_, let message): (.rejected, message)
            }
        try? await ledger.record(
            AuditEvent(
                at: clock.now(), member: member, strategy: strategy, action: .cancel, orderId: orderId,
                outcome: outcome, detail: detail))
        return result
    }

    private func cancelOrder(orderId: String, member: String, isAdmin: Bool) async -> Cancellation {
        let order: OrderRecord?
        do { order = try await ledger.order(id: orderId) } catch { return .failed("\(error)") }
        guard let order, isAdmin || order.member == member else {
            return .notFound("no order \(orderId) among your orders")
        }
        if order.status.isFinal {
            return .notCancelable(order, "order \(orderId) is already \(order.status.rawValue) and cannot be canceled")
        }
        guard let venue = venue(of: order.order) else {
            return .failed(
                "order \(orderId) is on venue \"\(order.venue)\", which this desk no longer has (\(venues.names.joined(separator: ", ")))"
            )
        }
        do {
            let updates = try await venue.cancel(orderId: orderId)
            let canceled = await apply(updates).last ?? order
            if order.legs.contains(where: \.status.isOpen) && !venue.capabilities.contains(.cancelsExitsWithOrder) {
                return .canceled(await cancelLegs(of: order, at: venue) ?? canceled)
            }
            return .canceled(canceled)
        } catch {
            switch error {
            case .refused(let reason, _):
                let current = (try? await ledger.order(id: orderId)) ?? order
                if current.status.isFinal {
                    return .notCancelable(
                        current, "order \(orderId) is already \(current.status.rawValue) and cannot be canceled")
                }
                return .notCancelable(current, reason)
            case .unavailable(let reason):
                return .failed("the broker could not be reached: \(reason)")
            }
        }
    }

    /// Cancels the legs of a canceled order that are still open (a venue whose
    /// answer to the order's cancel canceled them too has reported so already; one
    /// with `cancelsExitsWithOrder` is not asked);
    /// returns the order as it stands after, with its legs.
    private func cancelLegs(of order: OrderRecord, at venue: any Venue) async -> OrderRecord? {
        for leg in order.legs where leg.status.isOpen {
            let current = (try? await ledger.order(id: leg.orderId)) ?? leg
            guard current.status.isOpen else { continue }
            do {
                await apply(try await venue.cancel(orderId: leg.orderId))
            } catch {
                logger.warning(
                    "a leg of a canceled order could not be canceled",
                    metadata: ["order_id": "\(order.orderId)", "leg": "\(leg.orderId)", "error": "\(error)"])
            }
        }
        return try? await ledger.order(id: order.orderId)
    }

    // MARK: Replacing

    /// What became of a replace request.
    public enum Replacement: Sendable {
        /// The old order as it stands, and what became of its replacement: `accepted`
        /// when it works in the old one's place (the old one is then `replaced`).
        case placed(old: OrderRecord, Placement)
        /// No such order among the caller's.
        case notFound(String)
        /// The order cannot be replaced (final, not working yet, or the venue would not).
        case notReplaceable(OrderRecord, String)
        /// The desk itself failed (storage or broker unreachable).
        case failed(String)
    }

    /// Replaces the working order `orderId` (`member`'s, or anyone's for `isAdmin`)
    /// by one with `changes` (Alpaca's `PATCH /v2/orders/{id}`): the new order is
    /// admitted like any other, with the old one's reservation released in the
    /// same step of the admission machine; its venue replaces the old one (which
    /// ends `replaced`) and the ledger records the new order and the old one's
    /// `replaced` together. When admission or the venue refuses, the old order
    /// works on as it was.
    public func replace(
        orderId: String, with changes: ReplaceTicket, member: String, strategy: String, isAdmin: Bool
    ) async -> Replacement {
        let old: OrderRecord?
        do { old = try await ledger.order(id: orderId) } catch { return .failed("\(error)") }
        guard let old, isAdmin || old.member == member else {
            return .notFound("no order \(orderId) among your orders")
        }
        if old.status.isFinal {
            return .notReplaceable(old, "order \(orderId) is already \(old.status.rawValue) and cannot be replaced")
        }
        if old.status == .pendingNew || old.status == .held {
            return .notReplaceable(
                old, "unable to replace order in current state: order \(orderId) is \(old.status.rawValue)")
        }
        guard let venue = venue(of: old.order) else {
            return .failed("order \(orderId) is on venue \"\(old.venue)\", which this desk no longer has")
        }
        let ticket: OrderTicket
        switch changes.ticket(replacing: old.order, remaining: old.qty - old.filledQty) {
        case .success(let whole): ticket = whole
        case .failure(let error): return .placed(old: old, .invalid(error))
        }
        let started = ContinuousClock.now
        let decision = admission.replace(
            orderId, by: ticket, orderId: clock.newOrderId(), now: clock.now(),
            lastPrice: prices.marketPrice(old.symbol, side: old.side), bid: prices.quote(old.symbol)?.bid,
            ask: prices.quote(old.symbol)?.ask)
        let placement: Placement
        switch decision {
        case .refuse(.invalid(let error)): placement = .invalid(error)
        case .refuse(.halted(let message)): placement = .halted(message)
        case .refuse(.rateLimited(let message)): placement = .rateLimited(message)
        case .refuse(.risk(let rejection)): placement = .riskRejected(rejection)
        case .journal(let order):
            let outcome = await replace(old, by: order, at: venue)
            metrics.recordOrder(outcome: outcome.placement?.outcome ?? .failed, duration: .now - started)
            return outcome
        }
        metrics.recordOrder(outcome: placement.outcome, duration: .now - started)
        await audit(placement, member: old.member, strategy: strategy)
        return .placed(old: old, placement)
    }

    /// Has `venue` replace `old` by the admitted `order` and records both.
    private func replace(_ old: OrderRecord, by order: Order, at venue: any Venue) async -> Replacement {
        let audit = AuditEvent(
            at: order.placedAt, member: order.member, strategy: order.strategy, action: .order, orderId: order.id,
            outcome: .accepted,
            httpStatus: reportedStatus(.accepted(OrderRecord(order, progress: OrderProgress(qty: order.terms.qty)))),
            detail: "replaces \(old.orderId): \(order.terms.summary)")
        switch venue.journaling {
        case .withDecision:
            let updates: [OrderUpdate]
            do {
                updates = try await venue.replace(orderId: old.orderId, with: order)
            } catch {
                admission.replaceFailed(old.orderId, newId: order.id)
                return refusedReplace(old, error)
            }
            let ids = Set([order.id] + order.legs.map(\.id))
            let recorded: (recorded: Ledger.RecordedOrder, alongside: [LedgerUpdateOutcome])
            do {
                recorded = try await ledger.record(
                    order, updates: updates.filter { ids.contains($0.orderId) }, audit: audit,
                    replacing: old.orderId, alongside: updates.filter { !ids.contains($0.orderId) })
            } catch {
                admission.replaceFailed(old.orderId, newId: order.id)
                venue.forget(orderId: order.id)
                logger.error(
                    "replacement could not be recorded", metadata: ["order_id": "\(old.orderId)", "error": "\(error)"])
                return .failed("the desk could not record the replacement: \(error)")
            }
            let placed = recorded.recorded.order
            var positions = recorded.recorded.positions.makeIterator()
            for update in updates where ids.contains(update.orderId) {
                var position: Decimal?
                if case .fill = update.event { position = positions.next() }
                noteBooked(
                    update, order: ([placed] + placed.legs).first { $0.orderId == update.orderId } ?? placed,
                    position: position)
            }
            for (update, outcome) in zip(updates.filter { !ids.contains($0.orderId) }, recorded.alongside) {
                if case .applied(let record, let position) = outcome {
                    noteBooked(update, order: record, position: position)
                }
            }
            await apply(admission.recorded(order.id, progress: placed.progress))
            let current = (try? await ledger.order(id: old.orderId)) ?? old
            return .placed(old: current, .accepted(placed))
        case .beforeSubmission:
            do {
                try await ledger.journal(order, audit: audit, replaces: old.orderId)
            } catch {
                admission.replaceFailed(old.orderId, newId: order.id)
                return .failed("the desk could not record the replacement: \(error)")
            }
            let journaled = OrderRecord(order, progress: OrderProgress(qty: order.terms.qty))
            if case .stop(_, let reason) = admission.journaled(order.id) {
                admission.replaceFailed(old.orderId, newId: order.id)
                let rejected = OrderUpdate(orderId: order.id, event: .rejected(reason: reason), at: clock.now())
                return .placed(old: old, .stopped(await apply([rejected]).last ?? journaled, reason))
            }
            do {
                let updates = try await venue.replace(orderId: old.orderId, with: order)
                let booked = await apply(updates)
                let current = (try? await ledger.order(id: old.orderId)) ?? old
                let new = booked.last { $0.orderId == order.id } ?? journaled
                return .placed(old: current, .accepted(new))
            } catch {
                admission.replaceFailed(old.orderId, newId: order.id)
                let reason: String
                switch error {
                case .refused(let why, _), .unavailable(let why): reason = why
                }
                let rejected = OrderUpdate(
                    orderId: order.id, event: .rejected(reason: "not replaced: \(reason)"), at: clock.now())
                await apply([rejected])
                return refusedReplace(old, error)
            }
        }
    }

    private func refusedReplace(_ old: OrderRecord, _ error: BrokerError) -> Replacement {
        switch error {
        case .refused(let reason, _): .notReplaceable(old, reason)
        case .unavailable(let reason): .failed("the broker could not be reached: \(reason)")
        }
    }

    /// Cancels every working order of `member`'s `strategy` on `venue` (a
    /// strategy leaving a venue, a loss rule's breach), each audited as the
    /// desk's cancel; returns the orders it canceled (an order that filled or
    /// ended meanwhile is not among them).
    public func cancelOpenOrders(member: String, strategy: String, venue: String) async throws -> [OrderRecord] {
        let venue = admission.venue(venue)
        let open = try await ledger.orders(
            OrderQuery(member: member, status: .open, limit: OrderQuery.maximumLimit, venue: venue)
        ).filter { $0.strategy == strategy }.topLevel
        var canceled: [OrderRecord] = []
        for order in open.reversed() {
            if case .canceled(let record) = await cancel(
                orderId: order.orderId, member: member, strategy: strategy, isAdmin: false)
            {
                canceled.append(record)
            }
        }
        if !canceled.isEmpty {
            logger.info(
                "canceled a strategy's open orders",
                metadata: [
                    "member": "\(member)", "strategy": "\(strategy)", "venue": "\(venue)",
                    "orders": "\(canceled.count)",
                ])
        }
        return canceled
    }

    /// Calls `watcher` whenever positions change outside fills (a corporate action), once the
    /// ledger has the new ones and before the action's caller goes on (the loss monitor reads its books again).
    public func watchBooks(_ watcher: @escaping @Sendable () async -> Void) {
        bookWatchers.append(watcher)
    }

    /// A corporate action on `venue`: when it is a split and `cancelOrders` (the paper
    /// venue; Alpaca cancels its own and reports it), the venue's working orders in the
    /// symbol are canceled first, as Alpaca does, each audited as the desk's cancel; then
    /// every book holding the symbol there changes once (`Ledger.applyCorporateAction`,
    /// `price` being the cash-in-lieu price per new share), and admission holds the new
    /// quantities. Returns the books changed, nil when the venue had the action already.
    public func applyCorporateAction(_ action: CorporateAction, venue: String, price: Decimal?, cancelOrders: Bool)
        async throws -> [CorporateActionChange]?
    {
        let venue = admission.venue(venue)
        if case .split = action.kind, cancelOrders {
            let open = try await ledger.orders(
                OrderQuery(
                    member: nil, status: .open, symbol: action.symbol, limit: OrderQuery.maximumLimit, venue: venue))
            for order in open.reversed() {
                _ = await cancel(orderId: order.orderId, member: order.member, strategy: order.strategy, isAdmin: true)
            }
        }
        guard let changes = try await ledger.applyCorporateAction(action, venue: venue, price: price, at: clock.now())
        else { return nil }
        for change in changes where change.memberBook {
            admission.corporateAction(
                member: change.member, venue: venue, symbol: action.symbol, before: change.effect.before,
                after: change.effect.after)
        }
        for watcher in bookWatchers { await watcher() }
        logger.notice(
            "corporate action applied",
            metadata: [
                "action": "\(action.summary)", "venue": "\(venue)", "books": "\(changes.count)",
            ])
        return changes
    }

    // MARK: Kill switch

    /// Turns a kill switch on for `member`, or for the whole desk when nil: it
    /// refuses orders at once, and returns once it is durable. `by` is the admin.
    public func halt(member: String?, reason: String?, by admin: String, strategy: String = "") async throws {
        try await halt(scope: member ?? Admission.wholeDesk, reason: reason, by: admin, strategy: strategy)
    }

    /// Turns the kill switch of `scope` on (`HaltRecord.scope`: the desk, a venue,
    /// a member or a strategy): it refuses the orders it covers at once, and
    /// returns once it is durable. `by` is the admin or officer.
    public func halt(scope: String, reason: String?, by admin: String, strategy: String = "") async throws {
        let now = clock.now()
        let halt = HaltRecord(scope: scope, reason: reason, haltedBy: admin, haltedAt: now)
        admission.halt(halt)
        try await ledger.halt(
            halt,
            audit: AuditEvent(
                at: now, member: admin, strategy: strategy, action: .halt, outcome: .ok,
                detail: "scope=\(scope)\(reason.map { " reason=\($0)" } ?? "")"))
        logger.warning("kill switch on", metadata: ["scope": "\(scope)", "by": "\(admin)"])
    }

    /// Turns a kill switch off once the ledger has it off; false when it was not on.
    public func resume(member: String?, by admin: String, strategy: String = "") async throws -> Bool {
        try await resume(scope: member ?? Admission.wholeDesk, by: admin, strategy: strategy)
    }

    /// Turns the kill switch of `scope` off once the ledger has it off; false when it was not on.
    public func resume(scope: String, by admin: String, strategy: String = "") async throws -> Bool {
        let expected = admission.halt(scope: scope)
        let now = clock.now()
        let wasOn = try await ledger.resume(scope: scope) { wasOn in
            AuditEvent(
                at: now, member: admin, strategy: strategy, action: .resume, outcome: wasOn ? .ok : .notHalted,
                detail: "scope=\(scope)")
        }
        admission.resume(scope: scope, expected: expected)
        logger.warning("kill switch off", metadata: ["scope": "\(scope)", "by": "\(admin)"])
        return wasOn
    }

    /// Kill switches that are on.
    public func activeHalts() -> [HaltRecord] { admission.activeHalts }

    /// `member`'s capital statement on `venue` (empty: the default venue): cash,
    /// equity and buying power under their allocation there.
    public func capitalStatement(member: String, venue: String = "") -> CapitalStatement {
        admission.capitalStatement(member: member, venue: venue, lastPrice: prices.lastPrice)
    }

    /// Whether a kill switch stops `member`'s orders on `venue` (empty: the default
    /// venue) from `strategy` (empty: their own): the desk's, the venue's, theirs or the strategy's.
    public func isHalted(member: String, venue: String = "", strategy: String = "") -> Bool {
        admission.haltMessage(member: member, venue: venue, strategy: strategy) != nil
    }

    /// Records an order request whose body could not be read (audit and metrics),
    /// with what the face answered it (`reportedStatus`).
    public func refuseMalformed(member: String, strategy: String, reportedStatus: Int?, message: String) async {
        metrics.recordRefusedRequest(outcome: .malformed)
        try? await ledger.record(
            AuditEvent(
                at: clock.now(), member: member, strategy: strategy, action: .order, outcome: .malformed,
                httpStatus: reportedStatus, detail: message))
    }

    // MARK: Helpers

    private func acceptedAudit(_ order: Order) -> AuditEvent {
        AuditEvent(
            at: order.placedAt, member: order.member, strategy: order.strategy, action: .order, orderId: order.id,
            outcome: .accepted,
            httpStatus: reportedStatus(.accepted(OrderRecord(order, progress: OrderProgress(qty: order.terms.qty)))),
            detail: order.terms.summary)
    }

    private func audit(_ placement: Placement, member: String, strategy: String) async {
        guard let message = placement.refusalMessage else { return }
        let orderId = placement.order?.orderId
        do {
            try await ledger.record(
                AuditEvent(
                    at: clock.now(), member: member, strategy: strategy, action: .order, orderId: orderId,
                    outcome: placement.outcome.audit ?? .failed, httpStatus: reportedStatus(placement),
                    detail: message))
        } catch {
            logger.error("audit write failed", metadata: ["error": "\(error)"])
        }
    }
}

extension OrderDesk.Replacement {
    /// The new order's placement, when admission decided one.
    public var placement: OrderDesk.Placement? {
        if case .placed(_, let placement) = self { return placement }
        return nil
    }
}

extension OrderDesk.Placement {
    /// Label for metrics and the audit log.
    public var outcome: OrderOutcome {
        switch self {
        case .accepted: .accepted
        case .invalid: .invalid
        case .riskRejected: .riskRejected
        case .rateLimited: .rateLimited
        case .halted, .stopped: .halted
        case .brokerRefused: .brokerRejected
        case .failed: .failed
        }
    }

    /// What a refusal says, in every face; nil when accepted.
    public var refusalMessage: String? {
        switch self {
        case .accepted: nil
        case .invalid(let error): error.message
        case .riskRejected(let rejection): "risk limit \(rejection.limit): \(rejection.message)"
        case .rateLimited(let message), .halted(let message), .stopped(_, let message), .failed(let message): message
        case .brokerRefused(_, let reason, _): "broker rejected the order: \(reason)"
        }
    }

    /// The order as recorded, when the desk recorded one (accepted, or refused after journaling).
    public var order: OrderRecord? {
        switch self {
        case .accepted(let order), .stopped(let order, _), .brokerRefused(let order, _, _): order
        case .invalid, .riskRejected, .rateLimited, .halted, .failed: nil
        }
    }
}

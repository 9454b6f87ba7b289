import DeskBroker
import DeskCore
import DeskIdentity
import DeskLedger
import Foundation
import Logging
import ServiceLifecycle

/// The order pipeline: validate → risk check → journal (durable) → broker →
/// ledger. One actor per desk, so risk checks see every order before it.
///
/// As a `Service` it applies the broker's later events (resting orders filling,
/// expiring) to the ledger.
public actor OrderDesk: Service {
    let ledger: Ledger
    let broker: any Broker
    let policy: RiskPolicy
    let metrics: DeskMetrics
    let logger: Logger
    /// Every change the ledger booked for an order, as it happens (the `/v2` `trade_updates` stream).
    public nonisolated let events = OrderEventHub()
    private var book = ExposureBook(positions: [], openOrders: [])
    private var buckets: [String: TokenBucket] = [:]
    private var halts: [String: HaltRecord] = [:]
    private let clock = ContinuousClock()
    private let recovered = OneShot<Void>()

    /// Returns once recovery is done and orders may be taken.
    public func ready() async {
        await recovered.wait()
    }
    private let epoch = ContinuousClock.now

    public init(ledger: Ledger, broker: any Broker, policy: RiskPolicy, metrics: DeskMetrics, logger: Logger) {
        self.ledger = ledger
        self.broker = broker
        self.policy = policy
        self.metrics = metrics
        self.logger = logger
    }

    /// Rebuilds state from the ledger and hands open orders back to the broker.
    /// Orders journaled but never confirmed by the broker are submitted again
    /// (idempotent: the broker knows them by the desk's order id).
    public func recover() async throws {
        let open = try await ledger.openOrders()
        book = ExposureBook(positions: try await ledger.positions(member: nil), openOrders: open)
        halts = Dictionary(uniqueKeysWithValues: try ledger.halts().map { ($0.scope, $0) })
        let working = open.filter { $0.status != .pendingNew }
        if !working.isEmpty {
            do {
                _ = await apply(try await broker.restore(working.map(Self.brokerOrder)))
            } catch {
                logger.error("broker could not take back open orders", metadata: ["error": "\(error)"])
            }
        }
        for order in open where order.status == .pendingNew {
            _ = await send(order, resubmission: true)
        }
        logger.info(
            "order desk recovered",
            metadata: ["open_orders": "\(working.count)", "resubmitted": "\(open.count - working.count)"])
    }

    /// Recovers from the ledger, then applies the broker's later events until
    /// the stream ends or the service stops.
    public func run() async throws {
        try await recover()
        recovered.fire()
        await withGracefulShutdownHandler {
            for await update in broker.updates.cancelOnGracefulShutdown() {
                _ = await apply([update])
            }
        } onGracefulShutdown: {
        }
    }

    // MARK: Placing orders

    /// What became of an order request.
    public enum Placement: Sendable {
        /// Journaled and sent to the broker; the order as it stands now.
        case accepted(OrderRecord)
        /// The ticket is malformed.
        case invalid(OrderValidationError)
        /// A pre-trade limit refused it.
        case riskRejected(RiskRejection)
        /// Over the member's order rate.
        case rateLimited(String)
        /// A kill switch is on.
        case halted(String)
        /// The broker refused it; the order is recorded as rejected.
        case brokerRefused(OrderRecord, reason: String, status: Int)
        /// The desk itself failed (storage or broker unreachable).
        case failed(String)
    }

    /// Runs an order ticket through the whole pipeline for `caller`.
    public func place(_ ticket: OrderTicket, caller: Caller) async -> Placement {
        let started = clock.now
        let placement = await placeOrder(ticket, caller: caller)
        metrics.recordOrder(outcome: placement.outcome, duration: clock.now - started)
        if case .accepted = placement {} else { await audit(placement, ticket: ticket, caller: caller) }
        return placement
    }

    private func placeOrder(_ ticket: OrderTicket, caller: Caller) async -> Placement {
        let order: NewOrder
        switch OrderValidation.validate(ticket, rules: broker.orderRules) {
        case .success(let valid): order = valid
        case .failure(let error): return .invalid(error)
        }
        if let halt = halts[HaltRecord.wholeDesk] ?? halts[caller.member] {
            let whom = halt.scope == HaltRecord.wholeDesk ? "the whole desk" : caller.member
            return .halted(
                "kill switch: trading is halted for \(whom)\(halt.reason.map { " (\($0))" } ?? ""); an admin can resume it"
            )
        }
        let limits = policy.limits(for: caller.member)
        if let rate = limits.ordersPerSecond {
            let burst = Double(limits.orderBurst ?? max(1, Int(rate)))
            let now = (clock.now - epoch) / .seconds(1)
            var bucket = buckets[caller.member] ?? TokenBucket(capacity: burst, refillPerSecond: rate, now: now)
            let allowed = bucket.take(now: now)
            buckets[caller.member] = bucket
            if !allowed {
                return .rateLimited(
                    "order rate limit: at most \(ExactDecimal.plain(Decimal(rate))) orders per second (bursts of \(Int(burst))); slow down and retry"
                )
            }
        }
        let exposure = book.exposure(
            member: caller.member, symbol: order.symbol, lastPrice: broker.lastPrice(order.symbol))
        if let rejection = RiskCheck.evaluate(order, limits: limits, exposure: exposure) {
            return .riskRejected(rejection)
        }
        if let refusal = book.capitalRefusal(
            order, member: caller.member, capital: limits.capital, lastPrice: broker.lastPrice)
        {
            return .riskRejected(RiskRejection(limit: "buying_power", message: refusal.message))
        }
        let record = OrderRecord(
            orderId: UUID().uuidString.lowercased(), userId: caller.member, strategy: caller.strategy, order: order,
            at: Date())
        // Count it as working now, so concurrent orders see it in their risk checks.
        book.track(record)
        do {
            try await ledger.journal(
                record,
                audit: AuditEvent(
                    at: record.createdAt, userId: caller.member, strategy: caller.strategy, action: "order",
                    orderId: record.orderId, outcome: "accepted", httpStatus: 201, detail: Self.describe(order)))
        } catch {
            var failed = record
            failed.status = .rejected
            book.update(to: failed, filled: nil)
            logger.error("journal write failed", metadata: ["user": "\(caller.member)", "error": "\(error)"])
            return .failed("the desk could not record the order: \(error)")
        }
        return await send(record)
    }

    /// Sends a journaled order to the broker and books what it says.
    private func send(_ record: OrderRecord, resubmission: Bool = false) async -> Placement {
        let updates: [BrokerUpdate]
        do {
            var order = Self.brokerOrder(record)
            order.resubmission = resubmission
            updates = try await broker.submit(order)
        } catch {
            switch error {
            case .refused(let reason, let status):
                let rejected =
                    await apply([
                        BrokerUpdate(orderId: record.orderId, event: .rejected(reason: reason), at: Date())
                    ]).last ?? record
                return .brokerRefused(rejected, reason: reason, status: status)
            case .unavailable(let reason):
                // The order stays pending_new in the journal; it is resubmitted at the next start.
                logger.error(
                    "broker unavailable", metadata: ["order_id": "\(record.orderId)", "error": "\(reason)"])
                return .failed("the broker could not be reached: \(reason); order \(record.orderId) is kept pending")
            }
        }
        let booked = await apply(updates)
        return .accepted(booked.last ?? record)
    }

    /// Books broker updates in the ledger and follows them in the exposure book.
    /// Returns each order as it stands after its update.
    @discardableResult
    public func apply(_ updates: [BrokerUpdate]) async -> [OrderRecord] {
        if updates.isEmpty { return [] }
        let outcomes: [LedgerUpdateOutcome]
        do {
            outcomes = try await ledger.apply(
                updates.map { LedgerUpdate(orderId: $0.orderId, event: $0.event, fillId: $0.fillId, at: $0.at) })
        } catch {
            logger.error("ledger could not book broker updates", metadata: ["error": "\(error)"])
            return []
        }
        var orders: [OrderRecord] = []
        for (update, outcome) in zip(updates, outcomes) {
            switch outcome {
            case .applied(let order):
                if case .fill(let qty, let price) = update.event {
                    book.update(to: order, filled: (qty, price))
                    metrics.recordFill()
                    logger.info(
                        "fill",
                        metadata: [
                            "user": "\(order.userId)", "strategy": "\(order.strategy)", "order_id": "\(order.orderId)",
                            "symbol": "\(order.symbol)", "qty": "\(ExactDecimal.plain(qty))",
                            "price": "\(ExactDecimal.plain(price))",
                        ])
                } else {
                    book.update(to: order, filled: nil)
                }
                events.publish(OrderEventNotice(order: order, event: update.event, fillId: update.fillId, at: update.at))
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

    // MARK: Cancelling

    /// What became of a cancel request.
    public enum Cancellation: Sendable {
        case canceled(OrderRecord)
        case notFound(String)
        case notCancelable(OrderRecord, String)
        case failed(String)
    }

    /// Cancels `orderId` if `caller` owns it (or is an admin) and it is still working.
    public func cancel(orderId: String, caller: Caller) async -> Cancellation {
        let result = await cancelOrder(orderId: orderId, caller: caller)
        let (outcome, detail): (String, String) =
            switch result {
            case .canceled: ("canceled", "")
            case .notFound(let message), .failed(let message): ("rejected", message)
            case .notCancelable(_, let message): ("rejected", message)
            }
        try? await ledger.record(
            AuditEvent(
                at: Date(), userId: caller.member, strategy: caller.strategy, action: "cancel", orderId: orderId,
                outcome: outcome, detail: detail.isEmpty ? nil : detail))
        return result
    }

    private func cancelOrder(orderId: String, caller: Caller) async -> Cancellation {
        let order: OrderRecord?
        do { order = try await ledger.order(id: orderId) } catch { return .failed("\(error)") }
        guard let order, caller.isAdmin || order.userId == caller.member else {
            return .notFound("no order \(orderId) among your orders")
        }
        if order.status.isFinal {
            return .notCancelable(order, "order \(orderId) is already \(order.status.rawValue) and cannot be cancelled")
        }
        do {
            let updates = try await broker.cancel(orderId: orderId)
            return .canceled(await apply(updates).last ?? order)
        } catch {
            switch error {
            case .refused(let reason, _):
                let current = (try? await ledger.order(id: orderId)) ?? order
                if current.status.isFinal {
                    return .notCancelable(
                        current, "order \(orderId) is already \(current.status.rawValue) and cannot be cancelled")
                }
                return .notCancelable(current, reason)
            case .unavailable(let reason):
                return .failed("the broker could not be reached: \(reason)")
            }
        }
    }

    // MARK: Kill switch

    /// Turns a kill switch on for `member`, or for the whole desk when nil.
    public func halt(member: String?, reason: String?, by caller: Caller) async throws {
        let scope = member ?? HaltRecord.wholeDesk
        try ledger.halt(scope: scope, reason: reason, by: caller.member)
        halts[scope] = HaltRecord(scope: scope, reason: reason, haltedBy: caller.member, haltedAt: Date())
        try await ledger.record(
            AuditEvent(
                at: Date(), userId: caller.member, strategy: caller.strategy, action: "halt", outcome: "ok",
                detail: "scope=\(scope)\(reason.map { " reason=\($0)" } ?? "")"))
        logger.warning("kill switch on", metadata: ["scope": "\(scope)", "by": "\(caller.member)"])
    }

    /// Turns a kill switch off; false when it was not on.
    public func resume(member: String?, by caller: Caller) async throws -> Bool {
        let scope = member ?? HaltRecord.wholeDesk
        let wasOn = try ledger.resume(scope: scope)
        halts[scope] = nil
        try await ledger.record(
            AuditEvent(
                at: Date(), userId: caller.member, strategy: caller.strategy, action: "resume",
                outcome: wasOn ? "ok" : "not_halted", detail: "scope=\(scope)"))
        logger.warning("kill switch off", metadata: ["scope": "\(scope)", "by": "\(caller.member)"])
        return wasOn
    }

    /// `member`'s capital statement: cash, equity and buying power under their allocation.
    public func capitalStatement(member: String) -> CapitalStatement {
        book.capitalStatement(
            member: member, capital: policy.limits(for: member).capital, lastPrice: broker.lastPrice)
    }

    /// Whether a kill switch stops `member`'s orders (theirs or the whole desk's).
    public func isHalted(member: String) -> Bool {
        halts[HaltRecord.wholeDesk] != nil || halts[member] != nil
    }

    /// Kill switches that are on.
    public func activeHalts() -> [HaltRecord] { halts.values.sorted { $0.scope < $1.scope } }

    // MARK: Helpers

    private func audit(_ placement: Placement, ticket: OrderTicket, caller: Caller) async {
        guard let (status, message) = placement.rejection else { return }
        var orderId: String?
        if case .brokerRefused(let order, _, _) = placement { orderId = order.orderId }
        do {
            try await ledger.record(
                AuditEvent(
                    at: Date(), userId: caller.member, strategy: caller.strategy, action: "order", orderId: orderId,
                    outcome: placement.outcome, httpStatus: status, detail: message))
        } catch {
            logger.error("audit write failed", metadata: ["error": "\(error)"])
        }
    }

    public static func brokerOrder(_ record: OrderRecord) -> BrokerOrder {
        BrokerOrder(
            orderId: record.orderId, terms: record.terms, placedAt: record.createdAt, filledQty: record.filledQty,
            filledNotional: record.filledNotional, member: record.userId)
    }

    static func describe(_ order: NewOrder) -> String {
        var text =
            "\(order.side.rawValue) \(ExactDecimal.plain(order.qty)) \(order.symbol) \(order.type.rawValue) \(order.timeInForce.rawValue)"
        if let limit = order.limitPrice { text += " limit \(ExactDecimal.plain(limit))" }
        if let stop = order.stopPrice { text += " stop \(ExactDecimal.plain(stop))" }
        return text
    }
}

extension OrderDesk.Placement {
    /// Label for metrics and the audit log.
    public var outcome: String {
        switch self {
        case .accepted: "accepted"
        case .invalid: "invalid"
        case .riskRejected: "risk_rejected"
        case .rateLimited: "rate_limited"
        case .halted: "halted"
        case .brokerRefused: "broker_rejected"
        case .failed: "failed"
        }
    }

    /// HTTP status and message for a refusal; nil when accepted.
    public var rejection: (status: Int, message: String)? {
        switch self {
        case .accepted: nil
        case .invalid(let error): (422, error.message)
        case .riskRejected(let rejection): (403, "risk limit \(rejection.limit): \(rejection.message)")
        case .rateLimited(let message): (429, message)
        case .halted(let message): (403, message)
        case .brokerRefused(_, let reason, let status): (status, "broker rejected the order: \(reason)")
        case .failed(let message): (503, message)
        }
    }
}

extension OrderDesk {
    /// Records an order request whose body could not be read (audit and metrics).
    public func refuseMalformed(caller: Caller, status: Int, message: String) async {
        metrics.recordRefusedRequest(outcome: "malformed")
        try? await ledger.record(
            AuditEvent(
                at: Date(), userId: caller.member, strategy: caller.strategy, action: "order", outcome: "malformed",
                httpStatus: status, detail: message))
    }
}

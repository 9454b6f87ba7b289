import DeskBroker
import DeskCore
import DeskLedger
import DeskOrders
import DeskPromotion
import DeskRunner
import Foundation
import Logging
import ServiceLifecycle

/// Watches the loss rules (`LossPolicy`) of every strategy and every member's book on each venue,
/// and acts on a breach within the tick that caused it: the strategy's (or the member's) open
/// orders on that venue are canceled, the strategy is stopped or demoted, and the audit log, the
/// desk's log and the strategy's status say why.
///
/// Fed by every booked fill and accepted order (the order desk's event hub) and by every trade
/// price (the price book). It keeps each book's positions (restored from the ledger at start and
/// read again after each fill), its equity at the start of the trading session (reset at each
/// session close; kept in the ledger, so a restart does not forget the day's losses) and, in
/// `LossWatch`, its peak equity (at start, the highest the P&L history recorded). The decisions
/// are pure (`LossWatch`, `LossFigures`, `LossBreachPlan`); this actor only gathers the figures
/// and performs the plans.
///
/// After a restart, nothing is known of breaches handled before: a book still over its limit
/// breaks again at its first tick, and the plan is empty when its strategy is already stopped (or
/// moved) and nothing is open, so nothing is done or recorded twice. A breached book is watched
/// again once one of its strategies has an order accepted (it was started again).
public actor LossMonitor: Service {
    /// Moves a strategy to the desk's paper venue: (member, strategy, reason). Given by the
    /// composition root (the promotions use case).
    public typealias Demotion = @Sendable (_ member: String, _ strategy: String, _ reason: String) async -> Void

    private let ledger: Ledger
    private let orderDesk: OrderDesk
    private let prices: PriceBook
    private let policy: LossPolicy
    private let defaultVenue: String
    private let calendar: SessionCalendar
    private let strategies: (any LossStrategies)?
    private let demote: Demotion?
    private let clock: any DeskClock
    private let logger: Logger
    private let tickCapacity: Int
    private let started = OneShot<Void>()

    private var watch = LossWatch()
    /// Each book's positions by symbol: a strategy's (`strategy` set) or a member's netted book.
    private var books: [LossScope: [String: Position]] = [:]
    /// Each book's equity when the session began (or when the monitor first saw it in the session).
    private var sessionStart: [LossScope: Decimal] = [:]
    /// When the present session ends (then every book's session equity starts again).
    private var sessionEnds: Date

    /// A monitor of `policy` over the desk's engines. `defaultVenue` is where a record without a venue
    /// is; `strategies` are the desk's strategies (none when it runs none); `tickCapacity` bounds the
    /// trades waiting (the oldest are dropped: a later trade carries a later price). Without
    /// `demote`, a breach that should demote stops the strategy instead.
    public init(
        ledger: Ledger, orderDesk: OrderDesk, prices: PriceBook, policy: LossPolicy, defaultVenue: String,
        calendar: SessionCalendar, strategies: (any LossStrategies)?, demote: Demotion?, clock: any DeskClock,
        logger: Logger, tickCapacity: Int = 4096
    ) {
        self.ledger = ledger
        self.orderDesk = orderDesk
        self.prices = prices
        self.policy = policy
        self.defaultVenue = defaultVenue
        self.calendar = calendar
        self.strategies = strategies
        self.demote = demote
        self.clock = clock
        self.logger = logger
        self.tickCapacity = tickCapacity
        sessionEnds = calendar.nextClose(after: clock.now())
    }

    /// Restores the books from the ledger, then follows fills and prices until shutdown.
    public func run() async throws {
        let (ticks, tickInput) = AsyncStream.makeStream(
            of: PriceBook.Line.self, bufferingPolicy: .bufferingNewest(max(1, tickCapacity)))
        prices.onLine { trade in tickInput.yield(trade) }
        let orders = orderDesk.events.listen(member: nil)
        defer {
            orders.stop()
            tickInput.finish()
        }
        // A corporate action changes positions outside fills: every book is read again.
        await orderDesk.watchBooks { [weak self] in await self?.restore() }
        await restore()
        started.fire()
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await notice in orders.events { await self.booked(notice) }
                }
                group.addTask {
                    for await trade in ticks { await self.traded(trade) }
                }
            }
        }
    }

    /// Returns once the monitor has read the books and follows fills and prices.
    public nonisolated func ready() async { await started.wait() }

    // MARK: Inputs

    /// Reads every book from the ledger.
    private func restore() async {
        do {
            let members = try await ledger.positions(member: nil)
            let strategies = try await ledger.positions(member: nil, byStrategy: true)
            books = [:]
            note(members, strategyBooks: false)
            note(strategies, strategyBooks: true)
            for mark in try await ledger.sessionEquities(sessionEnds: sessionEnds) {
                sessionStart[LossScope(member: mark.member, strategy: mark.strategy, venue: mark.venue)] = mark.equity
            }
            // A drawdown counts from the peak the P&L history recorded before this start.
            for scope in books.keys where policy.limits(scope).maxDrawdown != nil {
                let history = try await ledger.equityHistory(
                    member: scope.member, strategy: scope.strategy, venue: scope.venue, since: .distantPast)
                if let peak = history.map(\.equity).max() { watch.notePeak(peak, of: scope) }
            }
            logger.info(
                "loss rules watch", metadata: ["books": "\(books.count)", "session_ends": "\(sessionEnds)"])
        } catch {
            logger.error("loss rules: cannot read the positions", metadata: ["error": "\(error)"])
        }
    }

    /// A booked order event: a fill reads its member's books again and checks them; an accepted
    /// order watches its strategy's (and member's) book again after a breach.
    private func booked(_ notice: OrderEventNotice) async {
        let order = notice.order
        let venue = venue(of: order.venue)
        switch notice.event {
        case .accepted:
            watch.rearm(LossScope(member: order.member, strategy: order.strategy, venue: venue))
            watch.rearm(LossScope(member: order.member, venue: venue))
        case .fill:
            let before = books.filter { $0.key.member == order.member }
            do {
                let members = try await ledger.positions(member: order.member)
                let strategies = try await ledger.positions(member: order.member, byStrategy: true)
                books = books.filter { $0.key.member != order.member }
                note(members, strategyBooks: false)
                note(strategies, strategyBooks: true)
            } catch {
                logger.error(
                    "loss rules: cannot read the positions after a fill",
                    metadata: ["member": "\(order.member)", "error": "\(error)"])
                return
            }
            let touched = books.keys.filter { $0.member == order.member && $0.venue == venue }
            // A book the session has not seen yet started it as it was before this fill (nothing, for a new one),
            // however late this fill is read after the prices that followed it.
            for scope in touched where sessionStart[scope] == nil && !policy.limits(scope).isEmpty {
                let equity = LossFigures(
                    positions: before[scope] ?? [:], sessionStartEquity: 0, price: prices.lastPrice
                )
                .equity
                sessionStart[scope] = equity
                await markSessionStart(scope, equity: equity)
            }
            await check(touched)
        default:
            return
        }
    }

    /// A trade: checks every book that holds its symbol, at its price (the others at their last).
    private func traded(_ trade: PriceBook.Line) async {
        await check(books.filter { $0.value[trade.symbol].map { $0.qty != 0 } ?? false }.map(\.key), at: trade)
    }

    private func note(_ records: [PositionRecord], strategyBooks: Bool) {
        for record in records {
            // A member's own orders (no strategy) are in the member's netted book.
            if strategyBooks && record.strategy.isEmpty { continue }
            let scope = LossScope(
                member: record.member, strategy: strategyBooks ? record.strategy : "", venue: venue(of: record.venue))
            books[scope, default: [:]][record.symbol] = record.position
        }
    }

    private func venue(of name: String) -> String { name.isEmpty ? defaultVenue : name }

    // MARK: Checking

    /// Checks `scopes` against their limits (strategies before their member's book) and acts on breaches;
    /// `trade`'s symbol is valued at its price (a later one may be in the price book already).
    private func check(_ scopes: [LossScope], at trade: PriceBook.Line? = nil) async {
        let now = clock.now()
        if now >= sessionEnds {
            sessionStart = [:]
            sessionEnds = calendar.nextClose(after: now)
        }
        // Strategies first: a strategy's own breach names it before its member's book does.
        let ordered = scopes.sorted {
            ($0.strategy.isEmpty ? 1 : 0, $0.strategy) < ($1.strategy.isEmpty ? 1 : 0, $1.strategy)
        }
        for scope in ordered {
            let limits = policy.limits(scope)
            // A book no rule watches (a venue without rules) costs nothing, and keeps no mark.
            if limits.isEmpty { continue }
            let positions = books[scope] ?? [:]
            let start = sessionStart[scope]
            var figures = LossFigures(
                positions: positions, sessionStartEquity: start ?? 0,
                price: { $0 == trade?.symbol ? trade?.price : self.prices.lastPrice($0) })
            if start == nil {
                sessionStart[scope] = figures.equity
                figures.sessionStartEquity = figures.equity
                await markSessionStart(scope, equity: figures.equity)
            }
            guard let action = watch.observe(figures, of: scope, limits: limits) else { continue }
            await act(action)
        }
    }

    /// Keeps `scope`'s session equity in the ledger (a restart in the session reads it back).
    private func markSessionStart(_ scope: LossScope, equity: Decimal) async {
        do {
            try await ledger.recordSessionEquity(
                SessionEquityMark(
                    member: scope.member, strategy: scope.strategy, venue: scope.venue, sessionEnds: sessionEnds,
                    equity: equity))
        } catch {
            logger.error(
                "loss rules: cannot keep a book's session equity",
                metadata: ["member": "\(scope.member)", "strategy": "\(scope.strategy)", "error": "\(error)"])
        }
    }

    /// Cancels, stops or demotes, and records why.
    private func act(_ action: LossAction) async {
        let scope = action.scope
        let reason =
            "loss rule on venue \(scope.venue)\(scope.strategy.isEmpty ? " (\(scope.member)'s book)" : ""): \(action.breach)"
        let plan: LossBreachPlan
        do {
            plan = LossBreachPlan.plan(
                action, open: try await openOrders(), strategies: await strategies?.watchedStrategies() ?? [])
        } catch {
            logger.error(
                "loss rules: cannot read the open orders of a breach",
                metadata: ["member": "\(scope.member)", "strategy": "\(scope.strategy)", "error": "\(error)"])
            return
        }
        if plan.isEmpty {
            logger.info(
                "loss rule broken, nothing left to do (already stopped or moved)",
                metadata: ["member": "\(scope.member)", "strategy": "\(scope.strategy)", "venue": "\(scope.venue)"])
            return
        }
        var canceled = await cancel(plan.cancel, action: action)
        let response = plan.response == .demote && demote == nil ? BreachResponse.stop : plan.response
        if !plan.strategies.isEmpty {
            switch response {
            case .stop: await strategies?.stop(plan.strategies, reason: reason)
            case .demote:
                for strategy in plan.strategies { await demote?(scope.member, strategy, reason) }
            }
        }
        // Orders the strategies placed while they were being stopped.
        if !plan.strategies.isEmpty, let late = try? await openOrders() {
            canceled += await cancel(LossBreachPlan.plan(action, open: late, strategies: []).cancel, action: action)
        }
        let done =
            plan.strategies.isEmpty
            ? "no strategy running"
            : "\(response == .stop ? "stopped" : "demoted") \(plan.strategies.joined(separator: ", "))"
        let detail = "\(reason); canceled \(canceled) open order\(canceled == 1 ? "" : "s"); \(done)"
        logger.warning(
            "loss rule broken",
            metadata: [
                "member": "\(scope.member)", "strategy": "\(scope.strategy)", "venue": "\(scope.venue)",
                "rule": "\(action.breach.rule.rawValue)", "limit": "\(ExactDecimal.plain(action.breach.limit))",
                "value": "\(ExactDecimal.plain(action.breach.value))", "canceled": "\(canceled)",
                "response": "\(response.rawValue)", "strategies": "\(plan.strategies.joined(separator: ","))",
            ])
        do {
            try await ledger.record(
                AuditEvent(
                    at: clock.now(), member: scope.member, strategy: scope.strategy, action: .lossBreach, orderId: nil,
                    outcome: .ok, detail: detail))
        } catch {
            logger.error("loss rules: cannot record the breach's audit line", metadata: ["error": "\(error)"])
        }
    }

    /// Cancels the open orders of `strategies` (of the breach's member) on its venue; returns how many.
    private func cancel(_ strategies: [String], action: LossAction) async -> Int {
        var canceled = 0
        for strategy in strategies {
            do {
                canceled += try await orderDesk.cancelOpenOrders(
                    member: action.scope.member, strategy: strategy, venue: action.scope.venue
                ).count
            } catch {
                logger.error(
                    "loss rules: cannot cancel a strategy's open orders",
                    metadata: ["member": "\(action.scope.member)", "strategy": "\(strategy)", "error": "\(error)"])
            }
        }
        return canceled
    }

    private func openOrders() async throws -> [WatchedOrder] {
        try await ledger.openOrders().map {
            WatchedOrder(orderId: $0.orderId, member: $0.member, strategy: $0.strategy, venue: venue(of: $0.venue))
        }
    }
}

/// The strategies a loss monitor stops: which there are (whose, on which venue, running or not),
/// and stopping some with a reason their status shows.
public protocol LossStrategies: Sendable {
    /// Every strategy the desk knows now.
    func watchedStrategies() async -> [WatchedStrategy]
    /// Stops `names`; their status says `reason`.
    func stop(_ names: [String], reason: String) async
}

/// The supervisor's strategies, each on the venue the ledger has it on (the default venue unless moved).
public struct SupervisedLossStrategies: LossStrategies {
    let supervisor: Supervisor
    let ledger: Ledger
    let defaultVenue: String

    /// `supervisor`'s strategies; the ledger says where each was moved.
    public init(supervisor: Supervisor, ledger: Ledger, defaultVenue: String) {
        self.supervisor = supervisor
        self.ledger = ledger
        self.defaultVenue = defaultVenue
    }

    public func watchedStrategies() async -> [WatchedStrategy] {
        let venues = (try? await ledger.strategyVenues()) ?? [:]
        return await supervisor.status().map {
            WatchedStrategy(
                name: $0.name, member: $0.member, venue: venues[$0.name] ?? defaultVenue,
                isRunning: [.starting, .running, .backoff].contains($0.state))
        }
    }

    public func stop(_ names: [String], reason: String) async {
        _ = await supervisor.stop(names, reason: reason)
    }
}

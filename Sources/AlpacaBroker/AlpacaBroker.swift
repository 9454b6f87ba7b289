import AlpacaData
import DeskBroker
import DeskCore
import Foundation
import Logging
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// An Alpaca account as a venue (paper or live): orders go to Alpaca's REST API under the desk's order id as
/// `client_order_id`, their fate comes back on the `trade_updates` stream, and a
/// poll catches up on whatever the stream missed. A service: `run()` keeps the
/// stream connected (reconnecting with backoff) and polls.
public final class AlpacaVenue: Venue, ReconcilingVenue, Service {
    public struct Options: Sendable {
        /// How long one REST call may take before the desk asks Alpaca what became of it.
        public var requestTimeout: Duration
        /// How often open orders are polled while the stream is down (and, less often, while it is up).
        public var pollInterval: Duration
        /// Longest wait between reconnection attempts.
        public var maximumBackoff: Duration
        /// Attempts to place one order (after timeouts and 5xx answers) before giving up.
        public var submitAttempts: Int

        public init(
            requestTimeout: Duration = .seconds(10), pollInterval: Duration = .seconds(5),
            maximumBackoff: Duration = .seconds(30), submitAttempts: Int = 3
        ) {
            self.requestTimeout = requestTimeout
            self.pollInterval = pollInterval
            self.maximumBackoff = maximumBackoff
            self.submitAttempts = submitAttempts
        }
    }

    /// One desk order Alpaca knows (or is being told) about.
    struct Tracked {
        var member: String
        var placedAt: Date
        /// For an exit: the desk's id of its order (the entry; an oco's take profit).
        var parentId: String?
        /// Its type: an exit is matched to Alpaca's leg by it (limit: take profit; stop: stop loss).
        var type: OrderType
        var alpacaId: String?
        var followed: FollowedOrder
        /// A submit is under way: stream events wait for its answer, so that the
        /// submit returns the order's state and nothing is booked twice.
        var inFlight: Bool
        var held: [(OrderSnapshot, (qty: Decimal, price: Decimal)?)] = []
    }

    struct State {
        var orders: [String: Tracked] = [:]
        /// Orders that reached a final state: no longer followed, remembered a while
        /// so that a late duplicate event is recognised.
        var finished = RecentIds(capacity: 20_000)
        var streamListening = false
        var lastFullPoll = ContinuousClock.now
        /// Alpaca's id → the desk's, for orders whose `client_order_id` is Alpaca's own (exits).
        var deskIds: [String: String] = [:]
        /// Events of orders not (yet) known while a submit is under way: an exit's
        /// event may come before the answer that names it. By Alpaca's id, oldest dropped.
        var strays: [(alpacaId: String, order: AlpacaOrder, fill: (qty: Decimal, price: Decimal)?)] = []
    }

    /// Most events of unknown orders kept while a submit is under way.
    static let strayCapacity = 1000

    /// The venue's name in the configuration (`alpaca` for `--broker alpaca`).
    public let name: String
    public let kind = VenueKind.alpaca
    /// Alpaca has an account of its own, expires day orders at its own session close and keeps market hours.
    /// Alpaca cancels a bracket's, oto's or oco's other orders with the one canceled (their
    /// `canceled` events follow on the stream), and refuses a cancel of them meanwhile.
    public let capabilities: VenueCapabilities = [
        .reconciles, .expiresDayOrders, .keepsMarketHours, .cancelsExitsWithOrder,
    ]
    public let orderRules = OrderRules(allowsFractionalQuantity: true)
    /// Alpaca's state is outside the process: an order is durable before it is sent.
    public let journaling = VenueJournaling.beforeSubmission
    public let settings: AlpacaSettings
    public let options: Options
    public let updates: AsyncStream<OrderUpdate>
    let rest: AlpacaREST
    private let continuation: AsyncStream<OrderUpdate>.Continuation
    private let state = Mutex(State())
    private let logger: Logger
    /// The pacer's name for the desk's own requests (polls, reconciliation).
    static let deskMember = "(desk)"

    /// A venue named `name` on the account `settings` describes; `pacer` is its own request budget.
    public init(
        name: String = "alpaca", settings: AlpacaSettings, options: Options = Options(),
        pacer: RequestPacer = RequestPacer(), logger: Logger
    ) {
        self.name = name
        self.settings = settings
        self.options = options
        self.logger = logger
        rest = AlpacaREST(settings: settings, pacer: pacer, timeout: options.requestTimeout)
        (updates, continuation) = AsyncStream.makeStream(of: OrderUpdate.self)
    }

    // MARK: Venue

    /// Alpaca expires day orders itself; the desk's session close changes nothing here.
    public func closeSession(at: Date) {}

    /// The stream and the poller.
    public var service: (any Service)? { self }

    /// Alpaca's account, for reconciliation.
    public var reconciling: (any ReconcilingVenue)? { self }

    /// Nothing to forget: the order was journaled before it was sent.
    public func forget(orderId: String) {}

    /// Ends `updates` (also done when `run()` returns).
    public func finish() { continuation.finish() }

    public nonisolated(nonsending) func submit(_ order: Order, resubmission: Bool) async throws(BrokerError)
        -> [OrderUpdate]
    {
        let working = WorkingOrder(order: order, progress: OrderProgress(qty: order.terms.qty))
        track(working, inFlight: true)
        // Its exits: held until the entry fills (an oco's stop works at once, accepted when Alpaca says so).
        for leg in order.legs {
            track(WorkingOrder(order: leg, progress: OrderProgress(qty: leg.terms.qty, status: .held)), inFlight: true)
        }
        var lookFirst = resubmission
        var lastProblem = "no attempt made"
        for attempt in 1...max(1, options.submitAttempts) {
            if attempt > 1 { try? await Task.sleep(for: .milliseconds(200 * (1 << min(attempt, 6)))) }
            let outcome: SubmitOutcome
            do {
                outcome = try await self.attempt(order, lookFirst: lookFirst)
            } catch {
                untrack(order)
                throw error
            }
            switch outcome {
            case .placed(let placed, let adopted):
                if adopted {
                    logger.info("order already at Alpaca; adopted", metadata: ["order_id": "\(order.id)"])
                }
                return finishSubmit(order, placed)
            case .keysRefused(let status):
                untrack(order)
                throw .unavailable(
                    "Alpaca refused the desk's API keys (\(status)); check APCA_API_KEY_ID and APCA_API_SECRET_KEY")
            case .unknown(let problem):
                // Perhaps Alpaca took it and the answer was lost: ask before sending again.
                lookFirst = true
                lastProblem = problem
                logger.warning(
                    "order submit to Alpaca failed; will look it up and retry",
                    metadata: ["order_id": "\(order.id)", "attempt": "\(attempt)", "problem": "\(problem)"])
            }
        }
        // Unknown: kept pending; the next poll or start finds it if Alpaca has it.
        state.withLock { state in
            for id in [order.id] + order.legs.map(\.id) { state.orders[id]?.inFlight = false }
        }
        throw .unavailable(lastProblem)
    }

    /// What one attempt to place an order came to.
    private enum SubmitOutcome {
        /// Alpaca has the order (`adopted`: it had it already).
        case placed(AlpacaOrder, adopted: Bool)
        /// Nobody knows whether Alpaca has it.
        case unknown(String)
        /// Alpaca refused the desk's keys (HTTP status): no point retrying.
        case keysRefused(Int)
    }

    /// One attempt: look the order up first when an earlier attempt may have got
    /// through, then send it. Throws when Alpaca refused it (or the desk's keys).
    private func attempt(_ order: Order, lookFirst: Bool) async throws(BrokerError) -> SubmitOutcome {
        do throws(BrokerError) {
            if lookFirst, let existing = try await lookUp(clientOrderId: order.id, member: order.member) {
                return .placed(
                    try await withLegs(existing, expected: order.legs.count, member: order.member), adopted: true)
            }
            let body = (try? JSONEncoder().encode(AlpacaOrderBody(order))) ?? Data()
            let reply = try await rest.send(.POST, "/v2/orders", body: Array(body), member: order.member)
            switch reply.status {
            case 200, 201:
                guard let placed = try? JSONDecoder().decode(AlpacaOrder.self, from: Data(reply.body)) else {
                    return .unknown("Alpaca's answer to the order could not be read")
                }
                return .placed(placed, adopted: false)
            case 401,
                403 where reply.errorCode == 40_110_000:
                return .keysRefused(reply.status)
            case 422
            where reply.errorCode == 40_010_001 || reply.errorMessage.contains("client_order_id must be unique"):
                // Alpaca already has it: an earlier attempt got through.
                return .unknown(reply.errorMessage)
            case 429:
                throw BrokerError.refused(
                    reason: "Alpaca's request limit for the club's account is reached; retry in a few seconds",
                    kind: .rateLimited)
            case 400..<500:
                throw BrokerError.refused(
                    reason: "Alpaca refused the order: \(reply.errorMessage)",
                    kind: reply.status == 403 ? .notPermitted : .invalidOrder)
            default:
                return .unknown("Alpaca answered \(reply.status): \(reply.errorMessage)")
            }
        } catch {
            guard case .unavailable(let reason) = error else { throw error }
            return .unknown(reason)
        }
    }

    public nonisolated(nonsending) func cancel(orderId: String) async throws(BrokerError) -> [OrderUpdate] {
        let known = state.withLock { $0.orders[orderId] }
        var alpacaId = known?.alpacaId
        let member = known?.member ?? Self.deskMember
        if alpacaId == nil { alpacaId = try await lookUp(clientOrderId: orderId, member: member)?.id }
        guard let alpacaId else { throw .refused(reason: "Alpaca has no order \(orderId)", kind: .unknownOrder) }
        let reply = try await rest.send(.DELETE, "/v2/orders/\(alpacaId)", member: member)
        switch reply.status {
        case 200, 204:
            // Alpaca confirms the cancel on the stream.
            return []
        case 404: throw .refused(reason: "Alpaca has no order \(orderId)", kind: .unknownOrder)
        case 400..<500: throw .refused(reason: "Alpaca refused the cancel: \(reply.errorMessage)", kind: .notCancelable)
        default: throw .unavailable("Alpaca answered \(reply.status) to a cancel: \(reply.errorMessage)")
        }
    }

    /// `PATCH /v2/orders/{id}`: Alpaca replaces the order by a new one, named by
    /// `order.id` as its `client_order_id`; the old one ends `replaced` by it.
    public nonisolated(nonsending) func replace(orderId: String, with order: Order) async throws(BrokerError)
        -> [OrderUpdate]
    {
        let known = state.withLock { $0.orders[orderId] }
        let member = known?.member ?? order.member
        var alpacaId = known?.alpacaId
        if alpacaId == nil { alpacaId = try await lookUp(clientOrderId: orderId, member: member)?.id }
        guard let alpacaId else { throw .refused(reason: "Alpaca has no order \(orderId)", kind: .unknownOrder) }
        // Both wait for the answer: the new order's events, and the old one's `replaced`.
        track(WorkingOrder(order: order, progress: OrderProgress(qty: order.terms.qty)), inFlight: true)
        state.withLock { $0.orders[orderId]?.inFlight = true }
        let body = (try? JSONEncoder().encode(AlpacaReplaceBody(order))) ?? Data()
        let reply: AlpacaReply
        do {
            reply = try await rest.send(.PATCH, "/v2/orders/\(alpacaId)", body: Array(body), member: member)
        } catch {
            abandonReplace(orderId, order)
            throw error
        }
        switch reply.status {
        case 200, 201:
            if let placed = try? JSONDecoder().decode(AlpacaOrder.self, from: Data(reply.body)) {
                return finishReplace(orderId, by: order, placed)
            }
            abandonReplace(orderId, order)
            throw .unavailable("Alpaca's answer to the replace could not be read")
        case 404:
            abandonReplace(orderId, order)
            throw .refused(reason: "Alpaca has no order \(orderId)", kind: .unknownOrder)
        case 400..<500:
            abandonReplace(orderId, order)
            throw .refused(
                reason: "Alpaca refused the replace: \(reply.errorMessage)",
                kind: reply.status == 422 ? .notCancelable : .invalidOrder)
        default:
            abandonReplace(orderId, order)
            throw .unavailable("Alpaca answered \(reply.status) to a replace: \(reply.errorMessage)")
        }
    }

    /// The replace's answer: the old order's events held meanwhile (its fills) and
    /// its end, `replaced` by the new one; then the new order's answer and events.
    private func finishReplace(_ oldId: String, by new: Order, _ placed: AlpacaOrder) -> [OrderUpdate] {
        state.withLock { state in
            var updates: [OrderUpdate] = []
            if var old = state.orders[oldId] {
                let now = Date()
                var snapshots = old.held.map(\.0)
                snapshots.append(
                    OrderSnapshot(status: "replaced", filledQty: old.followed.filledQty, filledAvgPrice: nil))
                for var snapshot in snapshots.sorted(by: { $0.filledQty < $1.filledQty }) {
                    if snapshot.status == "replaced" { snapshot.replacedBy = new.id }
                    let (events, followed) = OrderFollower.advance(old.followed, to: snapshot, orderId: oldId, at: now)
                    old.followed = followed
                    updates += events
                }
                state.orders[oldId] = nil
                state.finished.insert(oldId)
            }
            return updates + Self.settle(&state, new.id, placed)
        }
    }

    /// A replace that did not happen (as far as the desk knows): the new order is
    /// forgotten, the old one's held events are booked.
    private func abandonReplace(_ oldId: String, _ new: Order) {
        untrack(new)
        state.withLock { state in
            guard var old = state.orders[oldId] else { return }
            let held = old.held
            old.held = []
            old.inFlight = false
            let now = Date()
            for (snapshot, fill) in held.sorted(by: { $0.0.filledQty < $1.0.filledQty }) {
                let (events, followed) = OrderFollower.advance(
                    old.followed, to: snapshot, orderId: oldId, at: now, eventFill: fill)
                old.followed = followed
                for event in events { continuation.yield(event) }
            }
            if old.followed.finished {
                state.orders[oldId] = nil
                state.finished.insert(oldId)
            } else {
                state.orders[oldId] = old
            }
        }
    }

    /// The desk's id of the order Alpaca calls `alpacaId`, when it differs from its client order id (an exit).
    func deskId(alpacaId: String) -> String? { state.withLock { $0.deskIds[alpacaId] } }

    public nonisolated(nonsending) func restore(_ openOrders: [WorkingOrder]) async throws(BrokerError) -> [OrderUpdate]
    {
        for order in openOrders { followRestored(order) }
        return try await catchUp(only: Self.ids(openOrders))
    }

    // MARK: Service

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.streamLoop() }
            group.addTask { await self.pollLoop() }
        }
        continuation.finish()
        await rest.shutdown()
    }

    /// Keeps one trade_updates session open, reconnecting with exponential backoff.
    private func streamLoop() async {
        var backoff = Duration.milliseconds(500)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown {
                    try await TradeUpdatesStream.session(
                        settings: self.settings, logger: self.logger,
                        onListening: {
                            self.state.withLock { $0.streamListening = true }
                            self.logger.info("listening to Alpaca trade_updates")
                            // Whatever happened while the stream was down.
                            _ = try? await self.catchUp(only: nil, deliver: true)
                        },
                        onUpdate: { payload in self.receive(payload) })
                }
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                logger.warning(
                    "Alpaca trade_updates stream lost; reconnecting",
                    metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
            }
            let wasListening = state.withLock { state in
                defer { state.streamListening = false }
                return state.streamListening
            }
            // A session that got as far as listening starts the backoff again.
            if wasListening { backoff = .milliseconds(500) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            let wait = Self.jittered(backoff)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            backoff = min(backoff * 2, options.maximumBackoff)
        }
    }

    /// Polls open orders: every `pollInterval` while the stream is down, every minute while it is up.
    private func pollLoop() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.options.pollInterval) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            let due = state.withLock { state in
                !state.streamListening || ContinuousClock.now - state.lastFullPoll > .seconds(60)
            }
            if due { _ = try? await catchUp(only: nil, deliver: true) }
        }
    }

    static func jittered(_ duration: Duration) -> Duration {
        duration * Double.random(in: 0.8...1.2)
    }

    // MARK: Following orders

    private func track(_ working: WorkingOrder, inFlight: Bool, acknowledged: Bool = false) {
        let order = working.order
        let filled = working.progress
        state.withLock { state in
            if var existing = state.orders[order.id] {
                existing.inFlight = inFlight
                state.orders[order.id] = existing
                return
            }
            state.orders[order.id] = Tracked(
                member: order.member, placedAt: order.placedAt, parentId: order.parentId, type: order.terms.type,
                alpacaId: nil,
                followed: FollowedOrder(
                    filledQty: filled.filledQty, filledNotional: filled.filledNotional,
                    acknowledged: (acknowledged && filled.status != .held) || filled.filledQty > 0),
                inFlight: inFlight)
        }
    }

    func isFollowing(_ orderId: String) -> Bool { state.withLock { $0.orders[orderId] != nil } }

    /// Follows an order the ledger says Alpaca is working on.
    /// Follows an order the ledger says Alpaca is working on, and the exits it comes
    /// with: an oco's stop works beside it; a bracket's or oto's exits wait (`held`)
    /// while their entry is open.
    func followRestored(_ order: WorkingOrder) {
        track(order, inFlight: false, acknowledged: true)
        for leg in order.order.legs where !isFollowing(leg.id) {
            let status: OrderStatus = order.order.orderClass == .oco ? .new : .held
            track(
                WorkingOrder(order: leg, progress: OrderProgress(qty: leg.terms.qty, status: status)), inFlight: false,
                acknowledged: true)
        }
    }

    /// The ids of `orders` and of the exits they come with.
    static func ids(_ orders: [WorkingOrder]) -> Set<String> {
        Set(orders.flatMap { [$0.order.id] + $0.order.legs.map(\.id) })
    }

    /// Stops following `order` and its exits (Alpaca never took them).
    private func untrack(_ order: Order) {
        state.withLock { state in
            for id in [order.id] + order.legs.map(\.id) { state.orders[id] = nil }
        }
    }

    /// The submit's answer, then any stream events that arrived meanwhile, as the
    /// submit's result; its exits matched to Alpaca's legs, and followed likewise.
    private func finishSubmit(_ order: Order, _ placed: AlpacaOrder) -> [OrderUpdate] {
        let legs = AlpacaLegs.match(order.legs.map { ($0.id, $0.terms.type) }, placed.legs ?? [])
        return state.withLock { state in
            var updates = Self.settle(&state, order.id, placed)
            for (legId, alpacaLeg) in legs { updates += Self.settle(&state, legId, alpacaLeg) }
            // Exits Alpaca did not name: followed by the next poll, through their entry.
            for leg in order.legs { state.orders[leg.id]?.inFlight = false }
            return updates
        }
    }

    /// One order's answer (or snapshot) and what was held for it, booked in the
    /// order of their fills; the order is now known by `placed.id`.
    private static func settle(_ state: inout State, _ orderId: String, _ placed: AlpacaOrder) -> [OrderUpdate] {
        guard var tracked = state.orders[orderId] else { return [] }
        tracked.alpacaId = placed.id
        state.deskIds[placed.id] = orderId
        let strays = state.strays.filter { $0.alpacaId == placed.id }
        state.strays.removeAll { $0.alpacaId == placed.id }
        var snapshots = [(placed.snapshot(replacedBy: nil), nil as (qty: Decimal, price: Decimal)?)] + tracked.held
        snapshots += strays.map { (resolved($0.order, state), $0.fill) }
        snapshots.sort { $0.0.filledQty < $1.0.filledQty }
        tracked.held = []
        tracked.inFlight = false
        var updates: [OrderUpdate] = []
        let now = Date()
        for (snapshot, fill) in snapshots {
            let (events, followed) = OrderFollower.advance(
                tracked.followed, to: snapshot, orderId: orderId, at: now, eventFill: fill)
            tracked.followed = followed
            updates += events
        }
        if tracked.followed.finished {
            state.orders[orderId] = nil
            state.finished.insert(orderId)
        } else {
            state.orders[orderId] = tracked
        }
        return updates
    }

    /// `order`'s snapshot, naming the order that replaced it by the desk's id when the desk knows it.
    private static func resolved(_ order: AlpacaOrder, _ state: State) -> OrderSnapshot {
        order.snapshot(replacedBy: order.replaced_by.flatMap { state.deskIds[$0] })
    }

    /// A trade_updates event.
    private func receive(_ payload: TradeUpdateMessage.Payload) {
        let fill = payload.qty.flatMap { qty in payload.price.map { (qty: qty.value, price: $0.value) } }
        let orderId = state.withLock { state -> String? in
            if let deskId = state.deskIds[payload.order.id] { return deskId }
            let clientOrderId = payload.order.client_order_id
            if state.orders[clientOrderId] != nil || state.finished.contains(clientOrderId) { return clientOrderId }
            // Perhaps an exit of an order whose answer is on its way: kept for it.
            guard state.orders.values.contains(where: \.inFlight) else { return clientOrderId }
            state.strays.append((payload.order.id, payload.order, fill))
            if state.strays.count > Self.strayCapacity { state.strays.removeFirst() }
            return nil
        }
        guard let orderId else { return }
        let known = advance(orderId, alpacaId: payload.order.id, to: payload.order, fill: fill, deliver: true)
        if known == nil {
            logger.warning(
                "Alpaca reports an order the desk did not place",
                metadata: [
                    "alpaca_id": "\(payload.order.id)", "client_order_id": "\(orderId)", "event": "\(payload.event)",
                ])
        }
    }

    /// Brings one order up to `snapshot`; delivers the events on `updates` when
    /// `deliver`, and returns them. Nil when the desk does not know the order.
    @discardableResult
    private func advance(
        _ orderId: String, alpacaId: String, to order: AlpacaOrder, fill: (qty: Decimal, price: Decimal)?,
        deliver: Bool
    ) -> [OrderUpdate]? {
        let now = Date()
        return state.withLock { state in
            guard var tracked = state.orders[orderId] else {
                return state.finished.contains(orderId) ? [] : nil
            }
            let snapshot = Self.resolved(order, state)
            tracked.alpacaId = alpacaId
            state.deskIds[alpacaId] = orderId
            if tracked.inFlight {
                tracked.held.append((snapshot, fill))
                state.orders[orderId] = tracked
                return []
            }
            let (updates, followed) = OrderFollower.advance(
                tracked.followed, to: snapshot, orderId: orderId, at: now, eventFill: fill)
            tracked.followed = followed
            if followed.finished {
                state.orders[orderId] = nil
                state.finished.insert(orderId)
            } else {
                state.orders[orderId] = tracked
            }
            // Yielded under the lock, so one order's events keep their order.
            if deliver { for update in updates { continuation.yield(update) } }
            return updates
        }
    }

    /// Asks Alpaca for every unfinished order the desk follows (`only` those when given)
    /// and books what changed. One list request covers recent orders; any order it
    /// misses is looked up by its client order id.
    func catchUp(only: Set<String>?, deliver: Bool = false) async throws(BrokerError) -> [OrderUpdate] {
        try await followUp(only: only, deliver: deliver).updates
    }

    /// `catchUp`, also naming the orders Alpaca does not know.
    func followUp(only: Set<String>?, deliver: Bool) async throws(BrokerError) -> (
        updates: [OrderUpdate], unknown: [String]
    ) {
        struct Wanted {
            var orderId: String
            var placedAt: Date
            var tracked: Tracked
        }
        let wanted = state.withLock { state -> [Wanted] in
            state.orders.filter { id, tracked in
                !tracked.followed.finished && !tracked.inFlight && (only?.contains(id) ?? true)
            }.map { Wanted(orderId: $0.key, placedAt: $0.value.placedAt, tracked: $0.value) }
        }
        if only == nil { state.withLock { $0.lastFullPoll = .now } }
        guard let earliest = wanted.map(\.placedAt).min() else { return ([], []) }
        var found: [String: AlpacaOrder] = [:]
        var foundById: [String: AlpacaOrder] = [:]
        let after = earliest.addingTimeInterval(-60).formatted(.iso8601)
        let reply = try await rest.send(
            .GET, "/v2/orders",
            query: [("status", "all"), ("after", after), ("limit", "500"), ("direction", "asc")],
            member: Self.deskMember)
        if reply.status == 200, let orders = try? JSONDecoder().decode([AlpacaOrder].self, from: Data(reply.body)) {
            for order in orders {
                found[order.client_order_id] = order
                foundById[order.id] = order
            }
            // Orders the desk placed, by Alpaca's id: a replaced order names its successor so.
            state.withLock { state in
                for order in orders where state.orders[order.client_order_id] != nil {
                    state.deskIds[order.id] = order.client_order_id
                }
            }
        }
        var updates: [OrderUpdate] = []
        var unknown: [String] = []
        for item in wanted {
            let orderId = item.orderId
            var order = item.tracked.alpacaId.flatMap { foundById[$0] } ?? found[orderId]
            do {
                if order == nil, let alpacaId = item.tracked.alpacaId {
                    order = try await lookUp(alpacaId: alpacaId, member: item.tracked.member)
                }
                if order == nil, let parentId = item.tracked.parentId {
                    // An exit has Alpaca's own client order id: found through its entry's legs.
                    let legs = try await exits(of: parentId, member: item.tracked.member)
                    order = AlpacaLegs.match([(orderId, item.tracked.type)], legs).first?.alpaca
                }
                if order == nil { order = try await lookUp(clientOrderId: orderId, member: item.tracked.member) }
            } catch {
                continue
            }
            guard let order else {
                logger.error(
                    "an order the desk thinks is open is unknown to Alpaca",
                    metadata: ["order_id": "\(orderId)"])
                unknown.append(orderId)
                continue
            }
            updates += advance(orderId, alpacaId: order.id, to: order, fill: nil, deliver: deliver) ?? []
        }
        return (updates, unknown)
    }

    /// The exits Alpaca made for the desk's order `parentId` (its `legs`); empty when it has none.
    func exits(of parentId: String, member: String) async throws(BrokerError) -> [AlpacaOrder] {
        guard let parent = try await lookUp(clientOrderId: parentId, member: member) else { return [] }
        return try await withLegs(parent, expected: 1, member: member).legs ?? []
    }

    /// `order` with its `legs`: asked for again, nested, when the desk expects exits and the answer has none.
    func withLegs(_ order: AlpacaOrder, expected: Int, member: String) async throws(BrokerError) -> AlpacaOrder {
        guard expected > 0, (order.legs ?? []).isEmpty else { return order }
        return try await lookUp(alpacaId: order.id, member: member, nested: true) ?? order
    }

    /// `GET /v2/orders/{id}` by Alpaca's id (`nested`: with its legs), nil when Alpaca has none.
    func lookUp(alpacaId: String, member: String, nested: Bool = false) async throws(BrokerError) -> AlpacaOrder? {
        let reply = try await rest.send(
            .GET, "/v2/orders/\(alpacaId)", query: nested ? [("nested", "true")] : [], member: member)
        return try Self.order(from: reply)
    }

    /// A single order's answer: the order, nil for 404.
    static func order(from reply: AlpacaReply) throws(BrokerError) -> AlpacaOrder? {
        switch reply.status {
        case 200:
            guard let order = try? JSONDecoder().decode(AlpacaOrder.self, from: Data(reply.body)) else {
                throw .unavailable("Alpaca's answer to an order lookup could not be read")
            }
            return order
        case 404: return nil
        default:
            throw BrokerError.unavailable("Alpaca answered \(reply.status) to an order lookup: \(reply.errorMessage)")
        }
    }

    /// `GET /v2/orders:by_client_order_id`: the order, or nil when Alpaca has none.
    func lookUp(clientOrderId: String, member: String) async throws(BrokerError) -> AlpacaOrder? {
        let reply = try await rest.send(
            .GET, "/v2/orders:by_client_order_id", query: [("client_order_id", clientOrderId)], member: member)
        return try Self.order(from: reply)
    }
}

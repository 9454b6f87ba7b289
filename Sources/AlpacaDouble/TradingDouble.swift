import DeskCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import Synchronization

/// Faults the trading double injects on command.
public struct TradingFaults: Codable, Sendable, Equatable {
    /// The next N `POST /v2/orders` answer 500 without placing anything.
    public var fail_next_submits: Int?
    /// The next N requests answer 429 with `X-Ratelimit-*` headers.
    public var rate_limit_next: Int?
    /// The next N `POST /v2/orders` place the order, then answer only after `answer_delay_ms`
    /// (longer than the desk waits: the desk sees a timeout although the order exists).
    public var timeout_next_submits: Int?
    public var answer_delay_ms: Int?
    /// Every trade_updates event is sent twice.
    public var duplicate_events: Bool?
    /// An order's events are sent in reverse order.
    public var reorder_events: Bool?
    /// Market orders fill in this many parts.
    public var partial_fills: Int?
    /// Events are not sent at all (as if the stream silently lost them).
    public var drop_events: Bool?

    public init(
        fail_next_submits: Int? = nil, rate_limit_next: Int? = nil, timeout_next_submits: Int? = nil,
        answer_delay_ms: Int? = nil, duplicate_events: Bool? = nil, reorder_events: Bool? = nil,
        partial_fills: Int? = nil, drop_events: Bool? = nil
    ) {
        self.fail_next_submits = fail_next_submits
        self.rate_limit_next = rate_limit_next
        self.timeout_next_submits = timeout_next_submits
        self.answer_delay_ms = answer_delay_ms
        self.duplicate_events = duplicate_events
        self.reorder_events = reorder_events
        self.partial_fills = partial_fills
        self.drop_events = drop_events
    }
}

/// A request the double received, for tests to inspect (keys included: it is a double).
public struct ReceivedRequest: Codable, Sendable {
    public var method: String
    public var path: String
    public var headers: [String: String]
    public var body: String
}

/// Alpaca's trading API on loopback: `/v2/orders` (submit, list, get, by client
/// order id, cancel), `/v2/positions`, `/v2/account`, the `trade_updates` stream
/// at `/stream`, with faults on command and a control API under `/_double`.
public final class TradingDouble: Sendable {
    struct State {
        var book: TradingBook
        var faults = TradingFaults()
        var requests: [ReceivedRequest] = []
        var listeners: [Int: WebSocketOutboundWriter] = [:]
        var nextListener = 0
        var window: [Date] = []
        /// The exchange calendar and corporate actions the double publishes (`CalendarDouble.swift`).
        var market = PublishedMarket()
    }

    public let keyID: String
    public let secretKey: String
    public let requestsPerMinute: Int
    let state: Mutex<State>
    private let work: AsyncStream<String>.Continuation
    private let workItems: AsyncStream<String>
    private let logger: Logger

    public init(
        keyID: String = "PKTESTDOUBLE", secretKey: String = "double-secret", buyingPower: Decimal = 1_000_000,
        requestsPerMinute: Int = 200, logger: Logger = Logger(label: "alpaca-double")
    ) {
        self.keyID = keyID
        self.secretKey = secretKey
        self.requestsPerMinute = requestsPerMinute
        self.logger = logger
        state = Mutex(State(book: TradingBook(buyingPower: buyingPower)))
        (workItems, work) = AsyncStream.makeStream(of: String.self)
    }

    // MARK: Control

    public func setPrice(symbol: String, price: Decimal) {
        let open = state.withLock { state in
            state.book.observe(symbol: symbol, price: price)
            return state.book.orders.filter { $0.isOpen && $0.symbol == symbol }.map(\.id)
        }
        for id in open { work.yield(id) }
    }

    /// The symbol's best bid and ask: from now on a buy fills at the ask and a sell at the
    /// bid (a limit when they reach it), as Alpaca's paper trading fills at the NBBO.
    public func setQuote(symbol: String, bid: Decimal, ask: Decimal) {
        let open = state.withLock { state in
            state.book.quotes[symbol] = (bid, ask)
            return state.book.orders.filter { $0.isOpen && $0.symbol == symbol }.map(\.id)
        }
        for id in open { work.yield(id) }
    }

    public func inject(_ faults: TradingFaults) { state.withLock { $0.faults = faults } }

    /// Closes every trade_updates connection (events meanwhile are lost, as on Alpaca).
    public func dropStreams() async {
        let writers = state.withLock { state in
            defer { state.listeners.removeAll() }
            return Array(state.listeners.values)
        }
        for writer in writers { try? await writer.close(.goingAway, reason: "dropped by the double") }
    }

    public var receivedRequests: [ReceivedRequest] { state.withLock { $0.requests } }
    public var listenerCount: Int { state.withLock { $0.listeners.count } }

    /// The status of the order with this client order id, as Alpaca would show it.
    public func status(clientOrderId: String) -> String? {
        state.withLock { $0.book.order(clientOrderId: clientOrderId)?.status }
    }

    /// Every order the account has, as Alpaca would show it.
    public var orderCount: Int { state.withLock { $0.book.orders.count } }

    /// The status of every order the account has, legs included, in the order they were made.
    public var orderStatuses: [String] { state.withLock { $0.book.orders.map(\.status) } }

    /// Places an order directly at the "broker", bypassing the desk (reconciliation finds it).
    public func placeOutsideTheDesk(symbol: String, qty: Decimal, side: String, limitPrice: Decimal) -> String? {
        state.withLock { state in
            let request = PlacedOrderRequest(
                symbol: symbol, qty: qty, side: side, type: "limit", timeInForce: "gtc", limitPrice: limitPrice,
                stopPrice: nil, clientOrderId: nil)
            guard case .success(let order) = state.book.place(request, at: Date()) else { return nil }
            _ = state.book.route(id: order.id, at: Date())
            return order.id
        }
    }

    /// Moves the account's position without an order (drift the desk cannot explain).
    public func adjustPosition(symbol: String, by qty: Decimal, price: Decimal) {
        state.withLock { state in
            var position = state.book.positions[symbol] ?? (0, 0)
            position.qty += qty
            position.cost += qty * price
            state.book.positions[symbol] = position.qty == 0 ? nil : position
        }
    }

    // MARK: Running

    /// Routes and fills orders as prices allow; runs until cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await id in workItems {
                group.addTask { await self.execute(id) }
            }
        }
    }

    private func execute(_ id: String) async {
        try? await Task.sleep(for: .milliseconds(5))
        let parts = state.withLock { max(1, $0.faults.partial_fills ?? 1) }
        var events = state.withLock { $0.book.route(id: id, at: Date()) }
        for part in 0..<parts {
            let filled = state.withLock { state -> [TradingBook.Event] in
                guard let price = state.book.executablePrice(id: id), let order = state.book.order(id: id) else {
                    return []
                }
                let remainingParts = Decimal(parts - part)
                var qty = order.remaining
                if remainingParts > 1 {
                    qty = ExactDecimal.rounded(order.remaining / remainingParts, scale: 0)
                    if qty <= 0 { qty = order.remaining }
                }
                return state.book.fill(id: id, qty: qty, price: price, at: Date())
            }
            if filled.isEmpty { break }
            events += filled
        }
        // Immediate-or-cancel and fill-or-kill orders do not rest.
        let canceled = state.withLock { state -> [TradingBook.Event] in
            guard let order = state.book.order(id: id), order.isOpen, ["ioc", "fok"].contains(order.timeInForce)
            else { return [] }
            return (try? state.book.cancel(id: id, at: Date()).get()) ?? []
        }
        events += canceled
        await broadcast(events)
        // Exits that started working may trade at once.
        for event in events where event.event == "new" && event.order.id != id { work.yield(event.order.id) }
    }

    func broadcast(_ events: [TradingBook.Event]) async {
        let (writers, faults) = state.withLock { (Array($0.listeners.values), $0.faults) }
        if faults.drop_events == true || events.isEmpty { return }
        var sequence = faults.reorder_events == true ? Array(events.reversed()) : events
        if faults.duplicate_events == true { sequence = sequence.flatMap { [$0, $0] } }
        for event in sequence {
            let text = Self.json(Self.streamMessage(event))
            for writer in writers { try? await writer.write(.text(text)) }
        }
    }

    // MARK: Routes

    public func addRoutes(to router: Router<BasicWebSocketRequestContext>) {
        router.post("v2/orders") { request, context in
            try await self.guarded(request, context) { try await self.submit($0) }
        }
        router.get("v2/orders") { request, context in try await self.guarded(request, context) { self.list($0) } }
        router.get("v2/orders:by_client_order_id") { request, context in
            try await self.guarded(request, context) { request in
                let clientOrderId = request.uri.queryParameters.get("client_order_id") ?? ""
                let nested = Self.flag(request.uri.queryParameters.get("nested"))
                guard
                    let order = self.state.withLock({ state in
                        state.book.order(clientOrderId: clientOrderId).map { state.book.json($0, nested: nested) }
                    })
                else {
                    return Self.error(404, 40_410_000, "order not found")
                }
                return Self.reply(200, order)
            }
        }
        router.get("v2/orders/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await self.guarded(request, context) { received in
                let nested = Self.flag(received.uri.queryParameters.get("nested"))
                guard let order = self.state.withLock({ $0.book.order(id: id).map { $0 } }) else {
                    return Self.error(404, 40_410_000, "order not found")
                }
                return Self.reply(200, self.state.withLock { $0.book.json(order, nested: nested) })
            }
        }
        router.patch("v2/orders/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await self.guarded(request, context) { try await self.replace(id: id, $0) }
        }
        router.delete("v2/orders/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await self.guarded(request, context) { _ in
                switch self.state.withLock({ $0.book.cancel(id: id, at: Date()) }) {
                case .success(let events):
                    await self.broadcast(events)
                    return Response(status: .noContent)
                case .failure(let refusal):
                    return Self.error(refusal.status, refusal.code, refusal.message)
                }
            }
        }
        router.get("v2/positions") { request, context in
            try await self.guarded(request, context) { _ in
                let positions = self.state.withLock { state in
                    state.book.positions.sorted { $0.key < $1.key }.map { symbol, position in
                        Self.positionJSON(
                            symbol: symbol, qty: position.qty, cost: position.cost, price: state.book.prices[symbol])
                    }
                }
                return Self.reply(200, positions)
            }
        }
        router.get("v2/account") { request, context in
            try await self.guarded(request, context) { _ in
                let (buyingPower, equity) = self.state.withLock { state in
                    (
                        state.book.buyingPower,
                        state.book.positions.reduce(state.book.buyingPower) { total, entry in
                            total + entry.value.qty * (state.book.prices[entry.key] ?? 0)
                        }
                    )
                }
                return Self.reply(
                    200,
                    [
                        "id": "e6fe16f3-64a4-4921-8928-cadf02f92f98", "account_number": "DOUBLE0001",
                        "status": "ACTIVE",
                        "currency": "USD", "buying_power": ExactDecimal.plain(buyingPower),
                        "cash": ExactDecimal.plain(buyingPower), "equity": ExactDecimal.plain(equity),
                    ])
            }
        }
        // The router treats `/stream/` (the legacy SDK's form) as `/stream`.
        router.ws("stream") { inbound, outbound, _ in
            try await self.streamSession(inbound: inbound, outbound: outbound)
        }
        addControlRoutes(to: router)
        addCalendarRoutes(to: router)
        addCorporateActionRoutes(to: router)
    }

    private func addControlRoutes(to router: Router<BasicWebSocketRequestContext>) {
        router.post("_double/price") { request, context in
            let body = try await request.decode(as: [String: String].self, context: context)
            guard let symbol = body["symbol"], let text = body["price"],
                case .success(let price) = ExactDecimal.parse(text)
            else { throw HTTPError(.badRequest, message: #"expected {"symbol": "AAPL", "price": "190.10"}"#) }
            self.setPrice(symbol: symbol, price: price)
            return Response(status: .ok)
        }
        router.post("_double/faults") { request, context in
            self.inject(try await request.decode(as: TradingFaults.self, context: context))
            return Response(status: .ok)
        }
        router.post("_double/drop-streams") { _, _ in
            await self.dropStreams()
            return Response(status: .ok)
        }
        router.get("_double/requests") { _, _ in
            let data = try JSONEncoder().encode(self.receivedRequests)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(data: data)))
        }
    }

    /// Records the request, checks the keys and the rate limit, then answers.
    func guarded(
        _ request: Request, _ context: BasicWebSocketRequestContext, _ answer: (ReceivedBody) async throws -> Response
    ) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let received = ReceivedBody(uri: request.uri, bytes: Array(body.readableBytesView))
        let (limited, remaining) = state.withLock { state -> (Bool, Int) in
            state.requests.append(
                ReceivedRequest(
                    method: request.method.rawValue, path: request.uri.path, headers: headers,
                    body: String(decoding: received.bytes, as: UTF8.self)))
            let now = Date()
            state.window = state.window.filter { now.timeIntervalSince($0) < 60 }
            if let forced = state.faults.rate_limit_next, forced > 0 {
                state.faults.rate_limit_next = forced - 1
                return (true, 0)
            }
            if state.window.count >= requestsPerMinute { return (true, 0) }
            state.window.append(now)
            return (false, requestsPerMinute - state.window.count)
        }
        var response: Response
        if headers["apca-api-key-id"] != keyID || headers["apca-api-secret-key"] != secretKey {
            response = Self.error(401, 40_110_000, "unauthorized.")
        } else if limited {
            response = Self.error(429, 42_910_000, "rate limit exceeded")
        } else {
            response = try await answer(received)
        }
        let reset = Int(Date().timeIntervalSince1970) + 1
        response.headers[HTTPField.Name("X-Ratelimit-Limit")!] = "\(requestsPerMinute)"
        response.headers[HTTPField.Name("X-Ratelimit-Remaining")!] = "\(remaining)"
        response.headers[HTTPField.Name("X-Ratelimit-Reset")!] = "\(reset)"
        return response
    }

    struct ReceivedBody {
        var uri: URI
        var bytes: [UInt8]
    }

    private func submit(_ received: ReceivedBody) async throws -> Response {
        enum Plan { case fail, delay(Int), normal }
        let plan = state.withLock { state -> Plan in
            if let count = state.faults.fail_next_submits, count > 0 {
                state.faults.fail_next_submits = count - 1
                return .fail
            }
            if let count = state.faults.timeout_next_submits, count > 0 {
                state.faults.timeout_next_submits = count - 1
                return .delay(state.faults.answer_delay_ms ?? 3000)
            }
            return .normal
        }
        if case .fail = plan { return Self.error(500, 50_010_000, "internal server error") }
        let request: PlacedOrderRequest
        switch PlacedOrderRequest.parse(received.bytes) {
        case .success(let parsed): request = parsed
        case .failure(let refusal): return Self.error(refusal.status, refusal.code, refusal.message)
        }
        let placed = state.withLock { $0.book.place(request, at: Date()) }
        switch placed {
        case .failure(let refusal):
            return Self.error(refusal.status, refusal.code, refusal.message)
        case .success(let order):
            // Alpaca answers a new order with its exits (`legs`).
            let json = state.withLock { $0.book.json(order, nested: true) }
            work.yield(order.id)
            if case .delay(let milliseconds) = plan { try await Task.sleep(for: .milliseconds(milliseconds)) }
            return Self.reply(200, json)
        }
    }

    /// `PATCH /v2/orders/{id}`: the new order (200), the old one's `replaced` event on the stream.
    private func replace(id: String, _ received: ReceivedBody) async throws -> Response {
        let change: ReplaceRequest
        switch ReplaceRequest.parse(received.bytes) {
        case .success(let parsed): change = parsed
        case .failure(let refusal): return Self.error(refusal.status, refusal.code, refusal.message)
        }
        switch state.withLock({ $0.book.replace(id: id, with: change, at: Date()) }) {
        case .failure(let refusal):
            return Self.error(refusal.status, refusal.code, refusal.message)
        case .success(let (new, replaced)):
            let json = state.withLock { $0.book.json(new, nested: true) }
            await broadcast([replaced])
            work.yield(new.id)
            return Self.reply(200, json)
        }
    }

    private func list(_ received: ReceivedBody) -> Response {
        let parameters = received.uri.queryParameters
        let status = parameters.get("status") ?? "open"
        let limit = min(500, parameters.get("limit").flatMap(Int.init) ?? 50)
        let after = parameters.get("after").flatMap(Self.parseDate)
        let ascending = parameters.get("direction") == "asc"
        // Nested: an order's exits under its `legs`, not listed on their own.
        let nested = Self.flag(parameters.get("nested"))
        let listed = state.withLock { state in
            let orders = state.book.orders.filter { order in
                switch status {
                case "open": order.isOpen
                case "closed": !order.isOpen
                default: true
                }
            }.filter { order in
                (after.map { order.createdAt > $0 } ?? true) && !(nested && order.parentId != nil)
            }
            let sorted = ascending ? orders : orders.reversed()
            return sorted.prefix(limit).map { state.book.json($0, nested: nested) }
        }
        return Self.reply(200, listed)
    }

    private func streamSession(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        var authorized = false
        var listenerId: Int?
        defer {
            if let listenerId { _ = state.withLock { $0.listeners.removeValue(forKey: listenerId) } }
        }
        for try await message in inbound.messages(maxSize: 1 << 20) {
            let bytes: [UInt8] =
                switch message {
                case .text(let text): Array(text.utf8)
                case .binary(let buffer): Array(buffer.readableBytesView)
                }
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
                let action = object["action"] as? String
            else { continue }
            let data = object["data"] as? [String: Any] ?? [:]
            switch action {
            case "authenticate", "auth":
                authorized = data["key_id"] as? String == keyID && data["secret_key"] as? String == secretKey
                let reply: [String: Any] = [
                    "stream": "authorization",
                    "data": ["status": authorized ? "authorized" : "unauthorized", "action": "authenticate"],
                ]
                try await outbound.write(.text(Self.json(reply)))
                if !authorized { return }
            case "listen":
                guard authorized else {
                    try await outbound.write(
                        .text(
                            Self.json([
                                "stream": "authorization", "data": ["status": "unauthorized", "action": "listen"],
                            ])))
                    continue
                }
                let streams = data["streams"] as? [String] ?? []
                if streams.contains("trade_updates"), listenerId == nil {
                    listenerId = state.withLock { state in
                        state.nextListener += 1
                        state.listeners[state.nextListener] = outbound
                        return state.nextListener
                    }
                }
                try await outbound.write(.text(Self.json(["stream": "listening", "data": ["streams": streams]])))
            default:
                continue
            }
        }
    }

    // MARK: JSON

    /// Alpaca's Order object; `legs` its exits when listed nested (nil: `"legs": null`).
    static func orderJSON(_ order: TradingBook.Order, legs: [TradingBook.Order]? = nil) -> [String: Any] {
        let null = NSNull()
        func decimal(_ value: Decimal?) -> Any { value.map(ExactDecimal.plain) ?? null }
        return [
            "id": order.id, "client_order_id": order.clientOrderId, "created_at": timestamp(order.createdAt),
            "updated_at": timestamp(order.updatedAt), "submitted_at": timestamp(order.createdAt),
            "filled_at": order.status == "filled" ? timestamp(order.updatedAt) : null, "expired_at": null,
            "canceled_at": order.status == "canceled" ? timestamp(order.updatedAt) : null, "failed_at": null,
            "replaced_at": order.status == "replaced" ? timestamp(order.updatedAt) : null,
            "replaced_by": order.replacedBy ?? null, "replaces": order.replaces ?? null,
            "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415", "symbol": order.symbol, "asset_class": "us_equity",
            "notional": null, "qty": ExactDecimal.plain(order.qty), "filled_qty": ExactDecimal.plain(order.filledQty),
            "filled_avg_price": decimal(order.filledAvgPrice),
            "order_class": order.orderClass == "simple" ? "" : order.orderClass,
            "order_type": order.type, "type": order.type, "side": order.side, "time_in_force": order.timeInForce,
            "limit_price": decimal(order.limitPrice), "stop_price": decimal(order.stopPrice), "status": order.status,
            "extended_hours": order.extendedHours, "legs": legs.map { $0.map { orderJSON($0) } } ?? null,
            "trail_percent": decimal(order.trailPercent), "trail_price": decimal(order.trailPrice),
            "hwm": decimal(order.hwm),
        ]
    }

    /// `?nested=True`, `true`, `1`: query booleans as alpaca-py and Go send them.
    static func flag(_ text: String?) -> Bool { ["true", "1"].contains(text?.lowercased() ?? "") }

    static func streamMessage(_ event: TradingBook.Event) -> [String: Any] {
        var data: [String: Any] = [
            "event": event.event, "order": orderJSON(event.order), "timestamp": timestamp(event.at),
        ]
        if let id = event.executionId { data["execution_id"] = id }
        if let price = event.price { data["price"] = ExactDecimal.plain(price) }
        if let qty = event.qty { data["qty"] = ExactDecimal.plain(qty) }
        if let position = event.positionQty { data["position_qty"] = ExactDecimal.plain(position) }
        return ["stream": "trade_updates", "data": data]
    }

    static func positionJSON(symbol: String, qty: Decimal, cost: Decimal, price: Decimal?) -> [String: Any] {
        let average = qty == 0 ? 0 : ExactDecimal.rounded(cost / qty, scale: 6)
        var position: [String: Any] = [
            "asset_id": "904837e3-3b76-47ec-b432-046db621571b", "symbol": symbol, "exchange": "NASDAQ",
            "asset_class": "us_equity", "avg_entry_price": ExactDecimal.plain(average),
            "qty": ExactDecimal.plain(qty), "qty_available": ExactDecimal.plain(qty),
            "side": qty < 0 ? "short" : "long", "cost_basis": ExactDecimal.plain(cost),
        ]
        if let price {
            position["current_price"] = ExactDecimal.plain(price)
            position["market_value"] = ExactDecimal.plain(price * qty)
        }
        return position
    }

    static func timestamp(_ date: Date) -> String { Timestamp.preciseString(date) }

    static func parseDate(_ text: String) -> Date? { Timestamp.date(text) }

    static func json(_ object: Any) -> String {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map {
            String(decoding: $0, as: UTF8.self)
        } ?? "{}"
    }

    static func reply(_ status: Int, _ object: Any) -> Response {
        Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: json(object))))
    }

    static func error(_ status: Int, _ code: Int, _ message: String) -> Response {
        reply(status, ["code": code, "message": message])
    }
}

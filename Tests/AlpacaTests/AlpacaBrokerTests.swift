import AlpacaBroker
import AlpacaData
import AlpacaDouble
import DeskBroker
import DeskCore
import DeskTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// Runs the trading double on a free loopback port for the duration of `body`.
func withTradingDouble<T: Sendable>(
    _ double: TradingDouble = TradingDouble(), _ body: @Sendable (TradingDouble, AlpacaSettings) async throws -> T
) async throws -> T {
    let port = PortSignal()
    let app = AlpacaDouble.application(port: 0, logger: testLogger(), register: double.addRoutes) { await port.set($0) }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.runService(gracefulShutdownSignals: []) }
        group.addTask { await double.run() }
        defer { group.cancelAll() }
        let settings = AlpacaSettings(
            keyID: double.keyID, secretKey: double.secretKey, baseURL: "http://127.0.0.1:\(await port.value())")
        return try await body(double, settings)
    }
}

/// Runs an AlpacaVenue (stream and poller) and collects its later updates.
func withBroker<T: Sendable>(
    _ settings: AlpacaSettings,
    options: AlpacaVenue.Options = .init(requestTimeout: .seconds(2), pollInterval: .milliseconds(300)),
    _ body: @Sendable (AlpacaVenue, UpdateLog) async throws -> T
) async throws -> T {
    let broker = AlpacaVenue(settings: settings, options: options, logger: testLogger())
    let log = UpdateLog()
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await broker.run() }
        group.addTask { for await update in broker.updates { await log.append(update) } }
        defer { group.cancelAll() }
        return try await body(broker, log)
    }
}

actor PortSignal {
    private var port: Int?
    private var waiters: [CheckedContinuation<Int, Never>] = []
    func set(_ value: Int) {
        port = value
        for waiter in waiters { waiter.resume(returning: value) }
        waiters.removeAll()
    }
    func value() async -> Int {
        if let port { return port }
        return await withCheckedContinuation { waiters.append($0) }
    }
}

actor UpdateLog {
    private(set) var updates: [OrderUpdate] = []
    func append(_ update: OrderUpdate) { updates.append(update) }
    func fills(_ orderId: String) -> [(Decimal, Decimal)] {
        updates.filter { $0.orderId == orderId }.compactMap {
            if case .fill(let qty, let price) = $0.event { return (qty, price) }
            return nil
        }
    }
    func fillIds(_ orderId: String) -> [String] { updates.filter { $0.orderId == orderId }.compactMap(\.fillId) }
}

func order(
    _ id: String = UUID().uuidString.lowercased(), _ symbol: String = "AAPL", qty: Decimal = 10, side: Side = .buy,
    type: OrderType = .market, limit: Decimal? = nil, member: String = "alice"
) -> Order {
    Order(
        id: id, member: member,
        terms: OrderTerms(symbol: symbol, qty: qty, side: side, type: type, timeInForce: .day, limitPrice: limit),
        placedAt: Date())
}

/// Every fill of `orderId` the desk learned, from the submit's answer and the stream.
func allFills(_ immediate: [OrderUpdate], _ log: UpdateLog, _ orderId: String) async -> [(Decimal, Decimal)] {
    immediate.compactMap {
        if case .fill(let qty, let price) = $0.event { return (qty, price) }
        return nil
    } + (await log.fills(orderId))
}

@Suite("AlpacaBroker against the Alpaca double", .serialized, .timeLimit(.minutes(2)))
struct AlpacaBrokerTests {
    @Test("an order reaches Alpaca as JSON with the keys and its id; its fill comes back once over the stream")
    func submitAndFill() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: Decimal(string: "190.25")!)
            try await withBroker(settings) { broker, log in
                #expect(await eventually { double.listenerCount == 1 })
                let placed = order()
                let immediate = try await broker.submit(placed, resubmission: false)
                #expect(await eventually { await allFills(immediate, log, placed.id).count == 1 })
                let fills = await allFills(immediate, log, placed.id)
                #expect(fills.first?.0 == 10 && fills.first?.1 == Decimal(string: "190.25")!)
                let post = try #require(double.receivedRequests.first { $0.method == "POST" })
                #expect(post.path == "/v2/orders")
                #expect(post.headers["apca-api-key-id"] == settings.keyID)
                #expect(post.headers["apca-api-secret-key"] == settings.secretKey)
                #expect(post.headers["content-type"] == "application/json")
                let body = try JSONSerialization.jsonObject(with: Data(post.body.utf8)) as! [String: Any]
                #expect(body["client_order_id"] as? String == placed.id)
                #expect(body["qty"] as? String == "10")
                #expect(body["side"] as? String == "buy" && body["type"] as? String == "market")
            }
        }
    }

    @Test("partial fills, duplicated and reordered events: every fill booked exactly once")
    func messyStream() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "MSFT", price: 420)
            double.inject(TradingFaults(duplicate_events: true, reorder_events: true, partial_fills: 4))
            try await withBroker(settings) { broker, log in
                #expect(await eventually { double.listenerCount == 1 })
                let placed = order("messy-1", "MSFT", qty: 13)
                let immediate = try await broker.submit(placed, resubmission: false)
                #expect(
                    await eventually { await allFills(immediate, log, placed.id).reduce(0) { $0 + $1.0 } == 13 })
                try await Task.sleep(for: .milliseconds(300))
                let fills = await allFills(immediate, log, placed.id)
                #expect(fills.reduce(0) { $0 + $1.0 } == 13)
                let notional = fills.reduce(Decimal(0)) { $0 + $1.0 * $1.1 }
                #expect(notional == Decimal(13 * 420), "\(ExactDecimal.plain(notional)) \(fills)")
                let ids = immediate.compactMap(\.fillId) + (await log.fillIds(placed.id))
                #expect(Set(ids).count == ids.count, "a fill id was booked twice: \(ids)")
            }
        }
    }

    @Test("a timeout after Alpaca took the order: the desk looks it up and never places it twice")
    func timeoutAfterAccept() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 190)
            double.inject(TradingFaults(timeout_next_submits: 1, answer_delay_ms: 3000))
            let options = AlpacaVenue.Options(requestTimeout: .milliseconds(500), pollInterval: .milliseconds(300))
            try await withBroker(settings, options: options) { broker, log in
                let placed = order("timeout-1")
                let immediate = try await broker.submit(placed, resubmission: false)
                #expect(double.orderCount == 1)
                #expect(double.receivedRequests.contains { $0.path == "/v2/orders:by_client_order_id" })
                #expect(await eventually { await allFills(immediate, log, placed.id).count == 1 })
                #expect(double.orderCount == 1)
            }
        }
    }

    @Test("500s are retried after a lookup; still one order")
    func serverErrors() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 190)
            double.inject(TradingFaults(fail_next_submits: 2))
            try await withBroker(settings) { broker, _ in
                _ = try await broker.submit(order("retry-1"), resubmission: false)
                #expect(double.orderCount == 1)
                #expect(double.receivedRequests.filter { $0.method == "POST" }.count == 3)
            }
        }
    }

    @Test("when every attempt fails the order is reported unavailable (kept pending), not refused")
    func unavailable() async throws {
        try await withTradingDouble { double, settings in
            double.inject(TradingFaults(fail_next_submits: 10))
            try await withBroker(settings) { broker, _ in
                await #expect(throws: BrokerError.self) {
                    _ = try await broker.submit(order("down-1"), resubmission: false)
                }
                do {
                    _ = try await broker.submit(order("down-2"), resubmission: false)
                } catch {
                    if case .unavailable(let reason) = error as? BrokerError {
                        #expect(reason.contains("500"))
                    } else {
                        Issue.record("expected unavailable, got \(error)")
                    }
                }
                #expect(double.orderCount == 0)
            }
        }
    }

    @Test("wrong keys: the order is not retried and the desk says which variables to check")
    func wrongKeys() async throws {
        try await withTradingDouble { double, settings in
            var wrong = settings
            wrong.secretKey = "not-the-secret"
            try await withBroker(wrong) { broker, _ in
                await #expect(
                    throws: BrokerError.unavailable(
                        "Alpaca refused the desk's API keys (401); check APCA_API_KEY_ID and APCA_API_SECRET_KEY")
                ) { _ = try await broker.submit(order("keys-1"), resubmission: false) }
                #expect(double.receivedRequests.filter { $0.method == "POST" }.count == 1)
                #expect(double.orderCount == 0)
            }
        }
    }

    @Test(
        "Alpaca's rejections reach the member with Alpaca's reason and their kind (403: not permitted, 422: invalid)",
        arguments: [
            (order("big", qty: 1_000_000), BrokerRefusal.notPermitted, "insufficient buying power"),
            (order("subpenny", type: .limit, limit: Decimal(string: "190.123")!), .invalidOrder, "sub-penny increment"),
        ])
    func rejections(placed: Order, kind: BrokerRefusal, message: String) async throws {
        try await withTradingDouble(TradingDouble(buyingPower: 100_000)) { double, settings in
            double.setPrice(symbol: "AAPL", price: 190)
            try await withBroker(settings) { broker, _ in
                do {
                    _ = try await broker.submit(placed, resubmission: false)
                    Issue.record("expected a refusal")
                } catch {
                    guard case .refused(let reason, let refusal) = error as? BrokerError else {
                        Issue.record("expected refused, got \(error)")
                        return
                    }
                    #expect(refusal == kind)
                    #expect(reason.contains(message), "\(reason)")
                }
            }
        }
    }

    @Test("a wash trade is refused with Alpaca's words")
    func washTrade() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 190)
            try await withBroker(settings) { broker, _ in
                _ = try await broker.submit(
                    order("rest", side: .sell, type: .limit, limit: 250, member: "bob"), resubmission: false)
                await #expect(
                    throws: BrokerError.refused(
                        reason:
                            "Alpaca refused the order: potential wash trade detected. use complex orders (Alpaca code 40310000)",
                        kind: .notPermitted)
                ) {
                    _ = try await broker.submit(order("buy"), resubmission: false)
                }
            }
        }
    }

    @Test("429 with X-Ratelimit headers: the desk waits for the reset and gets through")
    func rateLimited() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 190)
            double.inject(TradingFaults(rate_limit_next: 2))
            try await withBroker(settings) { broker, _ in
                _ = try await broker.submit(order("limited-1"), resubmission: false)
                #expect(double.orderCount == 1)
                #expect(double.receivedRequests.filter { $0.method == "POST" }.count == 3)
            }
        }
    }

    @Test("events lost while the stream was down are caught up after it reconnects, once")
    func droppedStream() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 200)
            try await withBroker(settings) { broker, log in
                #expect(await eventually { double.listenerCount == 1 })
                let resting = order("resting-1", type: .limit, limit: 190)
                _ = try await broker.submit(resting, resubmission: false)
                // The stream drops and the fill's events are lost.
                double.inject(TradingFaults(drop_events: true))
                await double.dropStreams()
                double.setPrice(symbol: "AAPL", price: 189)
                try await Task.sleep(for: .milliseconds(100))
                double.inject(TradingFaults())
                #expect(await eventually { await log.fills(resting.id).count == 1 })
                #expect(await eventually { double.listenerCount == 1 }, "the broker reconnects")
                try await Task.sleep(for: .milliseconds(700))
                #expect(await log.fills(resting.id).count == 1)
                #expect(await log.fills(resting.id).first?.1 == 189)
            }
        }
    }

    @Test("after a restart: open orders are taken back and what filled meanwhile is booked")
    func restore() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 200)
            let placed = order("restored-1", type: .limit, limit: 190)
            try await withBroker(settings) { broker, _ in _ = try await broker.submit(placed, resubmission: false) }
            double.setPrice(symbol: "AAPL", price: Decimal(string: "189.5")!)
            // Filled at Alpaca while the desk was down (the double fills on its own task).
            #expect(await eventually { double.status(clientOrderId: placed.id) == "filled" })
            try await withBroker(settings) { broker, _ in
                let working = WorkingOrder(order: placed, progress: OrderProgress(qty: placed.terms.qty))
                let updates = try await broker.restore([working])
                #expect(updates.map(\.event) == [.fill(qty: 10, price: Decimal(string: "189.5")!)])
            }
        }
    }

    @Test("a resubmission after a restart finds the order at Alpaca instead of placing it again")
    func resubmission() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 190)
            let placed = order("resubmitted-1")
            try await withBroker(settings) { broker, _ in _ = try await broker.submit(placed, resubmission: false) }
            #expect(await eventually { double.status(clientOrderId: placed.id) == "filled" })
            try await withBroker(settings) { broker, _ in
                let updates = try await broker.submit(placed, resubmission: true)
                #expect(double.orderCount == 1)
                #expect(updates.contains { if case .fill = $0.event { true } else { false } })
            }
        }
    }

    @Test("reconciliation: outside orders and position drift are reported")
    func reconciliation() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 190)
            let outside = try #require(double.placeOutsideTheDesk(symbol: "MSFT", qty: 5, side: "buy", limitPrice: 100))
            double.adjustPosition(symbol: "TSLA", by: 3, price: 240)
            try await withBroker(settings) { broker, _ in
                let desk = order("desk-1")
                _ = try await broker.submit(desk, resubmission: false)
                #expect(await eventually { double.status(clientOrderId: desk.id) == "filled" })
                let account = try await broker.account()
                let report = Reconciliation.compare(
                    deskOrderIds: [desk.id], deskPositions: ["AAPL": 10], account: account, openOrdersChecked: 1,
                    eventsCaughtUp: 0, unknownToBroker: [], at: Date())
                #expect(report.outside_orders.map(\.alpaca_id) == [outside])
                #expect(report.position_differences.map(\.symbol) == ["TSLA"])
                #expect(report.position_differences.first?.broker == "3")
                #expect(!report.isClean)
            }
        }
    }
}

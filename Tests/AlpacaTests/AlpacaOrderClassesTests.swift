import AlpacaBroker
import AlpacaData
import AlpacaDouble
import DeskBroker
import DeskCore
import DeskTestSupport
import Foundation
import Testing

/// An entry with its exits as admission builds them: each exit its own order, `parentId` the entry.
func classed(
    _ id: String, _ orderClass: OrderClass, _ entry: OrderTerms, exits: [OrderTerms], member: String = "alice"
) -> Order {
    let placedAt = Date()
    let legs = exits.enumerated().map { index, terms in
        Order(
            id: "\(id)-leg\(index)", member: member, terms: terms, placedAt: placedAt, orderClass: orderClass,
            parentId: id)
    }
    return Order(id: id, member: member, terms: entry, placedAt: placedAt, orderClass: orderClass, legs: legs)
}

/// A JSON body with its keys sorted, for comparing shapes.
func sortedJSON(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try! encoder.encode(value), as: UTF8.self)
}

@Suite("Orders forwarded to Alpaca in its own shapes")
struct AlpacaOrderShapeTests {
    static let takeProfit = OrderTerms(
        symbol: "AAPL", qty: 5, side: .sell, type: .limit, timeInForce: .gtc, limitPrice: dec("210"))
    static let stopLoss = OrderTerms(
        symbol: "AAPL", qty: 5, side: .sell, type: .stop, timeInForce: .gtc, stopPrice: dec("195"))
    static let stopLimitLoss = OrderTerms(
        symbol: "AAPL", qty: 5, side: .sell, type: .stopLimit, timeInForce: .gtc, limitPrice: dec("194.5"),
        stopPrice: dec("195"))

    @Test(
        "the body of POST /v2/orders: one request per order, exits as take_profit/stop_loss",
        arguments: [
            (
                Order(
                    id: "o1", member: "a", terms: OrderTerms(symbol: "AAPL", qty: 10, side: .buy), placedAt: Date()),
                #"{"client_order_id":"o1","qty":"10","side":"buy","symbol":"AAPL","time_in_force":"day","type":"market"}"#
            ),
            (
                classed(
                    "b1", .bracket, OrderTerms(symbol: "AAPL", qty: 5, side: .buy, timeInForce: .gtc),
                    exits: [takeProfit, stopLoss]),
                #"{"client_order_id":"b1","order_class":"bracket","qty":"5","side":"buy","stop_loss":{"stop_price":"195"},"symbol":"AAPL","take_profit":{"limit_price":"210"},"time_in_force":"gtc","type":"market"}"#
            ),
            (
                classed(
                    "b2", .bracket,
                    OrderTerms(
                        symbol: "AAPL", qty: 5, side: .buy, type: .limit, timeInForce: .gtc, limitPrice: dec("200")),
                    exits: [takeProfit, stopLimitLoss]),
                #"{"client_order_id":"b2","limit_price":"200","order_class":"bracket","qty":"5","side":"buy","stop_loss":{"limit_price":"194.5","stop_price":"195"},"symbol":"AAPL","take_profit":{"limit_price":"210"},"time_in_force":"gtc","type":"limit"}"#
            ),
            (
                classed("oco1", .oco, takeProfit, exits: [stopLoss]),
                #"{"client_order_id":"oco1","limit_price":"210","order_class":"oco","qty":"5","side":"sell","stop_loss":{"stop_price":"195"},"symbol":"AAPL","take_profit":{"limit_price":"210"},"time_in_force":"gtc","type":"limit"}"#
            ),
            (
                classed(
                    "oto1", .oto, OrderTerms(symbol: "AAPL", qty: 5, side: .buy, timeInForce: .day), exits: [stopLoss]),
                #"{"client_order_id":"oto1","order_class":"oto","qty":"5","side":"buy","stop_loss":{"stop_price":"195"},"symbol":"AAPL","time_in_force":"day","type":"market"}"#
            ),
            (
                Order(
                    id: "t1", member: "a",
                    terms: OrderTerms(
                        symbol: "AAPL", qty: 3, side: .sell, type: .trailingStop, timeInForce: .gtc,
                        trailPrice: dec("2.5")), placedAt: Date()),
                #"{"client_order_id":"t1","qty":"3","side":"sell","symbol":"AAPL","time_in_force":"gtc","trail_price":"2.5","type":"trailing_stop"}"#
            ),
            (
                Order(
                    id: "t2", member: "a",
                    terms: OrderTerms(
                        symbol: "AAPL", qty: 3, side: .buy, type: .trailingStop, timeInForce: .day,
                        trailPercent: dec("1.5")), placedAt: Date()),
                #"{"client_order_id":"t2","qty":"3","side":"buy","symbol":"AAPL","time_in_force":"day","trail_percent":"1.5","type":"trailing_stop"}"#
            ),
            (
                Order(
                    id: "x1", member: "a",
                    terms: OrderTerms(
                        symbol: "AAPL", qty: 1, side: .buy, type: .limit, limitPrice: dec("180"), extendedHours: true),
                    placedAt: Date()),
                #"{"client_order_id":"x1","extended_hours":true,"limit_price":"180","qty":"1","side":"buy","symbol":"AAPL","time_in_force":"day","type":"limit"}"#
            ),
            // A notional order reaches Alpaca as the quantity admission made of it.
            (
                Order(
                    id: "n1", member: "a",
                    terms: OrderTerms(symbol: "AAPL", qty: dec("2.631578947"), side: .buy, notional: 500),
                    placedAt: Date()),
                #"{"client_order_id":"n1","qty":"2.631578947","side":"buy","symbol":"AAPL","time_in_force":"day","type":"market"}"#
            ),
        ])
    func orderBody(order: Order, expected: String) {
        #expect(sortedJSON(AlpacaOrderBody(order)) == expected)
    }

    @Test(
        "the body of PATCH /v2/orders/{id}: the new terms under the new order's id",
        arguments: [
            (
                OrderTerms(
                    symbol: "AAPL", qty: 3, side: .buy, type: .limit, timeInForce: .gtc, limitPrice: dec("95.5")),
                #"{"client_order_id":"new-1","limit_price":"95.5","qty":"3","time_in_force":"gtc"}"#
            ),
            (
                OrderTerms(
                    symbol: "AAPL", qty: 3, side: .sell, type: .trailingStop, timeInForce: .gtc, stopPrice: dec("98"),
                    trailPrice: dec("1.5")),
                #"{"client_order_id":"new-1","qty":"3","time_in_force":"gtc","trail":"1.5"}"#
            ),
            (
                OrderTerms(symbol: "AAPL", qty: 3, side: .sell, type: .stop, timeInForce: .day, stopPrice: dec("98")),
                #"{"client_order_id":"new-1","qty":"3","stop_price":"98","time_in_force":"day"}"#
            ),
        ])
    func replaceBody(terms: OrderTerms, expected: String) {
        let order = Order(id: "new-1", member: "a", terms: terms, placedAt: Date())
        #expect(sortedJSON(AlpacaReplaceBody(order)) == expected)
    }

    static func alpacaLeg(_ id: String, _ type: String) -> AlpacaOrder {
        var leg = AlpacaOrder(
            id: id, clientOrderId: "alpaca-\(id)", symbol: "AAPL", qty: 5, side: "sell", status: "held")
        leg.type = type
        return leg
    }

    @Test(
        "exits are matched to Alpaca's legs by role (limit: take profit; stop or stop-limit: stop loss)",
        arguments: [
            ([("tp", OrderType.limit), ("sl", .stop)], ["A": "limit", "B": "stop"], ["tp": "A", "sl": "B"]),
            (
                [("tp", OrderType.limit), ("sl", .stopLimit)], ["B": "stop_limit", "A": "limit"],
                ["tp": "A", "sl": "B"]
            ),
            ([("sl", OrderType.stop)], ["B": "stop"], ["sl": "B"]),
            ([("tp", OrderType.limit)], ["B": "stop"], [:]),
        ] as [([(String, OrderType)], [String: String], [String: String])])
    func legMatching(exits: [(String, OrderType)], legs: [String: String], expected: [String: String]) {
        let alpacaLegs = legs.sorted { $0.key > $1.key }.map { Self.alpacaLeg($0.key, $0.value) }
        let matched = AlpacaLegs.match(exits, alpacaLegs)
        #expect(Dictionary(uniqueKeysWithValues: matched.map { ($0.deskId, $0.alpaca.id) }) == expected)
    }

    @Test("following an exit: held is not yet accepted; activated it is; a replaced order names its successor")
    func followingExitsAndReplacement() {
        let at = Date(timeIntervalSince1970: 0)
        var followed = FollowedOrder()
        var (events, next) = OrderFollower.advance(
            followed, to: OrderSnapshot(status: "held", filledQty: 0, filledAvgPrice: nil), orderId: "leg", at: at)
        #expect(events.isEmpty && !next.acknowledged)
        (events, next) = OrderFollower.advance(
            next, to: OrderSnapshot(status: "new", filledQty: 0, filledAvgPrice: nil), orderId: "leg", at: at)
        #expect(events.map(\.event) == [.accepted])
        followed = next
        (events, next) = OrderFollower.advance(
            followed, to: OrderSnapshot(status: "replaced", filledQty: 0, filledAvgPrice: nil, replacedBy: "new-1"),
            orderId: "leg", at: at)
        #expect(events.map(\.event) == [.replaced(by: "new-1")] && next.finished)
        (events, next) = OrderFollower.advance(
            followed, to: OrderSnapshot(status: "replaced", filledQty: 0, filledAvgPrice: nil), orderId: "leg", at: at)
        #expect(events.map(\.event) == [.canceled(reason: "replaced at Alpaca, outside the desk")])
    }
}

/// Every event the venue reported for `orderId`: the submit's answer and the stream's.
func events(_ immediate: [OrderUpdate], _ log: UpdateLog, _ orderId: String) async -> [OrderEvent] {
    immediate.filter { $0.orderId == orderId }.map(\.event)
        + (await log.updates).filter { $0.orderId == orderId }.map(\.event)
}

@Suite("AlpacaVenue forwards order classes and replacements to the Alpaca double", .serialized, .timeLimit(.minutes(2)))
struct AlpacaOrderClassesVenueTests {
    /// A bracket buying 5 AAPL (at the market, or at `limit`), taking profit at 210, stopping at 195 (limit 194.5).
    static func bracket(_ id: String, limit: Decimal? = nil) -> Order {
        classed(
            id, .bracket,
            OrderTerms(
                symbol: "AAPL", qty: 5, side: .buy, type: limit == nil ? .market : .limit, timeInForce: .gtc,
                limitPrice: limit),
            exits: [AlpacaOrderShapeTests.takeProfit, AlpacaOrderShapeTests.stopLimitLoss])
    }

    /// The POST /v2/orders bodies the double received.
    static func posts(_ double: TradingDouble) -> [[String: Any]] {
        double.receivedRequests.filter { $0.method == "POST" && $0.path == "/v2/orders" }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any]
        }
    }

    @Test(
        "a bracket is ONE request; the legs' events come back under the desk's leg ids; the stop's fill cancels the take profit"
    )
    func bracket() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 200)
            try await withBroker(settings) { broker, log in
                #expect(await eventually { double.listenerCount == 1 })
                let entry = Self.bracket("bracket-1")
                let (takeProfit, stopLoss) = (entry.legs[0].id, entry.legs[1].id)
                let immediate = try await broker.submit(entry, resubmission: false)
                let posts = Self.posts(double)
                #expect(posts.count == 1)
                #expect(posts.first?["order_class"] as? String == "bracket")
                #expect((posts.first?["take_profit"] as? [String: Any])?["limit_price"] as? String == "210")
                #expect((posts.first?["stop_loss"] as? [String: Any])?["stop_price"] as? String == "195")
                #expect(await eventually { await events(immediate, log, entry.id).contains(.fill(qty: 5, price: 200)) })
                // The entry filled: both exits activate (held → new).
                #expect(await eventually { await events(immediate, log, takeProfit) == [.accepted] })
                #expect(await eventually { await events(immediate, log, stopLoss) == [.accepted] })
                double.setPrice(symbol: "AAPL", price: dec("194.9"))
                #expect(
                    await eventually {
                        await events(immediate, log, stopLoss) == [.accepted, .fill(qty: 5, price: dec("194.9"))]
                    })
                #expect(
                    await eventually {
                        await events(immediate, log, takeProfit) == [
                            .accepted, .canceled(reason: "canceled at Alpaca"),
                        ]
                    })
                #expect(Self.posts(double).count == 1, "the exits were never sent as orders of their own")
                // Reconciliation names the exits by the desk's ids.
                let account = try await broker.account()
                #expect(account.openOrders.isEmpty)
            }
        }
    }

    @Test("an oco: the take profit is the order, its stop the leg; the take profit's fill cancels the stop")
    func oco() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 200)
            try await withBroker(settings) { broker, log in
                #expect(await eventually { double.listenerCount == 1 })
                let oco = classed(
                    "oco-1", .oco, AlpacaOrderShapeTests.takeProfit, exits: [AlpacaOrderShapeTests.stopLoss])
                let immediate = try await broker.submit(oco, resubmission: false)
                #expect(await eventually { await events(immediate, log, oco.legs[0].id) == [.accepted] })
                let account = try await broker.account()
                #expect(Set(account.openOrders.map(\.clientOrderId)) == [oco.id, oco.legs[0].id])
                double.setPrice(symbol: "AAPL", price: 211)
                #expect(await eventually { await events(immediate, log, oco.id).contains(.fill(qty: 5, price: 211)) })
                #expect(
                    await eventually {
                        await events(immediate, log, oco.legs[0].id) == [
                            .accepted, .canceled(reason: "canceled at Alpaca"),
                        ]
                    })
            }
        }
    }

    @Test("a trailing stop goes natively and fills when the price falls by its trail from the best price")
    func trailingStop() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "MSFT", price: 100)
            try await withBroker(settings) { broker, log in
                #expect(await eventually { double.listenerCount == 1 })
                let trailing = Order(
                    id: "trail-1", member: "alice",
                    terms: OrderTerms(
                        symbol: "MSFT", qty: 2, side: .sell, type: .trailingStop, timeInForce: .gtc, trailPrice: 2),
                    placedAt: Date())
                let immediate = try await broker.submit(trailing, resubmission: false)
                #expect(Self.posts(double).first?["trail_price"] as? String == "2")
                double.setPrice(symbol: "MSFT", price: 110)
                double.setPrice(symbol: "MSFT", price: 109)
                try await Task.sleep(for: .milliseconds(100))
                #expect(await allFills(immediate, log, trailing.id).isEmpty)
                double.setPrice(symbol: "MSFT", price: 108)
                #expect(await eventually { await allFills(immediate, log, trailing.id).map(\.1) == [108] })
            }
        }
    }

    @Test(
        "replace: PATCH under the new order's id; the old order ends replaced by it, the new one fills under its own id"
    )
    func replace() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 200)
            try await withBroker(settings) { broker, log in
                #expect(await eventually { double.listenerCount == 1 })
                let old = order("replace-old", type: .limit, limit: 190)
                let first = try await broker.submit(old, resubmission: false)
                #expect(await eventually { await events(first, log, old.id) == [.accepted] })
                var new = order("replace-new", type: .limit, limit: 195)
                new.terms.qty = 4
                let updates = try await broker.replace(orderId: old.id, with: new)
                #expect(updates.filter { $0.orderId == old.id }.map(\.event) == [.replaced(by: new.id)])
                let patch = try #require(double.receivedRequests.first { $0.method == "PATCH" })
                let body = try #require(try JSONSerialization.jsonObject(with: Data(patch.body.utf8)) as? [String: Any])
                #expect(body["client_order_id"] as? String == new.id && body["limit_price"] as? String == "195")
                #expect(body["qty"] as? String == "4")
                #expect(double.status(clientOrderId: new.id) != nil)
                double.setPrice(symbol: "AAPL", price: 194)
                #expect(await eventually { await allFills(updates, log, new.id).map(\.0) == [4] })
                // The old order's own `replaced` on the stream books nothing more.
                #expect(await events(first, log, old.id) == [.accepted])
                #expect(updates.filter { $0.orderId == old.id }.count == 1)
                // A final order cannot be replaced.
                await #expect(throws: BrokerError.self) {
                    _ = try await broker.replace(orderId: new.id, with: order("replace-late", type: .limit, limit: 196))
                }
            }
        }
    }

    @Test("after a restart: held exits are found through their entry and followed under the desk's ids")
    func restoreExits() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 200)
            let entry = Self.bracket("bracket-restart")
            try await withBroker(settings) { broker, _ in _ = try await broker.submit(entry, resubmission: false) }
            #expect(await eventually { double.status(clientOrderId: entry.id) == "filled" })
            // While the desk was down the stop loss filled and the take profit was canceled.
            double.setPrice(symbol: "AAPL", price: dec("194.8"))
            #expect(await eventually { double.orderStatuses.sorted() == ["canceled", "filled", "filled"] })
            try await withBroker(settings) { broker, _ in
                let working = entry.legs.map {
                    WorkingOrder(order: $0, progress: OrderProgress(qty: $0.terms.qty, status: .held))
                }
                let updates = try await broker.restore(working)
                #expect(
                    updates.filter { $0.orderId == entry.legs[1].id }.map(\.event) == [
                        .accepted, .fill(qty: 5, price: dec("194.8")),
                    ])
                #expect(
                    updates.filter { $0.orderId == entry.legs[0].id }.map(\.event) == [
                        .accepted, .canceled(reason: "canceled at Alpaca"),
                    ])
            }
        }
    }

    @Test("after a restart: an open entry restored with its exits; they are found through it and followed")
    func restoreEntryWithExits() async throws {
        try await withTradingDouble { double, settings in
            let entry = Self.bracket("bracket-open", limit: 200)
            double.setPrice(symbol: "AAPL", price: 201)
            try await withBroker(settings) { broker, _ in _ = try await broker.submit(entry, resubmission: false) }
            #expect(await eventually { double.status(clientOrderId: entry.id) == "new" })
            try await withBroker(settings) { broker, log in
                let working = WorkingOrder(
                    order: entry, progress: OrderProgress(qty: entry.terms.qty, status: .new))
                let updates = try await broker.restore([working])
                #expect(updates.isEmpty, "nothing happened while the desk was down: \(updates)")
                #expect(await eventually { double.listenerCount == 1 })
                // The entry fills now: the exits activate under the desk's ids.
                double.setPrice(symbol: "AAPL", price: 199)
                #expect(await eventually { await events([], log, entry.legs[0].id) == [.accepted] })
                #expect(await eventually { await events([], log, entry.legs[1].id) == [.accepted] })
                // Reconciliation names the working exits by the desk's ids.
                let account = try await broker.account()
                #expect(Set(account.openOrders.map(\.clientOrderId)) == Set(entry.legs.map(\.id)))
            }
        }
    }
}

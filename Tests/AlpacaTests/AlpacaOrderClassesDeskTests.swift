import AlpacaBroker
import AlpacaData
import AlpacaDouble
import DeskApp
import DeskAppTestSupport
import DeskBroker
import DeskCore
import DeskOrders
import DeskTestSupport
import Foundation
import Testing

/// A whole desk whose default venue is an Alpaca account on the double: a bracket
/// placed through the order desk reaches the double as one order, and its exits'
/// events are booked in the ledger under the desk's exit ids.
@Suite("A desk on the Alpaca double: order classes booked under the desk's ids", .serialized, .timeLimit(.minutes(2)))
struct AlpacaOrderClassesDeskTests {
    /// `desk serve --config` with one Alpaca venue, the default, on the double.
    static func configuration(_ settings: AlpacaSettings) throws -> DeskConfiguration {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let config = """
            {"venues": {"paper": {"broker": "paper"},
                        "alpaca": {"broker": "alpaca", "base_url": "\(settings.baseURL)",
                                   "key_id_variable": "CLUB_KEY", "secret_key_variable": "CLUB_SECRET"}},
             "default_venue": "alpaca"}
            """
        try Data(config.utf8).write(to: folder.url.appendingPathComponent("d.json"))
        return try serveConfiguration(
            ["--config", folder.path("d.json"), "--feed", "none"],
            ["CLUB_KEY": settings.keyID, "CLUB_SECRET": settings.secretKey]
        ).get()
    }

    /// The ledger's status of each order, by id.
    static func statuses(_ desk: DeskApplication, _ ids: [String]) async -> [String?] {
        var statuses: [String?] = []
        for id in ids { statuses.append((try? await desk.ledger.order(id: id))?.status.rawValue) }
        return statuses
    }

    @Test(
        "a bracket: one request; the entry's fill, the exits' activation, the stop's fill and the other's cancel in the ledger"
    )
    func bracketThroughTheDesk() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 200)
            let configuration = try Self.configuration(settings)
            try await withRunningDesk {
                $0.venues = configuration.venues
                $0.defaultVenue = configuration.defaultVenue
            } _: { desk in
                desk.prices.observe(PriceBook.Line(symbol: "AAPL", price: 200, size: nil, at: Date()))
                #expect(await eventually { double.listenerCount == 1 })
                let placement = await desk.orderDesk.place(
                    OrderTicket(
                        symbol: "AAPL", qty: "5", side: "buy", orderType: "market", timeInForce: "gtc",
                        orderClass: "bracket", takeProfitLimitPrice: "210", stopLossStopPrice: "195"),
                    member: "alice", strategy: "")
                guard case .accepted(let record) = placement else {
                    Issue.record("the bracket was not accepted: \(placement)")
                    return
                }
                // The answer is the entry, with its exits (take profit, then stop loss), journaled with it.
                #expect(record.parentId == nil && record.legs.count == 2)
                let legs = try #require(try await desk.ledger.order(id: record.orderId)).legs.map(\.orderId)
                try #require(legs.count == 2)
                let posts = double.receivedRequests.filter { $0.method == "POST" && $0.path == "/v2/orders" }
                #expect(posts.count == 1)
                #expect(posts.first?.body.contains(#""order_class":"bracket""#) == true)
                #expect(await eventually { await Self.statuses(desk, [record.orderId]) == ["filled"] })
                #expect(await eventually { await Self.statuses(desk, legs) == ["new", "new"] })
                double.setPrice(symbol: "AAPL", price: dec("194.5"))
                #expect(await eventually { await Self.statuses(desk, legs) == ["canceled", "filled"] })
                let stop = try await desk.ledger.order(id: legs[1])
                #expect(stop?.filledQty == 5 && stop?.progress.averageFillPrice == dec("194.5"))
                #expect(double.receivedRequests.filter { $0.method == "POST" && $0.path == "/v2/orders" }.count == 1)
            }
        }
    }

    @Test(
        "canceling a bracket's entry: one DELETE (Alpaca cancels the exits itself); the exits end canceled in the ledger"
    )
    func cancelEntryThroughTheDesk() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 200)
            let configuration = try Self.configuration(settings)
            try await withRunningDesk {
                $0.venues = configuration.venues
                $0.defaultVenue = configuration.defaultVenue
            } _: { desk in
                desk.prices.observe(PriceBook.Line(symbol: "AAPL", price: 200, size: nil, at: Date()))
                #expect(await eventually { double.listenerCount == 1 })
                let placement = await desk.orderDesk.place(
                    OrderTicket(
                        symbol: "AAPL", qty: "5", side: "buy", orderType: "limit", timeInForce: "gtc",
                        limitPrice: "190", orderClass: "bracket", takeProfitLimitPrice: "210",
                        stopLossStopPrice: "185"),
                    member: "alice", strategy: "")
                guard case .accepted(let record) = placement else {
                    Issue.record("the bracket was not accepted: \(placement)")
                    return
                }
                let legs = try #require(try await desk.ledger.order(id: record.orderId)).legs.map(\.orderId)
                try #require(legs.count == 2)
                #expect(await eventually { await Self.statuses(desk, [record.orderId]) == ["new"] })
                let canceled = await desk.orderDesk.cancel(
                    orderId: record.orderId, member: "alice", strategy: "", isAdmin: false)
                guard case .canceled = canceled else {
                    Issue.record("the entry was not canceled: \(canceled)")
                    return
                }
                #expect(await eventually { await Self.statuses(desk, legs) == ["canceled", "canceled"] })
                // The desk asked Alpaca once, for the entry: no DELETE of an exit Alpaca cancels itself.
                let deletes = double.receivedRequests.filter { $0.method == "DELETE" }
                #expect(deletes.count == 1, "\(deletes.map(\.path))")
            }
        }
    }

    @Test("replace through the desk: PATCH at the double; the old order replaced, the new one working, in the ledger")
    func replaceThroughTheDesk() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 200)
            let configuration = try Self.configuration(settings)
            try await withRunningDesk {
                $0.venues = configuration.venues
                $0.defaultVenue = configuration.defaultVenue
            } _: { desk in
                desk.prices.observe(PriceBook.Line(symbol: "AAPL", price: 200, size: nil, at: Date()))
                let placement = await desk.orderDesk.place(
                    OrderTicket(symbol: "AAPL", qty: "2", side: "buy", orderType: "limit", limitPrice: "150"),
                    member: "alice", strategy: "")
                guard case .accepted(let old) = placement else {
                    Issue.record("the order was not accepted: \(placement)")
                    return
                }
                #expect(await eventually { await Self.statuses(desk, [old.orderId]) == ["new"] })
                let replacement = await desk.orderDesk.replace(
                    orderId: old.orderId, with: ReplaceTicket(limitPrice: "155"), member: "alice", strategy: "",
                    isAdmin: false)
                guard case .placed(_, .accepted(let new)) = replacement else {
                    Issue.record("the order was not replaced: \(replacement)")
                    return
                }
                let patch = try #require(double.receivedRequests.first { $0.method == "PATCH" })
                #expect(patch.body.contains(#""client_order_id":"\#(new.orderId)""#))
                #expect(
                    await eventually { await Self.statuses(desk, [old.orderId, new.orderId]) == ["replaced", "new"] })
            }
        }
    }
}

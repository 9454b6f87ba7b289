import DeskApp
import DeskAppTestSupport
import DeskCore
import DeskHTTP
import DeskIdentity
import DeskLedger
import DeskProto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Risk limits and the admin API over HTTP")
struct RiskAndAdminTests {
    static let tight: @Sendable (inout DeskConfiguration) -> Void = {
        $0.risk = RiskPolicy(
            defaults: RiskLimits(
                maxOrderQty: 100, maxOrderNotional: 5_000, maxPosition: 150, maxOpenOrders: 2, ordersPerSecond: 1_000,
                orderBurst: 1_000, deniedSymbols: ["GME"]),
            members: ["slow": RiskLimitsOverride().setting(\.ordersPerSecond, to: 0.001).setting(\.orderBurst, to: 2)])
    }

    @Test("each refusal names its limit and value, is a 403, and writes no order")
    func refusals() async throws {
        try await DeskHarness.run(configure: Self.tight) { desk in
            try await desk.setPrice("AAPL", "10")
            try await desk.setPrice("GME", "10")
            let token = try await desk.token("alice")
            for (request, fragment) in [
                (DeskHarness.request(qty: "101"), "max_order_qty 100"),
                (DeskHarness.request(qty: "100", type: "limit", limit: "60"), "max_order_notional 5000"),
                (DeskHarness.request("GME", qty: "1"), "denied symbols"),
            ] {
                let (status, reply) = try await desk.place(request, token: token)
                #expect(status == .forbidden)
                #expect(reply.message.contains(fragment), "\(reply.message)")
            }
            #expect(try desk.orderCount() == 0)
        }
    }

    @Test("max position counts fills and open orders; max open orders counts working orders")
    func positionAndOpenOrders() async throws {
        try await DeskHarness.run(configure: Self.tight) { desk in
            try await desk.setPrice("AAPL", "10")
            let token = try await desk.token("alice")
            #expect(try await desk.place(DeskHarness.request(qty: "100"), token: token).0 == .created)
            let resting = DeskHarness.request(qty: "40", type: "limit", tif: "gtc", limit: "5")
            #expect(try await desk.place(resting, token: token).0 == .created)  // 100 held + 40 open
            let (status, reply) = try await desk.place(DeskHarness.request(qty: "20"), token: token)
            #expect(status == .forbidden)
            #expect(reply.message.contains("max_position is 150"), "\(reply.message)")
            let smallResting = DeskHarness.request(qty: "1", type: "limit", tif: "gtc", limit: "5")
            #expect(try await desk.place(smallResting, token: token).0 == .created)
            let (tooMany, tooManyReply) = try await desk.place(smallResting, token: token)
            #expect(tooMany == .forbidden)
            #expect(tooManyReply.message.contains("max_open_orders is 2"))
            // Another member is not affected.
            #expect(try await desk.place(DeskHarness.request(qty: "100"), token: try desk.token("bob")).0 == .created)
        }
    }

    @Test("the order rate limit answers 429 after the burst")
    func rateLimit() async throws {
        try await DeskHarness.run(configure: Self.tight) { desk in
            try await desk.setPrice("AAPL", "10")
            let token = try await desk.token("slow")
            #expect(try await desk.place(DeskHarness.request(qty: "1"), token: token).0 == .created)
            #expect(try await desk.place(DeskHarness.request(qty: "1"), token: token).0 == .created)
            let (status, reply) = try await desk.place(DeskHarness.request(qty: "1"), token: token)
            #expect(status == .tooManyRequests)
            #expect(reply.message.contains("order rate limit"))
        }
    }

    @Test("kill switch per member and for the whole desk, switched at run time; admin only")
    func killSwitch() async throws {
        try await DeskHarness.run { desk in
            try await desk.setPrice("AAPL", "10")
            let alice = try await desk.token("alice")
            let bob = try await desk.token("bob")
            #expect(try await desk.json(.post, "/admin/halt", token: alice, body: "{}").0 == .forbidden)
            #expect(
                try await desk.json(
                    .post, "/admin/halt", token: desk.admin, body: #"{"member":"alice","reason":"runaway"}"#
                ).0 == .ok)
            let (halted, reply) = try await desk.place(DeskHarness.request(), token: alice)
            #expect(halted == .forbidden)
            #expect(reply.message.contains("kill switch") && reply.message.contains("runaway"))
            #expect(try await desk.place(DeskHarness.request(), token: bob).0 == .created)
            #expect(try await desk.json(.post, "/admin/halt", token: desk.admin, body: "{}").0 == .ok)
            #expect(try await desk.place(DeskHarness.request(), token: bob).0 == .forbidden)
            let (_, halts) = try await desk.json(.get, "/admin/halts", token: desk.admin)
            #expect((halts["halts"] as? [[String: Any]])?.count == 2)
            #expect(try await desk.json(.post, "/admin/resume", token: desk.admin, body: "{}").0 == .ok)
            #expect(try await desk.json(.post, "/admin/resume", token: desk.admin, body: #"{"user":"alice"}"#).0 == .ok)
            #expect(try await desk.place(DeskHarness.request(), token: alice).0 == .created)
            #expect(try await desk.app.ledger.halts().isEmpty)
        }
    }

    @Test("admin price pushes are validated")
    func pricePush() async throws {
        try await DeskHarness.run { desk in
            let bodies = [
                #"{"symbol":"aapl","price":"1"}"#, #"{"symbol":"AAPL","price":"-1"}"#, #"{"symbol":"AAPL","price":1}"#,
                "nope", #"{"symbol":"AAPL","bid":"1","ask":"2"}"#,
                #"{"symbol":"AAPL","type":"quote","bid":"2","ask":"1"}"#,
                #"{"symbol":"AAPL","price":"1","ask_size":"5"}"#, #"{"symbol":"AAPL","price":"1","type":"bar"}"#,
            ]
            for body in bodies {
                let (status, _) = try await desk.json(.post, "/admin/prices", token: desk.admin, body: body)
                #expect(status == .badRequest, "\(body)")
            }
        }
    }

    @Test(
        "an admin quote reaches the price book: a quote alone is priced at its midpoint; market orders fill at the ask")
    func quotePush() async throws {
        try await DeskHarness.run { desk in
            let (status, reply) = try await desk.json(
                .post, "/admin/prices", token: desk.admin,
                body: #"{"symbol":"AAPL","type":"quote","bid":"99.99","ask":"100.02","bid_size":"3","ask_size":"4"}"#)
            #expect(status == .ok && reply["price"] as? String == "100.005")
            #expect(desk.app.prices.quote("AAPL")?.askSize == 4)
            #expect(desk.app.prices.marketPrice("AAPL", side: .buy) == Decimal(string: "100.02"))
            let alice = try await desk.token("alice")
            let (_, placed) = try await desk.place(DeskHarness.request(qty: "10"), token: alice)
            #expect(placed.orderStatus == "partially_filled", "\(placed)")
            let fills = try await desk.app.ledger.allFills()
            #expect(fills.map(\.qty) == [4] && fills.map(\.price) == [Decimal(string: "100.02")!])
        }
    }
}

@Suite("Read API")
struct ReadAPITests {
    @Test("orders, one order with fills, cancel, positions and account; members see only their own")
    func readAPI() async throws {
        try await DeskHarness.run { desk in
            try await desk.setPrice("AAPL", "100")
            let alice = try await desk.token("alice")
            let bob = try await desk.token("bob")
            let (_, bought) = try await desk.place(DeskHarness.request(qty: "10"), token: alice)
            let (_, resting) = try await desk.place(
                DeskHarness.request(qty: "5", type: "limit", tif: "gtc", limit: "90"), token: alice)
            _ = try await desk.place(DeskHarness.request(qty: "3"), token: bob)
            try await desk.setPrice("AAPL", "110")

            let (_, list) = try await desk.json(.get, "/orders", token: alice)
            let orders = try #require(list["orders"] as? [[String: Any]])
            #expect(orders.count == 2)
            #expect(Set(orders.compactMap { $0["member"] as? String }) == ["alice"])
            let (_, open) = try await desk.json(.get, "/orders?status=open&symbol=AAPL", token: alice)
            #expect((open["orders"] as? [[String: Any]])?.map { $0["order_id"] as? String } == [resting.orderID])
            #expect(try await desk.json(.get, "/orders?status=bogus", token: alice).0 == .badRequest)
            #expect(try await desk.json(.get, "/orders?colour=red", token: alice).0 == .badRequest)
            #expect(try await desk.json(.get, "/orders?member=bob", token: alice).0 == .forbidden)
            #expect(try await desk.json(.get, "/orders?user=bob", token: alice).0 == .forbidden)
            let (_, all) = try await desk.json(.get, "/orders", token: desk.admin)
            #expect((all["orders"] as? [[String: Any]])?.count == 3)
            // The seed-era `user=` still names the member.
            for parameter in ["member", "user"] {
                let (_, bobs) = try await desk.json(.get, "/orders?\(parameter)=bob", token: desk.admin)
                #expect((bobs["orders"] as? [[String: Any]])?.compactMap { $0["member"] as? String } == ["bob"])
            }

            let (status, one) = try await desk.json(.get, "/orders/\(bought.orderID)", token: alice)
            #expect(status == .ok)
            #expect(one["filled_avg_price"] as? String == "100")
            #expect((one["fills"] as? [[String: Any]])?.first?["price"] as? String == "100")
            #expect(try await desk.json(.get, "/orders/\(bought.orderID)", token: bob).0 == .notFound)

            let (cancelStatus, canceled) = try await desk.json(.delete, "/orders/\(resting.orderID)", token: alice)
            #expect(cancelStatus == .ok)
            #expect(canceled["status"] as? String == "canceled")
            #expect(try await desk.json(.delete, "/orders/\(resting.orderID)", token: alice).0 == .unprocessableContent)
            #expect(try await desk.json(.delete, "/orders/\(bought.orderID)", token: alice).0 == .unprocessableContent)

            let (_, positions) = try await desk.json(.get, "/positions", token: alice)
            let position = try #require((positions["positions"] as? [[String: Any]])?.first)
            #expect(position["qty"] as? String == "10")
            #expect(position["market_value"] as? String == "1100")
            #expect(position["unrealized_pnl"] as? String == "100")

            let (_, account) = try await desk.json(.get, "/account", token: alice)
            #expect(account["member"] as? String == "alice")
            #expect(account["realized_pnl"] as? String == "0")
            #expect(account["cash_used"] as? String == "1000")
            #expect(account["unrealized_pnl"] as? String == "100")
            #expect(account["open_orders"] as? Int == 0)
            let (_, bobAccount) = try await desk.json(.get, "/account?user=bob", token: desk.admin)
            #expect(bobAccount["market_value"] as? String == "330")
        }
    }

    @Test("health needs no token; metrics (admin token) count orders by outcome")
    func operations() async throws {
        try await DeskHarness.run { desk in
            #expect(try await desk.json(.get, "/healthz", token: nil).0 == .ok)
            _ = try await desk.place(DeskHarness.request(qty: "-1"), token: try desk.token("alice"))
            let response = try await desk.client.execute(
                uri: "/metrics", method: .get, headers: desk.headers(token: desk.admin, contentType: nil))
            let text = String(buffer: response.body)
            #expect(text.contains(#"desk_orders_total{outcome="invalid"} 1"#))
            #expect(text.contains("desk_order_duration_seconds_bucket"))
        }
    }
}

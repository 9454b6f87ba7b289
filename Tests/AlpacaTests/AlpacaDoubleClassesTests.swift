import AlpacaBroker
import AlpacaData
import AlpacaDouble
import DeskBroker
import DeskCore
import DeskTestSupport
import Foundation
import NIOHTTP1
import Testing

/// One REST call to the double, its status and JSON answer.
func doubleCall(
    _ settings: AlpacaSettings, _ method: HTTPMethod, _ path: String, query: [(String, String)] = [],
    _ body: String? = nil
) async throws -> (status: Int, json: Any?) {
    let rest = AlpacaREST(settings: settings, pacer: RequestPacer())
    defer { Task { await rest.shutdown() } }
    let reply = try await rest.send(method, path, query: query, body: body.map { Array($0.utf8) }, member: "t")
    return (reply.status, try? JSONSerialization.jsonObject(with: Data(reply.body)))
}

/// A field of an order object as text (decimals are strings; null is nil).
func field(_ json: Any?, _ key: String) -> String? { (json as? [String: Any])?[key] as? String }

/// The order `id` as the double shows it.
func doubleOrder(_ settings: AlpacaSettings, _ id: String, nested: Bool = false) async throws -> [String: Any] {
    let reply = try await doubleCall(settings, .GET, "/v2/orders/\(id)", query: nested ? [("nested", "True")] : [])
    return reply.json as? [String: Any] ?? [:]
}

/// The order's status at the double, nil when it cannot be read.
func doubleStatus(_ settings: AlpacaSettings, _ id: String) async -> String? {
    (try? await doubleOrder(settings, id))?["status"] as? String
}

@Suite("The Alpaca double's order classes, trailing stops and replace", .serialized, .timeLimit(.minutes(2)))
struct AlpacaDoubleClassesTests {
    @Test(
        "refusals: Alpaca's 422s for classes, trails and extended hours",
        arguments: [
            (
                #"{"symbol":"AAPL","qty":5,"side":"buy","type":"market","time_in_force":"gtc","order_class":"bracket","stop_loss":{"stop_price":190}}"#,
                "bracket orders require take_profit.limit_price"
            ),
            (
                #"{"symbol":"AAPL","qty":5,"side":"buy","type":"market","time_in_force":"gtc","order_class":"bracket","take_profit":{"limit_price":210}}"#,
                "bracket orders require stop_loss.stop_price"
            ),
            (
                #"{"symbol":"AAPL","qty":5,"side":"buy","type":"market","time_in_force":"gtc","order_class":"bracket","take_profit":{"limit_price":199},"stop_loss":{"stop_price":190}}"#,
                "take_profit.limit_price must be >= base_price + 0.01"
            ),
            (
                #"{"symbol":"AAPL","qty":5,"side":"buy","type":"limit","limit_price":195,"time_in_force":"gtc","order_class":"bracket","take_profit":{"limit_price":210},"stop_loss":{"stop_price":195}}"#,
                "stop_loss.stop_price must be <= base_price - 0.01"
            ),
            (
                #"{"symbol":"AAPL","qty":5,"side":"buy","type":"market","time_in_force":"ioc","order_class":"bracket","take_profit":{"limit_price":210},"stop_loss":{"stop_price":190}}"#,
                "bracket orders must be DAY or GTC orders"
            ),
            (
                #"{"symbol":"AAPL","qty":1.5,"side":"buy","type":"market","time_in_force":"day","order_class":"bracket","take_profit":{"limit_price":210},"stop_loss":{"stop_price":190}}"#,
                "fractional orders must be simple orders"
            ),
            (
                #"{"symbol":"AAPL","qty":5,"side":"sell","type":"market","time_in_force":"gtc","order_class":"oco","take_profit":{"limit_price":210},"stop_loss":{"stop_price":190}}"#,
                "oco orders must be limit orders"
            ),
            (
                #"{"symbol":"AAPL","qty":5,"side":"buy","type":"market","time_in_force":"gtc","order_class":"oto"}"#,
                "oto orders require one of take_profit.limit_price or stop_loss.stop_price"
            ),
            (
                #"{"symbol":"AAPL","qty":5,"side":"sell","type":"trailing_stop","time_in_force":"gtc"}"#,
                "trailing_stop orders require exactly one of trail_price or trail_percent"
            ),
            (
                #"{"symbol":"AAPL","qty":5,"side":"sell","type":"trailing_stop","trail_price":1,"trail_percent":2,"time_in_force":"gtc"}"#,
                "trailing_stop orders require exactly one of trail_price or trail_percent"
            ),
            (
                #"{"symbol":"AAPL","qty":5,"side":"sell","type":"trailing_stop","trail_price":1,"time_in_force":"ioc"}"#,
                "trailing_stop orders must be DAY or GTC orders"
            ),
            (
                #"{"symbol":"AAPL","qty":5,"side":"buy","type":"market","time_in_force":"day","extended_hours":true}"#,
                "extended hours order must be DAY limit orders"
            ),
            (
                #"{"symbol":"AAPL","qty":5,"side":"buy","type":"market","time_in_force":"gtc","order_class":"bracket","take_profit":{"limit_price":"210.005"},"stop_loss":{"stop_price":190}}"#,
                "invalid take_profit.limit_price 210.005. sub-penny increment does not fulfill minimum pricing criteria"
            ),
        ])
    func refusals(body: String, message: String) async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 200)
            let reply = try await doubleCall(settings, .POST, "/v2/orders", body)
            #expect(reply.status == 422)
            #expect((reply.json as? [String: Any])?["code"] as? Int == 42_210_000)
            #expect((reply.json as? [String: Any])?["message"] as? String == message)
            #expect(double.orderCount == 0)
        }
    }

    @Test(
        "a bracket: one order with two held legs; the entry's fill activates them; the stop's fill cancels the take profit"
    )
    func bracket() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 200)
            let reply = try await doubleCall(
                settings, .POST, "/v2/orders",
                #"{"symbol":"AAPL","qty":5.0,"side":"buy","type":"market","time_in_force":"gtc","order_class":"bracket","take_profit":{"limit_price":210.0},"stop_loss":{"stop_price":195.0,"limit_price":194.5},"client_order_id":"entry-1"}"#
            )
            #expect(reply.status == 200)
            let entry = try #require(reply.json as? [String: Any])
            #expect(entry["order_class"] as? String == "bracket")
            let legs = try #require(entry["legs"] as? [[String: Any]])
            #expect(legs.map { $0["type"] as? String } == ["limit", "stop_limit"])
            #expect(legs.map { $0["side"] as? String } == ["sell", "sell"])
            #expect(legs.map { $0["status"] as? String } == ["held", "held"])
            #expect(legs.map { $0["limit_price"] as? String } == ["210", "194.5"])
            #expect(legs[1]["stop_price"] as? String == "195")
            let entryId = try #require(entry["id"] as? String)
            let takeProfit = try #require(legs[0]["id"] as? String)
            let stopLoss = try #require(legs[1]["id"] as? String)
            #expect(await eventually { await doubleStatus(settings, entryId) == "filled" })
            #expect(
                await eventually {
                    let statuses = [await doubleStatus(settings, takeProfit), await doubleStatus(settings, stopLoss)]
                    return statuses == ["new", "new"]
                })
            // Nested listing: the legs under the entry, not on their own.
            let nested = try await doubleCall(
                settings, .GET, "/v2/orders", query: [("status", "all"), ("nested", "True")])
            let listed = try #require(nested.json as? [[String: Any]])
            #expect(listed.map { $0["id"] as? String } == [entryId])
            #expect((listed.first?["legs"] as? [[String: Any]])?.count == 2)
            let flat = try await doubleCall(settings, .GET, "/v2/orders", query: [("status", "all")])
            #expect((flat.json as? [[String: Any]])?.count == 3)
            double.setPrice(symbol: "AAPL", price: Decimal(string: "194.8")!)
            #expect(
                await eventually { await doubleStatus(settings, stopLoss) == "filled" })
            #expect(try await doubleOrder(settings, stopLoss)["filled_avg_price"] as? String == "194.8")
            #expect(try await doubleOrder(settings, takeProfit)["status"] as? String == "canceled")
        }
    }

    @Test("an oco: the take profit and its stop work at once; the take profit's fill cancels the stop")
    func oco() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "MSFT", price: 400)
            let reply = try await doubleCall(
                settings, .POST, "/v2/orders",
                #"{"symbol":"MSFT","qty":"2","side":"sell","type":"limit","time_in_force":"gtc","order_class":"oco","take_profit":{"limit_price":"410"},"stop_loss":{"stop_price":"390"}}"#
            )
            #expect(reply.status == 200)
            let parent = try #require(reply.json as? [String: Any])
            #expect(parent["limit_price"] as? String == "410")
            let legs = try #require(parent["legs"] as? [[String: Any]])
            #expect(legs.map { $0["type"] as? String } == ["stop"])
            let parentId = try #require(parent["id"] as? String)
            let stopId = try #require(legs.first?["id"] as? String)
            #expect(await eventually { await doubleStatus(settings, stopId) == "new" })
            double.setPrice(symbol: "MSFT", price: 411)
            #expect(
                await eventually { await doubleStatus(settings, parentId) == "filled" })
            #expect(try await doubleOrder(settings, stopId)["status"] as? String == "canceled")
        }
    }

    @Test("a trailing stop: hwm follows the best price, the stop trails it, a trade at the stop fills it")
    func trailingStop() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 100)
            let reply = try await doubleCall(
                settings, .POST, "/v2/orders",
                #"{"symbol":"AAPL","qty":3,"side":"sell","type":"trailing_stop","trail_price":2,"time_in_force":"gtc"}"#
            )
            let id = try #require(field(reply.json, "id"))
            #expect(field(reply.json, "trail_price") == "2" && field(reply.json, "hwm") == "100")
            #expect(field(reply.json, "stop_price") == "98")
            #expect(await eventually { await doubleStatus(settings, id) == "new" })
            double.setPrice(symbol: "AAPL", price: 105)
            double.setPrice(symbol: "AAPL", price: Decimal(string: "103.5")!)
            #expect(await eventually { (try? await doubleOrder(settings, id))?["hwm"] as? String == "105" })
            #expect(try await doubleOrder(settings, id)["stop_price"] as? String == "103")
            #expect(await doubleStatus(settings, id) == "new")
            double.setPrice(symbol: "AAPL", price: 103)
            #expect(await eventually { await doubleStatus(settings, id) == "filled" })
            #expect(try await doubleOrder(settings, id)["filled_avg_price"] as? String == "103")

            let percent = try await doubleCall(
                settings, .POST, "/v2/orders",
                #"{"symbol":"MSFT","qty":1,"side":"buy","type":"trailing_stop","trail_percent":"10","time_in_force":"day"}"#
            )
            #expect(percent.status == 200)
            #expect(field(percent.json, "trail_percent") == "10")
        }
    }

    @Test("PATCH replaces: a new order with the changes, the old one replaced and pointing at it; refusals")
    func replace() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 100)
            let placed = try await doubleCall(
                settings, .POST, "/v2/orders",
                #"{"symbol":"AAPL","qty":4,"side":"buy","type":"limit","limit_price":90,"time_in_force":"day"}"#)
            let oldId = try #require(field(placed.json, "id"))
            #expect(await eventually { await doubleStatus(settings, oldId) == "new" })
            let unchanged = try await doubleCall(settings, .PATCH, "/v2/orders/\(oldId)", #"{"limit_price":90}"#)
            #expect(unchanged.status == 403)
            #expect(field(unchanged.json, "message") == "order parameters are not changed")
            let replaced = try await doubleCall(
                settings, .PATCH, "/v2/orders/\(oldId)",
                #"{"qty":3,"time_in_force":"gtc","limit_price":95.5,"client_order_id":"desk-new"}"#)
            #expect(replaced.status == 200)
            let newId = try #require(field(replaced.json, "id"))
            #expect(newId != oldId)
            #expect(field(replaced.json, "replaces") == oldId && field(replaced.json, "client_order_id") == "desk-new")
            #expect(field(replaced.json, "qty") == "3" && field(replaced.json, "limit_price") == "95.5")
            #expect(field(replaced.json, "time_in_force") == "gtc")
            let old = try await doubleOrder(settings, oldId)
            #expect(old["status"] as? String == "replaced" && old["replaced_by"] as? String == newId)
            let again = try await doubleCall(settings, .PATCH, "/v2/orders/\(oldId)", #"{"limit_price":96}"#)
            #expect(again.status == 422 && field(again.json, "message") == "unable to replace order in current state")
            let missing = try await doubleCall(
                settings, .PATCH, "/v2/orders/00000000-0000-0000-0000-000000000000", #"{"limit_price":96}"#)
            #expect(missing.status == 404)
        }
    }

    /// Places `body` at the double; the new order's id.
    static func place(_ settings: AlpacaSettings, _ body: String) async throws -> String {
        try #require(field(try await doubleCall(settings, .POST, "/v2/orders", body).json, "id"))
    }

    /// The price the order filled at, once it has filled; nil if it does not fill.
    static func filledPrice(_ settings: AlpacaSettings, _ id: String) async -> String? {
        guard await eventually({ await doubleStatus(settings, id) == "filled" }) else { return nil }
        return (try? await doubleOrder(settings, id))?["filled_avg_price"] as? String
    }

    @Test("with a quote, a market buy fills at the ask, a sell at the bid, a buy limit when the ask reaches it")
    func quotedFills() async throws {
        try await withTradingDouble { double, settings in
            double.setPrice(symbol: "AAPL", price: 100)
            double.setQuote(symbol: "AAPL", bid: dec("99.9"), ask: dec("100.1"))
            let market = #"{"symbol":"AAPL","qty":1,"type":"market","time_in_force":"day","side":"#
            let buy = try await Self.place(settings, market + #""buy"}"#)
            #expect(await Self.filledPrice(settings, buy) == "100.1")
            let sell = try await Self.place(settings, market + #""sell"}"#)
            #expect(await Self.filledPrice(settings, sell) == "99.9")
            let limit = try await Self.place(
                settings,
                #"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":100.05,"time_in_force":"day"}"#)
            #expect(await eventually { await doubleStatus(settings, limit) == "new" })
            double.setQuote(symbol: "AAPL", bid: dec("99.95"), ask: dec("100.02"))
            #expect(await Self.filledPrice(settings, limit) == "100.02")
        }
    }
}

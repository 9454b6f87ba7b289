import DeskAPI
import DeskCore
import Foundation
import Testing

/// Reading Alpaca's order bodies and query strings as alpaca-py, the Go SDK and
/// curl send them; what the desk does not trade is refused in Alpaca's shape.
@Suite("Alpaca API: order bodies and queries")
struct AlpacaRequestTests {
    struct BodyCase: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        /// "ok" or the HTTP status and a phrase the message must contain.
        var expect: (status: Int, phrase: String)?
        var testDescription: String { name }
    }

    static let bodies: [BodyCase] = [
        BodyCase(
            name: "alpaca-py's market order (numbers as floats)",
            body: #"{"symbol":"AAPL","qty":1.0,"side":"buy","type":"market","time_in_force":"day"}"#),
        BodyCase(
            name: "the Go SDK's nulls, empty strings and false are absent",
            body:
                #"{"symbol":"AAPL","qty":"2","notional":null,"side":"sell","type":"limit","time_in_force":"gtc","limit_price":"101.25","client_order_id":"","order_class":"","legs":null,"extended_hours":false}"#
        ),
        BodyCase(
            name: "simple order class",
            body:
                #"{"symbol":"AAPL","qty":1,"side":"buy","type":"stop_limit","time_in_force":"day","stop_price":10,"limit_price":11,"order_class":"simple"}"#
        ),
        BodyCase(
            name: "alpaca-py's bracket (take_profit and stop_loss objects)",
            body:
                #"{"symbol":"AAPL","qty":5.0,"side":"buy","type":"market","time_in_force":"gtc","order_class":"bracket","take_profit":{"limit_price":301.0},"stop_loss":{"stop_price":299.0,"limit_price":298.5}}"#
        ),
        BodyCase(
            name: "an oto's one exit",
            body:
                #"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","order_class":"oto","stop_loss":{"stop_price":1}}"#
        ),
        BodyCase(
            name: "a trailing stop",
            body:
                #"{"symbol":"AAPL","qty":1,"side":"sell","type":"trailing_stop","time_in_force":"day","trail_percent":1}"#
        ),
        BodyCase(
            name: "extended hours",
            body:
                #"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":1,"time_in_force":"day","extended_hours":true}"#
        ),
        BodyCase(
            name: "a notional order",
            body: #"{"symbol":"AAPL","notional":500.0,"side":"buy","type":"market","time_in_force":"day"}"#),
        BodyCase(
            name: "neither qty nor notional",
            body: #"{"symbol":"AAPL","side":"buy","type":"market","time_in_force":"day"}"#,
            expect: (422, "qty or notional is required")),
        BodyCase(
            name: "an unknown field in take_profit is refused, naming its fields",
            body:
                #"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","order_class":"bracket","take_profit":{"price":1}}"#,
            expect: (422, "unknown field \"price\" in take_profit")),
        BodyCase(
            name: "stop_loss must be an object",
            body:
                #"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","stop_loss":5}"#,
            expect: (422, "stop_loss must be an object")),
        BodyCase(
            name: "extended_hours must be a bool",
            body:
                #"{"symbol":"AAPL","qty":1,"side":"buy","type":"limit","limit_price":1,"time_in_force":"day","extended_hours":1}"#,
            expect: (422, "extended_hours must be true or false")),
        BodyCase(
            name: "options legs are refused",
            body:
                #"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","order_class":"mleg","legs":[]}"#,
            expect: (422, "legs is not supported")),
        BodyCase(
            name: "opg and cls are refused",
            body: #"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"opg"}"#,
            expect: (422, "time_in_force \"opg\" is not supported")),
        BodyCase(
            name: "an unknown field is refused, naming the fields",
            body: #"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","quantity":1}"#,
            expect: (422, "unknown order field \"quantity\"")),
        BodyCase(
            name: "a client_order_id over 48 characters",
            body:
                #"{"symbol":"AAPL","qty":1,"side":"buy","type":"market","time_in_force":"day","client_order_id":"\#(String(repeating: "x", count: 49))"}"#,
            expect: (422, "at most 48")),
        BodyCase(
            name: "a repeated key is not one body", body: #"{"symbol":"AAPL","symbol":"MSFT"}"#,
            expect: (400, "not a JSON object")),
        BodyCase(name: "not JSON", body: "symbol=AAPL", expect: (400, "not a JSON object")),
        BodyCase(name: "an array", body: "[]", expect: (400, "must be one JSON object")),
        BodyCase(
            name: "qty of the wrong type",
            body: #"{"symbol":"AAPL","qty":true,"side":"buy","type":"market","time_in_force":"day"}"#,
            expect: (422, "qty must be a number")),
    ]

    @Test("order bodies", arguments: bodies)
    func body(_ example: BodyCase) {
        switch (AlpacaOrderRequest.parse(Array(example.body.utf8)), example.expect) {
        case (.success, nil): break
        case (.failure(let error), let expect?):
            #expect(error.httpStatus == expect.status && error.code == expect.status * 100_000 + 10_000)
            #expect(error.message.contains(expect.phrase), "\(error.message)")
        case (let result, _): Issue.record("\(example.name): \(result)")
        }
    }

    @Test("a body becomes the desk's ticket, numbers as their text, the client order id kept")
    func ticket() throws {
        let parsed = try AlpacaOrderRequest.parse(
            Array(
                #"{"symbol":"AAPL","qty":"2","side":"sell","type":"limit","time_in_force":"gtc","limit_price":101.25,"client_order_id":"mine-1"}"#
                    .utf8)
        ).get()
        #expect(
            parsed.ticket
                == OrderTicket(
                    symbol: "AAPL", qty: "2", side: "sell", orderType: "limit", timeInForce: "gtc", limitPrice: "101.25"
                ))
        #expect(parsed.clientOrderId == "mine-1")
    }

    @Test("a bracket, a trailing stop and a notional order become the desk's ticket fields")
    func classTickets() throws {
        let bracket = try AlpacaOrderRequest.parse(
            Array(
                #"{"symbol":"AAPL","qty":5.0,"side":"buy","type":"market","time_in_force":"gtc","order_class":"bracket","take_profit":{"limit_price":301.0},"stop_loss":{"stop_price":"299","limit_price":null}}"#
                    .utf8)
        ).get().ticket
        #expect(bracket.orderClass == "bracket" && bracket.takeProfitLimitPrice == "301.0")
        #expect(bracket.stopLossStopPrice == "299" && bracket.stopLossLimitPrice == "")
        let trailing = try AlpacaOrderRequest.parse(
            Array(
                #"{"symbol":"AAPL","qty":1,"side":"sell","type":"trailing_stop","time_in_force":"day","trail_price":"1.5","extended_hours":false}"#
                    .utf8)
        ).get().ticket
        #expect(trailing.trailPrice == "1.5" && trailing.trailPercent == "" && trailing.extendedHours == "")
        let notional = try AlpacaOrderRequest.parse(
            Array(#"{"symbol":"AAPL","notional":"500","side":"buy","type":"market","time_in_force":"day"}"#.utf8)
        ).get().ticket
        #expect(notional.notional == "500" && notional.qty == "")
    }

    @Test(
        "replace bodies (PATCH /v2/orders/{id})",
        arguments: [
            (#"{"qty":3}"#, "qty=3 limit= stop= trail= tif= cid=-"),
            (
                #"{"limit_price":"101.5","time_in_force":"gtc","client_order_id":"r-1"}"#,
                "qty= limit=101.5 stop= trail= tif=gtc cid=r-1"
            ),
            (#"{"trail":2.5,"stop_price":null}"#, "qty= limit= stop= trail=2.5 tif= cid=-"),
            (#"{"side":"buy"}"#, "422: unknown replace field \"side\""),
            (#"{"qty":true}"#, "422: qty must be a number"),
            ("[]", "400: JSON object"),
        ])
    func replaceBody(body: String, expect: String) {
        switch AlpacaReplaceRequest.parse(Array(body.utf8)) {
        case .success(let parsed):
            let changes = parsed.changes
            #expect(
                "qty=\(changes.qty) limit=\(changes.limitPrice) stop=\(changes.stopPrice) trail=\(changes.trail) tif=\(changes.timeInForce) cid=\(parsed.clientOrderId ?? "-")"
                    == expect)
        case .failure(let error):
            #expect(expect.hasPrefix("\(error.httpStatus): "), "\(error.message)")
            #expect(
                error.message.contains(expect.split(separator: ":", maxSplits: 1)[1].dropFirst()), "\(error.message)")
        }
    }

    static func query(_ items: [(String, String)]) -> QueryParameters { QueryParameters(items) }

    @Test("GET /v2/orders' query as alpaca-py writes it")
    func ordersQuery() throws {
        let query = try AlpacaOrdersQuery(
            Self.query([
                ("status", "all"), ("limit", "500"), ("after", "2024-01-02T03:04:05+00:00"),
                ("until", "2024-02-01T00:00:00.123456Z"), ("direction", "asc"), ("nested", "True"), ("side", "buy"),
                ("symbols", "AAPL,MSFT"),
            ]))
        #expect(query.status == .all && query.limit == 500 && query.ascending && query.nested)
        #expect(query.side == .buy && query.symbols == ["AAPL", "MSFT"])
        #expect(query.after == Date(timeIntervalSince1970: 1_704_164_645))
        let until = try #require(query.until)
        #expect(abs(until.timeIntervalSince1970 - 1_706_745_600.123456) < 0.000_01)
        #expect(
            query.includes(
                status: .new, side: .buy, symbol: "AAPL", createdAt: Date(timeIntervalSince1970: 1_705_000_000)))
        #expect(
            !query.includes(
                status: .new, side: .sell, symbol: "AAPL", createdAt: Date(timeIntervalSince1970: 1_705_000_000)))
        #expect(
            !query.includes(
                status: .new, side: .buy, symbol: "TSLA", createdAt: Date(timeIntervalSince1970: 1_705_000_000)))
        #expect(
            !query.includes(
                status: .new, side: .buy, symbol: "AAPL", createdAt: Date(timeIntervalSince1970: 1_704_164_645)))
        let open = try AlpacaOrdersQuery(Self.query([]))
        #expect(open.status == .open && open.limit == 50 && !open.ascending)
        #expect(!open.includes(status: .filled, side: .buy, symbol: "AAPL", createdAt: .now))
    }

    @Test(
        "bad query values are Alpaca's 422 saying what is allowed",
        arguments: [
            ("limit", "501", "from 1 to 500"), ("status", "done", "open, closed or all"),
            ("direction", "up", "asc or desc"),
            ("nested", "yes", "true or false"), ("after", "yesterday", "RFC 3339"),
            ("colour", "red", "unknown query parameter"),
        ])
    func badQuery(name: String, value: String, phrase: String) {
        #expect(throws: AlpacaError.self) { try AlpacaOrdersQuery(Self.query([(name, value)])) }
        do {
            _ = try AlpacaOrdersQuery(Self.query([(name, value)]))
        } catch {
            #expect(error.httpStatus == 422 && error.message.contains(phrase), "\(error.message)")
        }
    }

    @Test("closing a position: all, a quantity, or a percentage (rounded to what the broker takes)")
    func closeQuery() throws {
        #expect(try AlpacaCloseQuery(Self.query([])).quantity(of: 7, fractional: false) == 7)
        #expect(try AlpacaCloseQuery(Self.query([("qty", "2.5")])).quantity(of: 7, fractional: true) == 2.5)
        #expect(try AlpacaCloseQuery(Self.query([("qty", "9")])).quantity(of: 7, fractional: true) == 7)
        #expect(try AlpacaCloseQuery(Self.query([("percentage", "50")])).quantity(of: 7, fractional: false) == 4)
        #expect(throws: AlpacaError.self) { try AlpacaCloseQuery(Self.query([("qty", "1"), ("percentage", "5")])) }
        #expect(throws: AlpacaError.self) { try AlpacaCloseQuery(Self.query([("percentage", "101")])) }
    }

    @Test("ids: UUID-shaped, the same for the same name, different for others")
    func ids() {
        let aapl = AlpacaIds.uuid("asset:AAPL")
        #expect(AlpacaIds.isUUID(aapl) && aapl == AlpacaAssetView.assetId("AAPL"))
        #expect(aapl != AlpacaAssetView.assetId("MSFT"))
        #expect(!AlpacaIds.isUUID("alice-first"))
    }

    @Test("paths the Alpaca API covers answer in its shape; others are the desk's")
    func covers() {
        #expect(AlpacaRoutes.covers("/v2/watchlists") && AlpacaRoutes.covers("/stream"))
        #expect(!AlpacaRoutes.covers("/orders") && !AlpacaRoutes.covers("/v2x"))
        #expect(AlpacaRoutes.refusal(method: "PUT", path: "/v2/orders").httpStatus == 405)
        #expect(AlpacaRoutes.refusal(method: "GET", path: "/v2/watchlists").code == 40_410_000)
    }
}

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

@Suite("POST /order")
struct OrderAPITests {
    @Test("a protobuf market order fills at the last price and is booked to the token's member and strategy")
    func protobufOrder() async throws {
        try await DeskHarness.run { desk in
            try await desk.setPrice("AAPL", "145.50")
            let token = try await desk.token("alice", strategy: "momentum")
            let (status, reply) = try await desk.place(DeskHarness.request(), token: token)
            #expect(status == .created)
            #expect(reply.status == "success")
            #expect(reply.orderStatus == "filled")
            #expect(reply.filledQty == "10")
            #expect(reply.symbol == "AAPL" && reply.qty == "10" && reply.side == "buy")
            let order = try #require(try await desk.app.ledger.order(id: reply.orderID))
            #expect(order.member == "alice")
            #expect(order.strategy == "momentum")
            #expect(order.filledAvgPrice == Decimal(string: "145.5")!)
            let position = try #require(try await desk.app.ledger.positions(member: "alice").first)
            #expect(position.qty == 10)
            #expect(position.costBasis == 1455)
        }
    }

    @Test("JSON in, JSON out, with the same field names")
    func jsonOrder() async throws {
        try await DeskHarness.run { desk in
            let token = try await desk.token("bob")
            let body =
                #"{"symbol":"MSFT","qty":"2.5","side":"buy","order_type":"limit","time_in_force":"day","limit_price":"300.10"}"#
            let response = try await desk.client.execute(
                uri: "/order", method: .post, headers: desk.headers(token: token, contentType: "application/json"),
                body: ByteBuffer(string: body))
            #expect(response.status == .created)
            #expect(response.headers[.contentType] == "application/json")
            let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: String]
            #expect(object["status"] == "success")
            #expect(object["order_status"] == "new")
            #expect(object["filled_qty"] == "0")
            #expect(
                Set(object.keys) == [
                    "status", "order_id", "message", "symbol", "qty", "side", "filled_qty", "order_status",
                ])
            let order = try #require(try await desk.app.ledger.order(id: object["order_id"]!))
            #expect(order.qty == Decimal(string: "2.5")!)
            #expect(order.limitPrice == Decimal(string: "300.1")!)
        }
    }

    @Test("issue 26's fields: a protobuf bracket answers its class and legs; notional, trail and client_order_id")
    func orderClasses() async throws {
        try await DeskHarness.run { desk in
            try await desk.setPrice("AAPL", "145.50")
            let token = try await desk.token("alice", strategy: "momentum")
            var bracket = DeskHarness.request()
            bracket.orderType = "limit"
            bracket.limitPrice = "140"
            bracket.timeInForce = "gtc"
            bracket.orderClass = "bracket"
            bracket.takeProfit.limitPrice = "160"
            bracket.stopLoss.stopPrice = "130"
            bracket.stopLoss.limitPrice = "129.5"
            bracket.clientOrderID = "entry-1"
            let (status, reply) = try await desk.place(bracket, token: token)
            #expect(status == .created && reply.status == "success", "\(reply.message)")
            #expect(reply.orderClass == "bracket")
            #expect(reply.legs.map(\.orderType) == ["limit", "stop_limit"])
            #expect(reply.legs.map(\.side) == ["sell", "sell"])
            #expect(reply.legs.map(\.orderStatus) == ["held", "held"])
            #expect(reply.legs.map(\.stopPrice) == ["", "130"] && reply.legs.map(\.limitPrice) == ["160", "129.5"])
            let order = try #require(try await desk.app.ledger.order(id: reply.orderID))
            #expect(order.legs.map(\.orderId) == reply.legs.map(\.orderID))
            #expect(try await desk.app.ledger.clientOrderIds(orderIds: [reply.orderID])[reply.orderID] == "entry-1")
            // The same client order id again is refused.
            let (again, refused) = try await desk.place(bracket, token: token)
            #expect(again == .unprocessableContent && refused.message.contains("client_order_id must be unique"))
            // A notional order answers the quantity the desk worked out.
            var notional = DeskHarness.request()
            notional.qty = ""
            notional.notional = "291"
            let (_, bought) = try await desk.place(notional, token: token)
            #expect(bought.status == "success" && bought.qty == "2", "\(bought.message)")
            // A field-named refusal.
            var trailing = DeskHarness.request()
            trailing.side = "sell"
            trailing.orderType = "trailing_stop"
            trailing.trailPrice = "1"
            trailing.trailPercent = "2"
            let (refusal, why) = try await desk.place(trailing, token: token)
            #expect(refusal == .unprocessableContent && why.message.contains("trail_price or trail_percent, not both"))
        }
    }

    @Test("JSON: take_profit and stop_loss objects in, order_class and legs out")
    func jsonBracket() async throws {
        try await DeskHarness.run { desk in
            try await desk.setPrice("AAPL", "145.50")
            let token = try await desk.token("bob")
            let body =
                #"{"symbol":"AAPL","qty":"1","side":"buy","order_class":"oto","stop_loss":{"stop_price":"140"}}"#
            let response = try await desk.client.execute(
                uri: "/order", method: .post, headers: desk.headers(token: token, contentType: "application/json"),
                body: ByteBuffer(string: body))
            #expect(response.status == .created)
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            #expect(object["order_class"] as? String == "oto")
            let legs = try #require(object["legs"] as? [[String: String]])
            #expect(legs.map { $0["order_type"] } == ["stop"] && legs.map { $0["stop_price"] } == ["140"])
        }
    }

    @Test("identity: no token is 401, a bad token is 401, a mismatching X-User-ID is 403")
    func identity() async throws {
        try await DeskHarness.run { desk in
            try await desk.setPrice("AAPL", "10")
            let (noToken, reply) = try await desk.place(DeskHarness.request(), user: "alice")
            #expect(noToken == .unauthorized)
            #expect(reply.status == "error")
            #expect(reply.message.contains("--trust-user-header"))
            let (badToken, _) = try await desk.place(DeskHarness.request(), token: "desk_nope")
            #expect(badToken == .unauthorized)
            let token = try await desk.token("alice")
            let (mismatch, mismatchReply) = try await desk.place(DeskHarness.request(), token: token, user: "bob")
            #expect(mismatch == .forbidden)
            #expect(mismatchReply.message.contains("does not match"))
            let (matching, _) = try await desk.place(DeskHarness.request(), token: token, user: "alice")
            #expect(matching == .created)
            #expect(try desk.orderCount() == 1)
        }
    }

    @Test("development mode trusts X-User-ID, defaulting to default_user as the seed did")
    func trustedHeader() async throws {
        try await DeskHarness.run(configure: { $0.trustUserHeader = true }) { desk in
            try await desk.setPrice("AAPL", "10")
            let (status, reply) = try await desk.place(DeskHarness.request(), user: "carol")
            #expect(status == .created)
            #expect(try await desk.app.ledger.order(id: reply.orderID)?.member == "carol")
            let (_, seedDefault) = try await desk.place(DeskHarness.request())
            #expect(try await desk.app.ledger.order(id: seedDefault.orderID)?.member == "default_user")
            let (bad, _) = try await desk.place(DeskHarness.request(), user: "../etc")
            #expect(bad == .badRequest)
        }
    }

    struct BadBody: Sendable, CustomTestStringConvertible {
        var name: String
        var body: [UInt8]
        var contentType: String?
        var status: HTTPResponse.Status
        var fragment: String
        var testDescription: String { name }
    }

    static func makeBadBodies() -> [BadBody] {
        var random = SystemRandomNumberGenerator()
        let valid = try! DeskHarness.request().serializedBytes() as [UInt8]
        var unknownField = valid
        unknownField += [0xA2, 0x01, 0x03, 0x61, 0x62, 0x63]  // field 20 (none of 1-15), length-delimited "abc"
        return [
            BadBody(
                name: "random bytes", body: (0..<64).map { _ in UInt8.random(in: 0...255, using: &random) },
                status: .badRequest, fragment: ""),
            BadBody(
                name: "truncated protobuf", body: Array(valid.dropLast(3)), status: .badRequest,
                fragment: "not a valid protobuf"),
            BadBody(name: "empty body", body: [], status: .badRequest, fragment: "empty body"),
            BadBody(
                name: "unknown protobuf field", body: unknownField, status: .badRequest, fragment: "unknown fields"),
            BadBody(
                name: "unknown JSON field",
                body: Array(#"{"symbol":"AAPL","qty":"1","side":"buy","limit_prce":"1"}"#.utf8),
                contentType: "application/json", status: .badRequest, fragment: "unknown field"),
            BadBody(
                name: "JSON number instead of string", body: Array(#"{"symbol":"AAPL","qty":10,"side":"buy"}"#.utf8),
                contentType: "application/json", status: .badRequest, fragment: "all strings"),
            BadBody(
                name: "JSON that is not an object", body: Array("[1,2]".utf8), contentType: "application/json",
                status: .badRequest, fragment: "not a valid JSON"),
            BadBody(
                name: "not JSON at all", body: Array("hello".utf8), contentType: "application/json",
                status: .badRequest, fragment: "not a valid JSON"),
            BadBody(
                name: "unsupported content type", body: valid, contentType: "text/plain", status: .unsupportedMediaType,
                fragment: "unsupported Content-Type"),
            BadBody(
                name: "duplicated JSON key (the second qty would have filled)",
                body: Array(#"{"qty":"1","symbol":"AAPL","side":"buy","qty":"9999"}"#.utf8),
                contentType: "application/json", status: .badRequest,
                fragment: #"key "qty" appears more than once"#),
            BadBody(
                name: "duplicated JSON key spelled with an escape",
                body: Array(#"{"qty":"1","symbol":"AAPL","side":"buy","qty":"9999"}"#.utf8),
                contentType: "application/json", status: .badRequest, fragment: "appears more than once"),
            BadBody(
                name: "one field under its JSON name and its proto name",
                body: Array(
                    #"{"symbol":"AAPL","qty":"1","side":"buy","order_type":"limit","orderType":"market","limit_price":"1"}"#
                        .utf8),
                contentType: "application/json", status: .badRequest, fragment: #"the same field as "order_type""#),
            BadBody(
                name: "duplicated key in a nested object",
                body: Array(#"{"symbol":"AAPL","qty":"1","side":"buy","x":{"a":1,"a":2}}"#.utf8),
                contentType: "application/json", status: .badRequest, fragment: "appears more than once"),
            BadBody(
                name: "declared charset other than UTF-8",
                body: Array(#"{"symbol":"AAPL","qty":"1","side":"buy"}"#.utf8),
                contentType: "application/json; charset=utf-16", status: .unsupportedMediaType,
                fragment: "charset \"utf-16\" is not accepted"),
            BadBody(
                name: "declared latin-1", body: Array(#"{"symbol":"AAPL","qty":"1","side":"buy"}"#.utf8),
                contentType: "application/json;charset=ISO-8859-1", status: .unsupportedMediaType,
                fragment: "JSON bodies are UTF-8"),
            BadBody(
                name: "bytes that are not UTF-8",
                body: Array(#"{"symbol":"AAPL","qty":"1","side":""#.utf8) + [0xFF, 0x22, 0x7D],
                contentType: "application/json", status: .badRequest, fragment: "not valid UTF-8"),
            BadBody(
                name: "byte-order mark",
                body: [0xEF, 0xBB, 0xBF] + Array(#"{"symbol":"AAPL","qty":"1","side":"buy"}"#.utf8),
                contentType: "application/json", status: .badRequest, fragment: "byte-order mark"),
            BadBody(
                name: "protobuf with qty twice (the last would win)", body: valid + [0x12, 0x04] + Array("9999".utf8),
                status: .badRequest, fragment: "field 2 (qty) more than once"),
            BadBody(
                name: "10 MB body", body: [UInt8](repeating: 0x41, count: 10 * 1024 * 1024), status: .contentTooLarge,
                fragment: "larger than"),
        ]
    }

    @Test("bad bodies get a 4xx with a clear message and write no order", arguments: makeBadBodies())
    func badBodies(bad: BadBody) async throws {
        try await DeskHarness.run { desk in
            let token = try await desk.token("alice")
            let (status, reply) = try await desk.placeRaw(
                ByteBuffer(bytes: bad.body), token: token, contentType: bad.contentType)
            if bad.name == "random bytes" {
                #expect((400..<500).contains(Int(status.code)))
            } else {
                #expect(status == bad.status)
            }
            #expect(reply.status == "error")
            #expect(!reply.message.isEmpty)
            #expect(bad.fragment.isEmpty || reply.message.contains(bad.fragment), "\(reply.message)")
            #expect(try desk.orderCount() == 0)
        }
    }

    @Test(
        "bad fields get a 422 naming the field and write no order",
        arguments: [
            (DeskHarness.request(""), "symbol is required"),
            (DeskHarness.request(qty: ""), "qty is required"),
            (DeskHarness.request(side: ""), "side is required"),
            (DeskHarness.request(qty: "-5"), "greater than zero"),
            (DeskHarness.request(qty: "1000000000000000000000"), "larger than the desk accepts"),
            (DeskHarness.request("AAPL😀"), "is not a ticker"),
            (DeskHarness.request("ÅPPL"), "is not a ticker"),
            (DeskHarness.request(type: "limit", limit: "145.60000000000002"), "sub-penny rule"),
            (DeskHarness.request(type: "market", limit: "10"), "not allowed for market orders"),
            (DeskHarness.request(type: "limit", limit: "1e9"), "not a decimal number"),
            (DeskHarness.request(qty: "+10"), #"written without "+""#),
            (DeskHarness.request(qty: "00010"), "no zeros before the first significant integer digit"),
            (DeskHarness.request(qty: ".5"), "not a decimal number"),
            (DeskHarness.request(qty: "1."), "not a decimal number"),
            (DeskHarness.request(type: "limit", limit: "+145.50"), #"limit_price "+145.50""#),
        ])
    func badFields(request: Orders_OrderRequest, fragment: String) async throws {
        try await DeskHarness.run { desk in
            let (status, reply) = try await desk.place(request, token: try desk.token("alice"))
            #expect(status == .unprocessableContent)
            #expect(reply.message.contains(fragment), "\(reply.message)")
            #expect(try desk.orderCount() == 0)
            let audit = try await desk.app.ledger.auditEvents(member: "alice")
            #expect(audit.first?.outcome == .invalid)
        }
    }

    @Test(
        "JSON reads decimals by the same rules as protobuf",
        arguments: [("+10", #"written without "+""#), ("00010", "no zeros before"), (".5", "not a decimal number")])
    func jsonDecimals(qty: String, fragment: String) async throws {
        try await DeskHarness.run { desk in
            let token = try await desk.token("alice")
            let (jsonStatus, jsonReply) = try await desk.placeRaw(
                ByteBuffer(string: #"{"symbol":"AAPL","qty":"\#(qty)","side":"buy"}"#), token: token,
                contentType: "application/json")
            let (protobufStatus, protobufReply) = try await desk.place(DeskHarness.request(qty: qty), token: token)
            #expect(jsonStatus == .unprocessableContent && protobufStatus == .unprocessableContent)
            #expect(jsonReply.message == protobufReply.message)
            #expect(jsonReply.message.contains(fragment), "\(jsonReply.message)")
            #expect(try desk.orderCount() == 0)
        }
    }

    @Test("a market order with no known price: refused by the notional check, or by the paper broker and recorded")
    func noPrice() async throws {
        try await DeskHarness.run { desk in
            let (status, reply) = try await desk.place(DeskHarness.request("NVDA"), token: try desk.token("alice"))
            #expect(status == .forbidden)
            #expect(reply.message.contains("max_order_notional"))
            #expect(reply.message.contains("no price is known for NVDA"))
        }
        try await DeskHarness.run(configure: { $0.risk.defaults.maxOrderNotional = nil }) { desk in
            let (status, reply) = try await desk.place(DeskHarness.request("NVDA"), token: try desk.token("alice"))
            #expect(status == .unprocessableContent)
            #expect(reply.message.contains("no price is known for NVDA"))
            #expect(try await desk.app.ledger.order(id: reply.orderID)?.status == .rejected)
        }
    }
}

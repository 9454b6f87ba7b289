import DeskApp
import DeskCore
import DeskIdentity
import DeskLedger
import DeskTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import DeskHTTP

@Suite("Strict JSON bodies")
struct StrictJSONTests {
    @Test(
        "well-formed bodies pass and give their top-level keys in order",
        arguments: [
            (#"{}"#, [String]()), (#" {"a":1} "#, ["a"]), (#"{"b":"x","a":[1,2,{"c":null}]}"#, ["b", "a"]),
            (#"{"a":{"a":{"a":1}}}"#, ["a"]), (#"{"a":"\u00e9\ud83d\ude00","b":true,"c":false}"#, ["a", "b", "c"]),
            (#"{"n":-0.5e+3,"m":0,"o":10.25}"#, ["n", "m", "o"]), ("{\"é\":\"ü\"}", ["é"]),
        ])
    func accepted(body: String, keys: [String]) throws {
        #expect(try StrictJSON.check(Array(body.utf8)) == keys)
    }

    @Test(
        "malformed or ambiguous bodies are refused with what is wrong",
        arguments: [
            (#"{"qty":"1","qty":"9999"}"#, #"key "qty" appears more than once"#),
            (#"{"qty":"1","q\u0074y":"9999"}"#, #"key "qty" appears more than once"#),
            (#"{"a":{"b":1,"b":2}}"#, "appears more than once"),
            (#"{"a":[{"b":1,"b":2}]}"#, "appears more than once"),
            (#"{"a":1,}"#, "trailing commas are not JSON"),
            (#"{"a":01}"#, "no leading zeros"),
            (#"{"a":+1}"#, "a value"),
            (#"{"a":.5}"#, "a value"),
            (#"{"a":1.}"#, "digits after its point"),
            (#"{"a":"x"} {"b":1}"#, "unexpected text after"),
            (#"[1,2]"#, "one JSON object"),
            (#"{"a":"\x"}"#, "not a JSON escape"),
            (#"{"a":"\ud800"}"#, "surrogate"),
            ("{\"a\":\"\u{01}\"}", "control character"),
            (#"{"a":tru}"#, "a value"),
            (#"{"a":"open"#, "not closed"),
            (String(repeating: #"{"a":"#, count: 40) + "1" + String(repeating: "}", count: 40), "deeper than 32"),
        ])
    func refused(body: String, fragment: String) {
        do {
            _ = try StrictJSON.check(Array(body.utf8))
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.description.contains(fragment), "\(error)")
        }
    }

    @Test("aliases of one field count as the same key")
    func aliases() {
        #expect(throws: StrictJSON.Problem.self) {
            try StrictJSON.check(Array(#"{"order_type":"limit","orderType":"market"}"#.utf8)) {
                OrderWire.jsonAliases[$0] ?? $0
            }
        }
    }

    @Test("the config file is read by the same rules: a member listed twice is an error on its line")
    func configFile() {
        let text = """
            {"risk": {"members": {
              "alice": {"max_order_qty": "100"},
              "alice": {"max_order_qty": "100000"}
            }}}
            """
        do {
            _ = try DeskConfigFile.parse(Array(text.utf8), path: "desk.json")
            Issue.record("a duplicated member was accepted")
        } catch {
            #expect(error.message.hasPrefix(#"config file desk.json:3:3: key "alice" appears more than once"#))
        }
        #expect((try? DeskConfigFile.parse(Array(#"{"risk": {"members": {"alice": {}}}}"#.utf8), path: "x")) != nil)
    }

    @Test("refuses bytes that are not UTF-8 and a byte-order mark")
    func encoding() {
        #expect(throws: StrictJSON.Problem.self) {
            try StrictJSON.check([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D])
        }
        #expect(throws: StrictJSON.Problem.self) { try StrictJSON.check([0xEF, 0xBB, 0xBF, 0x7B, 0x7D]) }
    }

    @Test(
        "protobuf: a field present twice is found",
        arguments: [
            ([0x0A, 0x01, 0x41, 0x12, 0x01, 0x31], nil), ([0x12, 0x01, 0x31, 0x12, 0x01, 0x39], 2),
            ([0x0A, 0x01, 0x41, 0x1A, 0x03, 0x62, 0x75, 0x79, 0x0A, 0x01, 0x42], 1), ([0x12, 0x7F], nil),
        ] as [([UInt8], Int?)])
    func protobufDuplicates(bytes: [UInt8], field: Int?) {
        #expect(OrderWire.duplicatedField(bytes) == field)
    }
}

@Suite("Admin API bodies")
struct AdminBodyTests {
    @Test(
        "admin bodies are strict: one key each, known keys only, UTF-8, decimals in the desk's syntax",
        arguments: [
            ("/admin/halt", #"{"usr":"alice"}"#, "application/json", 400, #"unknown key "usr""#),
            ("/admin/halt", #"{"user":"alice","user":"bob"}"#, "application/json", 400, "appears more than once"),
            ("/admin/resume", #"{"user":"alice","reason":"x"}"#, "application/json", 400, #"unknown key "reason""#),
            ("/admin/halt", #"{"user":"alice"}"#, "application/json; charset=utf-16", 415, "charset"),
            ("/admin/halt", #"{"user":"alice"}"#, "text/plain", 415, "application/json"),
            ("/admin/prices", #"{"symbol":"AAPL","price":"+145.50"}"#, "application/json", 400, #"without "+""#),
            ("/admin/prices", #"{"symbol":"AAPL","price":"0145.50"}"#, "application/json", 400, "no zeros before"),
            (
                "/admin/prices", #"{"symbol":"AAPL","price":"145.50","price":"1"}"#, "application/json", 400,
                "more than once"
            ),
            (
                "/admin/prices", #"{"symbol":"AAPL","price":145.5}"#, "application/json", 400,
                #""price" must be a string"#
            ),
        ])
    func strict(path: String, body: String, contentType: String, status: Int, fragment: String) async throws {
        try await DeskHarness.run { desk in
            let response = try await desk.client.execute(
                uri: path, method: .post,
                headers: [.authorization: "Bearer \(desk.admin)", .contentType: contentType],
                body: ByteBuffer(string: body))
            #expect(Int(response.status.code) == status)
            let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: String]
            let message = object?["message"] ?? ""
            #expect(message.contains(fragment), "\(message)")
            #expect(try await desk.app.ledger.halts().isEmpty, "a refused body changed nothing")
        }
    }

    @Test("a route that does not exist, or a method a route does not take, is answered with what exists")
    func unknownRoutes() async throws {
        try await DeskHarness.run { desk in
            let missing = try await desk.client.execute(uri: "/nosuch", method: .get)
            #expect(missing.status == .notFound)
            let text = String(buffer: missing.body)
            #expect(text.contains("no route GET /nosuch") && text.contains("POST /order"), "\(text)")
            let wrongMethod = try await desk.client.execute(uri: "/order", method: .get)
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow] == "POST")
            #expect(
                String(buffer: wrongMethod.body).contains("/order takes POST"), "\(String(buffer: wrongMethod.body))")
            let folderPath = try await desk.client.execute(
                uri: "/admin/strategies/strategies/example_alice/logs", method: .get,
                headers: [.authorization: "Bearer \(desk.admin)"])
            #expect(folderPath.status == .notFound)
            #expect(String(buffer: folderPath.body).contains("named by its folder's name"))
        }
    }

    @Test("a metrics token reads /metrics and nothing else; a member token cannot read /metrics")
    func metricsToken() async throws {
        try await DeskHarness.run { desk in
            let metrics = try await desk.app.ledger.issueToken(member: "prometheus", metricsOnly: true).secret
            let member = try await desk.token("alice")
            func get(_ uri: String, _ token: String?) async throws -> HTTPResponse.Status {
                try await desk.client.execute(
                    uri: uri, method: .get, headers: desk.headers(token: token, contentType: nil)
                ).status
            }
            #expect(try await get("/metrics", nil) == .unauthorized)
            #expect(try await get("/metrics", member) == .forbidden)
            #expect(try await get("/metrics", metrics) == .ok)
            #expect(try await get("/metrics", desk.admin) == .ok)
            #expect(try await get("/orders", metrics) == .forbidden)
            #expect(try await get("/positions", metrics) == .forbidden)
            #expect(try await get("/admin/halts", metrics) == .forbidden)
            try await desk.setPrice("AAPL", "10")
            let (status, reply) = try await desk.place(DeskHarness.request(), token: metrics)
            #expect(status == .forbidden)
            #expect(reply.message.contains("metrics token"))
            #expect(try desk.orderCount() == 0)
        }
    }
}

@Suite("Strict JSON against a real desk")
struct StrictJSONProcessTests {
    @Test("over a real socket, a second qty, a +10, a 00010 or a UTF-16 charset places no order")
    func attacker() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let token = try await Ledger(path: database).issueToken(member: "mallory").secret
        let desk = try DeskServerProcess(database: database, folder: folder)
        defer { desk.stop() }
        let admin = try #require(AdminTokenFile.read(path: folder.path("desk-admin.token")))
        let connection = try RawConnection.tcp(port: desk.port)
        let json = "application/json"
        #expect(
            await connection.request(
                "POST", "/admin/prices", headers: ["Authorization": "Bearer \(admin)", "Content-Type": json],
                body: #"{"symbol":"AAPL","price":"10"}"#)?.status == 200)
        let attempts: [(body: String, contentType: String, status: Int)] = [
            (#"{"qty":"1","symbol":"AAPL","side":"buy","qty":"9999"}"#, json, 400),
            (#"{"symbol":"AAPL","qty":"1","side":"buy","order_type":"market","orderType":"limit"}"#, json, 400),
            (#"{"symbol":"AAPL","qty":"+10","side":"buy"}"#, json, 422),
            (#"{"symbol":"AAPL","qty":"00010","side":"buy"}"#, json, 422),
            (#"{"symbol":"AAPL","qty":"1","side":"buy"}"#, "application/json; charset=utf-16", 415),
        ]
        for attempt in attempts {
            let reply = await connection.request(
                "POST", "/order", headers: ["Authorization": "Bearer \(token)", "Content-Type": attempt.contentType],
                body: attempt.body)
            #expect(reply?.status == attempt.status, "\(attempt.body): \(reply?.body ?? "no answer")")
            #expect(reply?.body.contains(#""status":"error""#) == true)
        }
        #expect(try Ledger(readingExisting: database).count("orders") == 0)
        let fine = await connection.request(
            "POST", "/order", headers: ["Authorization": "Bearer \(token)", "Content-Type": json],
            body: #"{"symbol":"AAPL","qty":"1","side":"buy"}"#)
        #expect(fine?.status == 201, "\(fine?.body ?? "")")
    }
}

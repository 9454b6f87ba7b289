import AlpacaDouble
import DeskLedger
import DeskTestSupport
import Foundation
import Hummingbird
import NIOCore
import Testing

/// Issue 25's venue books on a real `desk serve` (real process, real sockets):
/// `paper` and an `alpaca` venue named `live` against the Alpaca stand-in;
/// alice has a paper token and a live token, bob a paper token, olivia is an officer.
@Suite("Venue books on a real desk", .serialized, .timeLimit(.minutes(3)))
struct VenueBooksDeskTests {
    static func config(liveURL: String) -> String {
        """
        {"venues": {"paper": {"broker": "paper"},
                    "live": {"broker": "alpaca", "base_url": "\(liveURL)",
                             "key_id_variable": "LIVE_KEY", "secret_key_variable": "LIVE_SECRET"}},
         "default_venue": "paper",
         "risk": {"members": {"alice": {"capital": {"paper": "100000", "live": "5000"}}}}}
        """
    }

    /// The stand-in, listening on loopback, while `body` runs.
    static func withStandIn<T: Sendable>(
        _ double: TradingDouble, _ body: @Sendable (Int) async throws -> T
    ) async throws -> T {
        let port = ListeningPort()
        let app = AlpacaDouble.application(port: 0, logger: testLogger(), register: double.addRoutes) {
            await port.set($0)
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            group.addTask { await double.run() }
            defer { group.cancelAll() }
            return try await body(await port.value())
        }
    }

    /// The orders the stand-in was sent: client order id → the key id they carried.
    static func standInOrders(_ double: TradingDouble) -> [String: String] {
        var orders: [String: String] = [:]
        for request in double.receivedRequests where request.method == "POST" && request.path == "/v2/orders" {
            let body = (try? JSONSerialization.jsonObject(with: Data(request.body.utf8))) as? [String: Any]
            if let id = body?["client_order_id"] as? String { orders[id] = request.headers["apca-api-key-id"] }
        }
        return orders
    }

    static func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// `POST /order` (JSON) with `token`: the status and the order id.
    static func order(
        _ port: Int, token: String, qty: String = "1", type: String = "market", limit: String = ""
    ) async throws -> (status: Int, orderId: String, body: String) {
        let limitField = limit.isEmpty ? "" : #", "limit_price": "\#(limit)""#
        let reply = try await deskRequest(
            port, .POST, "/order", token: token,
            json: #"{"symbol": "AAPL", "qty": "\#(qty)", "side": "buy", "order_type": "\#(type)"\#(limitField)}"#)
        return (reply.status, object(reply.body)["order_id"] as? String ?? "", reply.body)
    }

    @Test("each token's orders reach only its venue; books, capital and reads per venue; an officer halts one venue")
    func twoVenuesTwoMembers() async throws {
        let double = TradingDouble(keyID: "PKLIVE", secretKey: "live-secret")
        double.setPrice(symbol: "AAPL", price: 100)
        try await Self.withStandIn(double) { standIn in
            let folder = try TemporaryDirectory()
            defer { folder.remove() }
            let database = folder.path("desk.db")
            let configFile = folder.path("desk.json")
            try Data(Self.config(liveURL: "http://127.0.0.1:\(standIn)").utf8).write(
                to: URL(fileURLWithPath: configFile))
            // Tokens through the CLI, which reads the desk's venues from its config file.
            func issue(_ arguments: [String]) async throws -> String {
                let result = try await runDesk(
                    ["tokens", "issue"] + arguments + ["--db", database, "--config", configFile])
                #expect(result.status == 0, "\(result.output)")
                return String(result.output.prefix { $0 != "\n" })
            }
            let alicePaper = try await issue(["alice"])
            let aliceLive = try await issue(["alice", "--venue", "live"])
            let bobPaper = try await issue(["bob"])
            let olivia = try await issue(["olivia", "--officer"])
            let admin = try await issue(["root", "--admin"])
            let typo = try await runDesk(
                ["tokens", "issue", "alice", "--venue", "lvie", "--db", database, "--config", configFile])
            #expect(typo.status != 0)
            #expect(typo.output.contains("\"lvie\"") && typo.output.contains("paper, live"), "\(typo.output)")
            let listed = try await runDesk(["tokens", "list", "--json", "--db", database, "--config", configFile])
            let tokens = Self.object(listed.output)["tokens"] as? [[String: Any]] ?? []
            #expect(
                Set(tokens.map { "\($0["member"] ?? "") \($0["role"] ?? "-") \($0["venue"] ?? "-")" }) == [
                    "alice member paper", "alice member live", "bob member paper", "olivia officer -",
                    "root admin -",
                ], "\(listed.output)")

            let desk = try DeskServerProcess(
                database: database, folder: folder, arguments: ["--config", configFile],
                environment: ["LIVE_KEY": "PKLIVE", "LIVE_SECRET": "live-secret"])
            defer { desk.stop() }
            let price = try await deskRequest(
                desk.port, .POST, "/admin/prices", token: admin, json: #"{"symbol": "AAPL", "price": "100"}"#)
            #expect(price.status == 200, "\(price.body)")

            // Orders go to each token's venue.
            let paperOrder = try await Self.order(desk.port, token: alicePaper, qty: "10")
            let bobOrder = try await Self.order(desk.port, token: bobPaper, qty: "3")
            let liveOrder = try await Self.order(desk.port, token: aliceLive, qty: "2", type: "limit", limit: "101")
            let statuses: [Int] = [paperOrder.status, bobOrder.status, liveOrder.status]
            #expect(statuses == [201, 201, 201], "\(liveOrder.body)")
            // The stand-in saw alice's live order only, with the live venue's keys and the desk's order id.
            #expect(Self.standInOrders(double) == [liveOrder.orderId: "PKLIVE"])

            // Capital per venue: 60 shares at 100 exceed alice's live 5000, not her paper 100000.
            let tooMuch = try await Self.order(desk.port, token: aliceLive, qty: "60", type: "limit", limit: "100")
            #expect((400..<500).contains(tooMuch.status), "\(tooMuch.body)")
            #expect(tooMuch.body.contains("buying_power") || tooMuch.body.contains("buying power"), "\(tooMuch.body)")
            #expect(Self.standInOrders(double).count == 1)

            // Reads: a member's token reads its venue's book; /v2 too.
            let paperOrders = Self.object(try await deskRequest(desk.port, .GET, "/orders", token: alicePaper).body)
            let paperList = paperOrders["orders"] as? [[String: Any]] ?? []
            #expect(paperList.map { $0["order_id"] as? String } == [paperOrder.orderId])
            #expect(paperList.map { $0["venue"] as? String } == ["paper"])
            let liveList =
                Self.object(try await deskRequest(desk.port, .GET, "/orders", token: aliceLive).body)["orders"]
                as? [[String: Any]] ?? []
            #expect(Set(liveList.compactMap { $0["venue"] as? String }) == ["live"])
            let otherVenue = try await deskRequest(desk.port, .GET, "/positions?venue=live", token: alicePaper)
            #expect(otherVenue.status == 403, "\(otherVenue.body)")
            let paperPositions =
                Self.object(try await deskRequest(desk.port, .GET, "/positions", token: alicePaper).body)["positions"]
                as? [[String: Any]] ?? []
            #expect(paperPositions.map { "\($0["venue"] ?? "") \($0["qty"] ?? "")" } == ["paper 10"])
            func v2(_ path: String, _ secret: String) async throws -> (status: Int, body: String) {
                try await deskRequest(
                    desk.port, .GET, path,
                    headers: [("APCA-API-KEY-ID", "alice"), ("APCA-API-SECRET-KEY", secret)])
            }
            let paperAccount = Self.object(try await v2("/v2/account", alicePaper).body)
            let liveAccount = Self.object(try await v2("/v2/account", aliceLive).body)
            #expect(paperAccount["cash"] as? String == "99000", "\(paperAccount)")
            // Live: 5000 less what the 2 shares bought (or reserve) at about 100 each.
            let liveBuyingPower = (liveAccount["buying_power"] as? String).flatMap { Decimal(string: $0) } ?? 0
            #expect(liveBuyingPower >= 4790 && liveBuyingPower <= 4802, "\(liveAccount)")
            let v2Live = try await v2("/v2/orders?status=all", aliceLive)
            let v2Orders = (try? JSONSerialization.jsonObject(with: Data(v2Live.body.utf8))) as? [[String: Any]] ?? []
            #expect(v2Orders.compactMap { $0["id"] as? String } == [liveOrder.orderId], "\(v2Live.body)")

            // An officer reads every member's figures, with each row's venue.
            let everyone =
                Self.object(try await deskRequest(desk.port, .GET, "/positions", token: olivia).body)["positions"]
                as? [[String: Any]] ?? []
            #expect(
                Set(everyone.map { "\($0["member"] ?? "") \($0["venue"] ?? "")" }) == [
                    "alice paper", "alice live", "bob paper",
                ])
            let bobsAccount = try await deskRequest(desk.port, .GET, "/account?member=bob&venue=paper", token: olivia)
            #expect(bobsAccount.status == 200 && Self.object(bobsAccount.body)["venue"] as? String == "paper")
            // The admin API issues officer tokens and member tokens on a venue; an unknown venue is refused.
            for (body, status, kind, venue) in [
                (#"{"member": "oscar", "kind": "officer"}"#, 200, "officer", nil),
                (#"{"member": "carol", "venue": "live"}"#, 200, "member", "live"),
                (#"{"member": "carol", "venue": "moon"}"#, 400, nil, nil),
            ] as [(String, Int, String?, String?)] {
                let issued = try await deskRequest(desk.port, .POST, "/admin/tokens", token: admin, json: body)
                #expect(issued.status == status, "\(issued.body)")
                let token = Self.object(issued.body)["token"] as? [String: Any]
                #expect(token?["kind"] as? String == kind && token?["venue"] as? String == venue, "\(issued.body)")
            }
            // An officer cannot issue tokens.
            let officerIssue = try await deskRequest(
                desk.port, .POST, "/admin/tokens", token: olivia, json: #"{"member": "mallory"}"#)
            #expect(officerIssue.status == 403, "\(officerIssue.body)")

            // An officer halts the live venue: live orders stop, paper orders go on.
            let halt = try await deskRequest(
                desk.port, .POST, "/admin/halt", token: olivia, json: #"{"venue": "live", "reason": "drill"}"#)
            #expect(halt.status == 200 && Self.object(halt.body)["scope"] as? String == "venue:live", "\(halt.body)")
            let haltedLive = try await Self.order(desk.port, token: aliceLive, qty: "1", type: "limit", limit: "99")
            #expect(haltedLive.status != 200 && haltedLive.body.contains("the venue live"), "\(haltedLive.body)")
            #expect(try await Self.order(desk.port, token: alicePaper).status == 201)
            #expect(try await Self.order(desk.port, token: bobPaper).status == 201)
            let unknownVenueHalt = try await deskRequest(
                desk.port, .POST, "/admin/halt", token: olivia, json: #"{"venue": "moon"}"#)
            #expect(unknownVenueHalt.status == 400 && unknownVenueHalt.body.contains("paper, live"))
            // The CLI's resume, with the officer's token.
            let resume = try await runDesk(
                ["resume", "--venue", "live", "--server", "http://127.0.0.1:\(desk.port)", "--token", olivia])
            #expect(resume.status == 0 && resume.output.contains("resumed: the venue live"), "\(resume.output)")
            let again = try await runDesk(
                ["resume", "--venue", "live", "--server", "http://127.0.0.1:\(desk.port)", "--token", olivia])
            #expect(again.output.contains("not halted: the venue live"), "\(again.output)")
            #expect(try await Self.order(desk.port, token: aliceLive, type: "limit", limit: "98").status == 201)

            // Reconciliation: the live venue only (paper's book is the ledger), with its venue.
            let reconcile = try await deskRequest(desk.port, .POST, "/admin/reconcile", token: admin)
            #expect(
                reconcile.status == 200 && Self.object(reconcile.body)["venue"] as? String == "live",
                "\(reconcile.body)")
            let paperReconcile = try await deskRequest(desk.port, .POST, "/admin/reconcile?venue=paper", token: admin)
            #expect(paperReconcile.status == 422, "\(paperReconcile.body)")

            // The CLI lists every venue's orders with their venue, or one venue's.
            let all = try await runDesk(["orders", "--json", "--db", database, "--config", configFile])
            let allOrders = Self.object(all.output)["orders"] as? [[String: Any]] ?? []
            #expect(Set(allOrders.compactMap { $0["venue"] as? String }) == ["paper", "live"], "\(all.output)")
            let live = try await runDesk([
                "orders", "--json", "--venue", "live", "--db", database, "--config", configFile,
            ])
            let liveOnly = Self.object(live.output)["orders"] as? [[String: Any]] ?? []
            #expect(!liveOnly.isEmpty && liveOnly.allSatisfy { $0["venue"] as? String == "live" }, "\(live.output)")
            let wrong = try await runDesk(["orders", "--venue", "moon", "--db", database, "--config", configFile])
            #expect(wrong.status != 0 && wrong.output.contains("\"moon\"") && wrong.output.contains("paper, live"))
            let positions = try await runDesk(
                ["positions", "--json", "--venue", "paper", "--db", database, "--config", configFile])
            let paperBook = Self.object(positions.output)["positions"] as? [[String: Any]] ?? []
            #expect(
                Set(paperBook.map { "\($0["member"] ?? "") \($0["venue"] ?? "")" }) == ["alice paper", "bob paper"])
        }
    }
}

/// The port a listener reports once it is up.
actor ListeningPort {
    private var port: Int?
    private var waiters: [CheckedContinuation<Int, Never>] = []

    func set(_ port: Int) {
        self.port = port
        for waiter in waiters { waiter.resume(returning: port) }
        waiters = []
    }

    func value() async -> Int {
        if let port { return port }
        return await withCheckedContinuation { waiters.append($0) }
    }
}

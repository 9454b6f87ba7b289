import AsyncHTTPClient
import DeskCore
import DeskLedger
import DeskProto
import DeskTestSupport
import Foundation
import NIOCore
import Testing

/// A hostile member against a real `desk serve`: orders priced far from the market
/// (a buy stop at 0.01, a sell limit at 0.01) that the paper broker would fill at
/// the market. Each must be valued at the worst price it can fill at, and refused
/// with the figures, on every face; nothing may reach the ledger.
@Suite("Capital and notional under attack")
struct CapitalBypassTests {
    static let config = """
        {"risk": {"defaults": {"max_order_notional": "50000"},
                  "members": {"alice": {"capital": "10000"},
                              "carol": {"capital": "100000", "max_order_notional": "1000000"}}}}
        """

    @Test("a buy stop and a sell limit at 0.01 are valued at the market on /v2/orders and /order (protobuf and JSON)")
    func ordersFarFromTheMarket() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let configFile = folder.path("desk.json")
        try Data(Self.config.utf8).write(to: URL(fileURLWithPath: configFile))
        let setup = try Ledger(path: database)
        let admin = try await setup.issueToken(member: "root", isAdmin: true).secret
        let alice = try await setup.issueToken(member: "alice").secret
        let bob = try await setup.issueToken(member: "bob").secret
        let carol = try await setup.issueToken(member: "carol").secret
        let desk = try DeskServerProcess(database: database, folder: folder, arguments: ["--config", configFile])
        defer { desk.stop() }
        for (symbol, price) in [("AAPL", "190.6"), ("MSFT", "420"), ("GOOG", "167.48")] {
            let reply = try await deskRequest(
                desk.port, .POST, "/admin/prices", body: Array(#"{"symbol":"\#(symbol)","price":"\#(price)"}"#.utf8),
                token: admin)
            #expect(reply.status == 200, "\(reply.body)")
        }
        var stop = Orders_OrderRequest()
        stop.symbol = "MSFT"
        stop.qty = "1000"
        stop.side = "buy"
        stop.orderType = "stop"
        stop.stopPrice = "0.01"
        let stopBody: [UInt8] = try stop.serializedBytes()
        let attacks: [(name: String, run: @Sendable () async throws -> (status: Int, body: String), expect: [String])] =
            [
                (
                    "alice: /v2/orders buy stop 0.01 for 100 AAPL on 10,000 of capital",
                    {
                        try await deskRequest(
                            desk.port, .POST, "/v2/orders",
                            body: Array(
                                #"{"symbol":"AAPL","qty":"100","side":"buy","type":"stop","stop_price":"0.01","time_in_force":"day"}"#
                                    .utf8),
                            headers: [("APCA-API-KEY-ID", "alice"), ("APCA-API-SECRET-KEY", alice)])
                    },
                    [
                        "insufficient buying power", "needs 19060 (100 AAPL at 190.6, the last price",
                        "buying power is 10000",
                    ]
                ),
                (
                    "bob: /order (protobuf) buy stop 0.01 for 1,000 MSFT against max_order_notional 50,000",
                    {
                        try await deskRequest(
                            desk.port, .POST, "/order", body: stopBody, contentType: "application/x-protobuf",
                            token: bob)
                    },
                    ["max_order_notional", "420000 (1000 × 420, the last price"]
                ),
                (
                    "bob: /order (JSON) the same",
                    {
                        try await deskRequest(
                            desk.port, .POST, "/order",
                            body: Array(
                                #"{"symbol":"MSFT","qty":"1000","side":"buy","order_type":"stop","stop_price":"0.01"}"#
                                    .utf8),
                            token: bob)
                    },
                    ["max_order_notional", "420000 (1000 × 420, the last price"]
                ),
                (
                    "carol: /order (JSON) sell limit 0.01 for 2,000 GOOG (a short) on 100,000 of capital",
                    {
                        try await deskRequest(
                            desk.port, .POST, "/order",
                            body: Array(
                                #"{"symbol":"GOOG","qty":"2000","side":"sell","order_type":"limit","limit_price":"0.01"}"#
                                    .utf8),
                            token: carol)
                    },
                    [
                        "insufficient buying power", "needs 334960 (2000 GOOG at 167.48, the last price",
                        "capital 100000",
                    ]
                ),
            ]
        // All at once, with an honest order of alice's beside them that still goes.
        let replies = try await withThrowingTaskGroup(of: (Int, (status: Int, body: String)).self) { group in
            for (index, attack) in attacks.enumerated() {
                group.addTask { (index, try await attack.run()) }
            }
            group.addTask {
                (
                    -1,
                    try await deskRequest(
                        desk.port, .POST, "/order",
                        body: Array(
                            #"{"symbol":"AAPL","qty":"10","side":"buy","order_type":"limit","limit_price":"190"}"#.utf8),
                        token: alice)
                )
            }
            return try await group.reduce(into: [Int: (status: Int, body: String)]()) { $0[$1.0] = $1.1 }
        }
        for (index, attack) in attacks.enumerated() {
            let reply = try #require(replies[index])
            #expect(reply.status == 403, "\(attack.name): \(reply.status) \(reply.body)")
            for fragment in attack.expect {
                #expect(reply.body.contains(fragment), "\(attack.name): \(reply.body)")
            }
        }
        #expect(replies[-1]?.status == 201, "the honest order: \(String(describing: replies[-1]))")
        // Nothing of the attacks reached the ledger: the honest order is the only one.
        let ledger = try Ledger(readingExisting: database)
        let orders = try await ledger.orders(OrderQuery(member: nil, limit: OrderQuery.maximumLimit))
        #expect(orders.map(\.member) == ["alice"], "\(orders.map { ($0.member, $0.symbol, $0.status) })")
    }
}

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

/// Issue 24's done-means: a second paper venue and a second Alpaca venue in one
/// desk, each made by its kind's factory from the config file alone.
@Suite("Several venues in one desk", .serialized, .timeLimit(.minutes(2)))
struct VenueDeskTests {
    /// The config file: `paper`, `paper_b`, and two Alpaca accounts, each on its own stand-in.
    static func config(_ a: AlpacaSettings, _ b: AlpacaSettings, defaultVenue: String) -> String {
        """
        {"venues": {
           "paper": {"broker": "paper"},
           "paper_b": {"broker": "paper"},
           "alpaca": {"broker": "alpaca", "base_url": "\(a.baseURL)",
                      "key_id_variable": "CLUB_A_KEY", "secret_key_variable": "CLUB_A_SECRET"},
           "alpaca_b": {"broker": "alpaca", "base_url": "\(b.baseURL)",
                        "key_id_variable": "CLUB_B_KEY", "secret_key_variable": "CLUB_B_SECRET",
                        "requires_approval": true}
         },
         "default_venue": "\(defaultVenue)"}
        """
    }

    /// `desk serve --config` over that file, with each account's keys in its own variables.
    static func configuration(_ a: AlpacaSettings, _ b: AlpacaSettings, defaultVenue: String) throws
        -> DeskConfiguration
    {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try Data(config(a, b, defaultVenue: defaultVenue).utf8).write(to: folder.url.appendingPathComponent("d.json"))
        let environment = [
            "CLUB_A_KEY": a.keyID, "CLUB_A_SECRET": a.secretKey, "CLUB_B_KEY": b.keyID, "CLUB_B_SECRET": b.secretKey,
        ]
        return try serveConfiguration(["--config", folder.path("d.json"), "--feed", "none"], environment).get()
    }

    /// The orders a stand-in was sent, by client order id, with the key id they carried.
    static func orders(_ double: TradingDouble) -> [String: String] {
        var orders: [String: String] = [:]
        for request in double.receivedRequests where request.method == "POST" && request.path == "/v2/orders" {
            let body = (try? JSONSerialization.jsonObject(with: Data(request.body.utf8))) as? [String: Any]
            if let id = body?["client_order_id"] as? String { orders[id] = request.headers["apca-api-key-id"] }
        }
        return orders
    }

    /// Places one limit order on `desk` and returns its id.
    static func place(_ desk: DeskApplication) async throws -> String {
        let placement = await desk.orderDesk.place(
            OrderTicket(symbol: "AAPL", qty: "1", side: "buy", orderType: "limit", limitPrice: "100"),
            member: "alice", strategy: "")
        guard case .accepted(let record) = placement else {
            Issue.record("the order was not accepted: \(placement)")
            throw CancellationError()
        }
        return record.orderId
    }

    @Test(
        "each venue is built by its factory; the default gets the orders, each Alpaca venue on its own stand-in and keys"
    )
    func fourVenues() async throws {
        let doubleA = TradingDouble(keyID: "PKCLUBA", secretKey: "secret-a")
        let doubleB = TradingDouble(keyID: "PKCLUBB", secretKey: "secret-b")
        try await withTradingDouble(doubleA) { doubleA, a in
            try await withTradingDouble(doubleB) { doubleB, b in
                for (defaultVenue, expected) in [
                    ("alpaca_b", [nil, "PKCLUBB"]), ("alpaca", ["PKCLUBA", nil]), ("paper_b", [nil, nil]),
                ] as [(String, [String?])] {
                    let configuration = try Self.configuration(a, b, defaultVenue: defaultVenue)
                    try await withRunningDesk {
                        $0.venues = configuration.venues
                        $0.defaultVenue = configuration.defaultVenue
                    } _: { desk in
                        #expect(desk.venues.names == ["paper", "alpaca", "alpaca_b", "paper_b"])
                        #expect(desk.venues.all.map(\.kind) == [.paper, .alpaca, .alpaca, .paper])
                        #expect(desk.venues.defaultVenue.name == defaultVenue)
                        let venueA = try #require(desk.venues["alpaca"] as? AlpacaVenue)
                        let venueB = try #require(desk.venues["alpaca_b"] as? AlpacaVenue)
                        #expect(venueA.settings.baseURL == a.baseURL && venueA.settings.keyID == "PKCLUBA")
                        #expect(venueB.settings.baseURL == b.baseURL && venueB.settings.keyID == "PKCLUBB")
                        let orderId = try await Self.place(desk)
                        #expect(Self.orders(doubleA)[orderId] == expected[0], "stand-in A, default \(defaultVenue)")
                        #expect(Self.orders(doubleB)[orderId] == expected[1], "stand-in B, default \(defaultVenue)")
                    }
                }
                // Every order went to exactly one place, with that place's own keys.
                #expect(Set(Self.orders(doubleA).values) == ["PKCLUBA"])
                #expect(Set(Self.orders(doubleB).values) == ["PKCLUBB"])
                #expect(Self.orders(doubleA).count == 1 && Self.orders(doubleB).count == 1)
            }
        }
    }
}

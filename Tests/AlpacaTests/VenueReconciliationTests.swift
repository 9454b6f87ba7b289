import AlpacaBroker
import AlpacaDouble
import DeskApp
import DeskAppTestSupport
import DeskBroker
import DeskCore
import DeskOrders
import DeskServices
import DeskTestSupport
import Foundation
import Testing

/// Reconciliation per venue: a desk with two Alpaca accounts reconciles each with
/// its own report, against that venue's open orders and book only.
@Suite("Reconciliation per venue", .serialized, .timeLimit(.minutes(2)))
struct VenueReconciliationTests {
    @Test("each venue that reconciles has its own report; --venue picks one; paper and unknown venues are refused")
    func reportsPerVenue() async throws {
        let doubleA = TradingDouble(keyID: "PKCLUBA", secretKey: "secret-a")
        let doubleB = TradingDouble(keyID: "PKCLUBB", secretKey: "secret-b")
        try await withTradingDouble(doubleA) { doubleA, a in
            try await withTradingDouble(doubleB) { doubleB, b in
                let configuration = try VenueDeskTests.configuration(a, b, defaultVenue: "paper")
                try await withRunningDesk {
                    $0.venues = configuration.venues
                    $0.defaultVenue = configuration.defaultVenue
                } _: { desk in
                    // One resting order on each Alpaca venue, and one on paper.
                    var placed: [String: String] = [:]
                    for venue in ["alpaca", "alpaca_b", "paper"] {
                        let placement = await desk.orderDesk.place(
                            OrderTicket(
                                symbol: "AAPL", qty: "1", side: "buy", orderType: "limit", timeInForce: "gtc",
                                limitPrice: "1"),
                            member: "alice", strategy: "", venue: venue)
                        guard case .accepted(let record) = placement else {
                            Issue.record("not accepted on \(venue): \(placement)")
                            return
                        }
                        placed[venue] = record.orderId
                    }
                    #expect(Set(VenueDeskTests.orders(doubleA).keys) == [placed["alpaca"]])
                    #expect(Set(VenueDeskTests.orders(doubleB).keys) == [placed["alpaca_b"]])
                    let reconciliation = desk.useCases.reconciliation
                    let reports = try await reconciliation.run(venue: nil)
                    #expect(reports.map(\.venue) == ["alpaca", "alpaca_b"])
                    #expect(reports.map(\.open_orders_checked) == [1, 1])
                    #expect(reports.allSatisfy { $0.unknown_to_broker.isEmpty && $0.outside_orders.isEmpty })
                    let one = try await reconciliation.run(venue: "alpaca_b")
                    #expect(one.map(\.venue) == ["alpaca_b"])
                    await #expect(throws: ReconciliationRefusal.bookIsLedger) {
                        _ = try await reconciliation.run(venue: "paper")
                    }
                    await #expect(throws: ReconciliationRefusal.unknownVenue("moon", known: desk.venues.names)) {
                        _ = try await reconciliation.run(venue: "moon")
                    }
                }
            }
        }
    }
}

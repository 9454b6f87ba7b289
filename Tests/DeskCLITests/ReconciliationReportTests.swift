import DeskBroker
import Foundation
import Testing

@testable import DeskCLI

@Suite("desk reconcile's text")
struct ReconciliationReportTests {
    static func report(venue: String?, drift: Bool) -> ReconciliationReport {
        var report = Reconciliation.compare(
            deskOrderIds: [], deskPositions: drift ? ["AAPL": 5] : [:],
            account: BrokerAccount(
                openOrders: drift
                    ? [.init(brokerId: "b-1", clientOrderId: "x", symbol: "AAPL", side: "buy", qty: 1, status: "new")]
                    : [], positions: [:]),
            openOrdersChecked: 0, eventsCaughtUp: 0, unknownToBroker: drift ? ["o-9"] : [], at: Date())
        report.venue = venue
        return report
    }

    @Test(
        "the venue is named where the text said Alpaca; a report without one says the broker",
        arguments: [
            ("live", false, ["the ledger and the live account agree"]),
            (
                "alpaca_b", true,
                [
                    "open orders at alpaca_b that the desk did not place:", "ALPACA_B ID",
                    "open orders in the ledger that alpaca_b does not know:", "DESK  ALPACA_B",
                ]
            ),
            (nil, false, ["the ledger and the broker's account agree"]),
            (nil, true, ["open orders at the broker that the desk did not place:", "BROKER ID"]),
        ] as [(String?, Bool, [String])])
    func named(venue: String?, drift: Bool, fragments: [String]) {
        let text = ReconciliationReports.render(Self.report(venue: venue, drift: drift))
        for fragment in fragments { #expect(text.contains(fragment), "\(text)") }
        #expect(!text.contains("Alpaca"))
    }
}

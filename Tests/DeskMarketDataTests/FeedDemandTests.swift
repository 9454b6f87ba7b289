import DeskMarketData
import Foundation
import Testing

@Suite("Feed demand: what subscribers want, as it changes", .timeLimit(.minutes(1)))
struct FeedDemandTests {
    @Test(
        "the demand names every symbol subscribers name, and says when one wants every symbol",
        arguments: [
            ([], FeedDemand()),
            ([["AAPL"], ["AAPL", "MSFT"], []], FeedDemand(symbols: ["AAPL", "MSFT"])),
            ([["AAPL"], nil], FeedDemand(symbols: ["AAPL"], everySymbol: true)),
            ([nil], FeedDemand(everySymbol: true)),
        ] as [([Set<String>?], FeedDemand)])
    func demand(wants: [Set<String>?], expected: FeedDemand) {
        let hub = FeedHub(source: nil, logger: quietLogger())
        for (index, symbols) in wants.enumerated() { _ = hub.subscribe(id: "s\(index)", symbols: symbols) }
        #expect(hub.demand == expected)
    }

    @Test("changes arrive in order, the current demand first; a restart under the same id changes nothing")
    func changes() async {
        let hub = FeedHub(source: nil, logger: quietLogger())
        let alice = hub.subscribe(id: "alice", symbols: ["AAPL"])
        var changes = hub.demandChanges().makeAsyncIterator()
        #expect(await changes.next() == FeedDemand(symbols: ["AAPL"]))
        var bob = hub.subscribe(id: "bob", symbols: ["MSFT"])
        #expect(await changes.next() == FeedDemand(symbols: ["AAPL", "MSFT"]))
        // A strategy restarting subscribes again under its id with the same symbols: no change to report.
        bob = hub.subscribe(id: "bob", symbols: ["MSFT"])
        alice.cancel()
        #expect(await changes.next() == FeedDemand(symbols: ["MSFT"]))
        _ = hub.subscribe(id: "all", symbols: nil)
        #expect(await changes.next() == FeedDemand(symbols: ["MSFT"], everySymbol: true))
        bob.cancel()
        hub.finish()
        // A slow reader gets only the newest value (bob gone), then the end.
        #expect(await changes.next() == FeedDemand(everySymbol: true))
        #expect(await changes.next() == nil)
        #expect(await hub.demandChanges().reduce(into: []) { $0.append($1) } == [FeedDemand()])
    }

    @Test("the description lists the symbols and every-symbol wishes")
    func description() {
        #expect(FeedDemand(symbols: ["MSFT", "AAPL"]).description == "AAPL,MSFT")
        #expect(FeedDemand(symbols: ["AAPL"], everySymbol: true).description == "AAPL + every symbol")
        #expect(FeedDemand(everySymbol: true).description == "every symbol")
    }
}

import AlpacaBroker
import AlpacaData
import DeskBroker
import DeskCore
import Foundation
import Testing

@Suite("Following Alpaca orders: exactly-once events from snapshots")
struct OrderFollowerTests {
    static func snapshot(_ status: String, _ filled: Decimal, _ average: Decimal? = nil) -> OrderSnapshot {
        OrderSnapshot(status: status, filledQty: filled, filledAvgPrice: average)
    }

    /// Runs snapshots in order (each with the event's own fill, if any) and returns every event.
    static func follow(_ steps: [(OrderSnapshot, (qty: Decimal, price: Decimal)?)], from start: FollowedOrder = .init())
        -> ([OrderUpdate], FollowedOrder)
    {
        var state = start
        var events: [OrderUpdate] = []
        for (snapshot, fill) in steps {
            let (new, next) = OrderFollower.advance(
                state, to: snapshot, orderId: "o1", at: Date(timeIntervalSince1970: 0), eventFill: fill)
            events += new
            state = next
        }
        return (events, state)
    }

    @Test("a market order: accepted, then one fill at the event's price")
    func simpleFill() {
        let (events, state) = Self.follow([
            (Self.snapshot("new", 0), nil), (Self.snapshot("filled", 10, 190), (10, 190)),
        ])
        #expect(events.map(\.event) == [.accepted, .fill(qty: 10, price: 190)])
        #expect(events.last?.fillId == "o1:10")
        #expect(state.finished && state.filledQty == 10 && state.filledNotional == 1900)
    }

    @Test("duplicated events book nothing twice")
    func duplicates() {
        let partial = (Self.snapshot("partially_filled", 4, 100), (qty: Decimal(4), price: Decimal(100)))
        let full = (
            Self.snapshot("filled", 10, 101),
            (qty: Decimal(6), price: Decimal(string: "101.6666666666666666666666666666666667")!)
        )
        let (events, state) = Self.follow([partial, partial, full, full])
        #expect(events.filter { if case .fill = $0.event { true } else { false } }.count == 2)
        #expect(state.filledQty == 10)
        #expect(Set(events.compactMap(\.fillId)) == ["o1:4", "o1:10"])
    }

    @Test("a late event (older than what was booked) adds nothing; the later one covers both fills")
    func outOfOrder() {
        // The fill (cumulative 10, average 101) arrives before the partial fill (cumulative 4 at 100).
        let (events, state) = Self.follow([
            (Self.snapshot("filled", 10, 101), (6, Decimal(string: "101.666667")!)),
            (Self.snapshot("partially_filled", 4, 100), (4, 100)),
        ])
        let fills = events.compactMap { event -> (Decimal, Decimal)? in
            if case .fill(let qty, let price) = event.event { return (qty, price) }
            return nil
        }
        #expect(fills.count == 1)
        #expect(fills.first?.0 == 10)
        #expect(fills.first?.1 == 101)
        #expect(state.filledNotional == 1010)
    }

    @Test("a missed partial fill is caught up from the next snapshot, priced by the cumulative average")
    func catchUpPricing() {
        let booked = FollowedOrder(filledQty: 4, filledNotional: 400, acknowledged: true)
        let (events, state) = Self.follow([(Self.snapshot("filled", 10, 103), nil)], from: booked)
        // 10 × 103 − 400 = 630 for the missing 6: 105 each.
        #expect(events.map(\.event) == [.fill(qty: 6, price: 105)])
        #expect(state.filledNotional == 1030)
    }

    @Test(
        "terminal statuses",
        arguments: [
            ("canceled", OrderEvent.canceled(reason: "canceled at Alpaca")),
            ("expired", OrderEvent.expired),
            ("rejected", OrderEvent.rejected(reason: "rejected by Alpaca")),
            ("replaced", OrderEvent.canceled(reason: "replaced at Alpaca, outside the desk")),
        ])
    func terminal(status: String, event: OrderEvent) {
        let (events, state) = Self.follow([(Self.snapshot(status, 0), nil), (Self.snapshot(status, 0), nil)])
        #expect(events.last?.event == event)
        #expect(events.filter { $0.event == event }.count == 1)
        #expect(state.finished)
    }

    @Test("canceled after a partial fill books the fill first, then the cancel")
    func partialThenCancel() {
        let (events, _) = Self.follow([
            (Self.snapshot("partially_filled", 3, 50), (3, 50)), (Self.snapshot("canceled", 3, 50), nil),
        ])
        #expect(events.map(\.event) == [.accepted, .fill(qty: 3, price: 50), .canceled(reason: "canceled at Alpaca")])
    }
}

@Suite("Alpaca wire format and the request budget")
struct AlpacaWireTests {
    @Test("an order request carries decimals as strings and the desk's id as client_order_id")
    func requestBody() throws {
        let order = Order(
            id: "desk-1", member: "alice",
            terms: OrderTerms(
                symbol: "AAPL", qty: Decimal(string: "1.5")!, side: .buy, type: .limit, timeInForce: .day,
                limitPrice: Decimal(string: "145.6")!),
            placedAt: Date())
        let json =
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(AlpacaOrderBody(order))) as! [String: Any]
        #expect(json["qty"] as? String == "1.5")
        #expect(json["limit_price"] as? String == "145.6")
        #expect(json["client_order_id"] as? String == "desk-1")
        #expect(json["type"] as? String == "limit" && json["time_in_force"] as? String == "day")
        #expect(json["stop_price"] == nil)
    }

    @Test(
        "decimals are read exactly from strings or numbers",
        arguments: [(#""145.60""#, "145.6"), ("145.6", "145.6"), ("0.1", "0.1"), (#""1790.86""#, "1790.86")])
    func wireDecimal(json: String, expected: String) throws {
        let value = try JSONDecoder().decode(WireDecimal.self, from: Data(json.utf8))
        #expect(ExactDecimal.plain(value.value) == expected)
    }

    @Test("requests are served round-robin between members")
    func fairQueue() {
        var queue = FairQueue()
        let a1 = queue.enqueue("alice")
        let a2 = queue.enqueue("alice")
        let a3 = queue.enqueue("alice")
        let b1 = queue.enqueue("bob")
        let c1 = queue.enqueue("carol")
        var served: [Int] = []
        while let next = queue.next() {
            served.append(next)
            queue.remove(next, served: true)
        }
        #expect(served == [a1, b1, c1, a2, a3])
    }

    @Test(
        "a 429 pauses until X-Ratelimit-Reset",
        arguments: [
            ("1000010" as String?, 1_000_000.0, Duration.seconds(10)), (nil, 0, .seconds(1)),
            ("999999", 1_000_000, .seconds(1)),
        ])
    func pauseLength(header: String?, now: Double, expected: Duration) {
        #expect(RequestPacer.pauseLength(resetHeader: header, now: Date(timeIntervalSince1970: now)) == expected)
    }

    @Test("a busy member cannot starve another: the pacer serves them in turn")
    func pacerFairness() async throws {
        // One request every 0.2 s: "quiet" may join a turn or two late and still be in time.
        let pacer = RequestPacer(perMinute: 300, burst: 1, maximumWait: .seconds(30))
        let order = OrderLog()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<6 {
                group.addTask {
                    try await pacer.acquire(member: "busy")
                    await order.append("busy\(index)")
                }
            }
            // "quiet" joins once the six are queued (the first is served at once), not after a guessed sleep.
            while await pacer.waiting < 5 { try await Task.sleep(for: .milliseconds(1)) }
            group.addTask {
                try await pacer.acquire(member: "quiet")
                await order.append("quiet")
            }
            try await group.waitForAll()
        }
        let served = await order.entries
        let quiet = try #require(served.firstIndex(of: "quiet"))
        // Six requests for "busy" were queued first; "quiet" still goes within the next two turns.
        #expect(quiet <= 3, "\(served)")
    }
}

actor OrderLog {
    var entries: [String] = []
    func append(_ entry: String) { entries.append(entry) }
}

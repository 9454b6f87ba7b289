import DeskAPI
import DeskCore
import Foundation
import Testing

@Suite("The API contract")
struct APIContractTests {
    @Test(
        "paths are built from the route table with each value one escaped segment",
        arguments: [
            (Routes.order, ["9b1c-4f"], "/orders/9b1c-4f"),
            (Routes.strategyLogs, ["example_alice"], "/admin/strategies/example_alice/logs"),
            (Routes.strategyLogs, ["../admin/halt"], "/admin/strategies/..%2Fadmin%2Fhalt/logs"),
            (Routes.strategyLogs, ["a b?c#d"], "/admin/strategies/a%20b%3Fc%23d/logs"),
            (Routes.orders, [], "/orders"),
        ] as [(Route, [String], String)])
    func paths(route: Route, values: [String], path: String) {
        let built =
            switch values.count {
            case 0: route.path()
            default: route.path(values[0])
            }
        #expect(built == path)
        #expect(route.matches(built))
    }

    @Test("every route has one entry, and Hummingbird's form of its pattern")
    func table() {
        #expect(Set(Routes.all).count == Routes.all.count)
        #expect(Routes.order.routerPath == "orders/:id")
        #expect(Routes.strategyLogs.routerPath == "admin/strategies/:name/logs")
    }

    @Test(
        "order listings read their filters with messages that say what is allowed",
        arguments: [
            ([("status", "open"), ("user", "bob")], nil),
            ([("status", "bogus")], "status \"bogus\" is not one of: open, closed, all, pending_new"),
            ([("colour", "red")], "unknown query parameter \"colour\"; allowed: status, symbol, since, limit, member"),
            ([("limit", "0")], "limit \"0\" must be a whole number from 1 to 10000"),
            ([("since", "yesterday")], "since \"yesterday\" is not an ISO-8601 time"),
            ([("member", "a"), ("user", "b")], "\"user\" is the older name of \"member\""),
            ([("symbol", "A"), ("symbol", "B")], "query parameter \"symbol\" is given more than once"),
        ] as [([(String, String)], String?)])
    func ordersQuery(items: [(String, String)], problem: String?) {
        do {
            let query = try OrdersQuery(QueryParameters(items.map { (name: $0.0, value: $0.1) }))
            #expect(problem == nil)
            #expect(query.member == "bob" && query.status == .open)
        } catch {
            #expect(problem.map { error.message.hasPrefix($0) } == true, "\(error.message)")
        }
    }

    @Test("a query written by the client is read back the same by the server")
    func roundTrip() throws {
        let query = OrdersQuery(
            member: "a b", status: .exactly(.partiallyFilled), symbol: "AAPL",
            since: Timestamp.date("2026-11-25T14:30:00Z"), limit: 5)
        let text = query.parameters.string
        #expect(text == "?member=a%20b&status=partially_filled&symbol=AAPL&since=2026-11-25T14%3A30%3A00Z&limit=5")
        let items = text.dropFirst().split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding! }
            return (name: parts[0], value: parts[1])
        }
        #expect(try OrdersQuery(QueryParameters(items)) == query)
        #expect(PositionsQuery(member: nil, grouping: .strategy).parameters.string == "?by=strategy")
    }

    @Test(
        "request bodies read the member's new name and the seed's, never both, and refuse other keys",
        arguments: [
            (#"{"member": "alice", "reason": "r"}"#, "alice", nil),
            (#"{"user": "alice"}"#, "alice", nil),
            (#"{}"#, nil, nil),
            (#"{"member": "a", "user": "b"}"#, nil, "give one of them, not both"),
            (#"{"usr": "alice"}"#, nil, #"unknown key "usr"; allowed here: member, user, reason"#),
        ] as [(String, String?, String?)])
    func haltBodies(body: String, member: String?, problem: String?) {
        do {
            let request = try StrictJSONDecoder().decode(HaltRequest.self, from: Array(body.utf8))
            #expect(problem == nil)
            #expect(request.member == member)
        } catch {
            #expect(problem.map { error.message.contains($0) } == true, "\(error.message)")
        }
    }

    @Test("replies write absent values as null and keep exact decimals as strings")
    func replies() throws {
        let position = PositionView(
            member: "alice", strategy: nil, symbol: "AAPL", qty: "10", avgEntryPrice: "100.015", costBasis: "1000.15",
            realizedPnL: "0", marketPrice: nil, marketValue: nil, unrealizedPnL: nil)
        let text = String(decoding: try APIJSON.encoder.encode(position), as: UTF8.self)
        #expect(
            text
                == #"{"avg_entry_price":"100.015","cost_basis":"1000.15","market_price":null,"market_value":null,"member":"alice","qty":"10","realized_pnl":"0","symbol":"AAPL","unrealized_pnl":null}"#
        )
        #expect(try APIJSON.decoder.decode(PositionView.self, from: Data(text.utf8)) == position)
    }

    @Test(
        "deploy and P&L queries read back what the client writes, and say what is allowed",
        arguments: [
            ([("name", "trend"), ("start", "1")], nil),
            ([("start", "yes")], "start \"yes\" must be 1 (start it) or 0"),
            ([("nme", "x")], "unknown query parameter \"nme\"; allowed: name, start, member"),
        ] as [([(String, String)], String?)])
    func deployQuery(items: [(String, String)], problem: String?) {
        do {
            let query = try DeployQuery(QueryParameters(items.map { (name: $0.0, value: $0.1) }))
            #expect(problem == nil)
            #expect(query == DeployQuery(name: "trend", start: true))
            #expect(try DeployQuery(query.parameters) == query)
        } catch {
            #expect(problem.map { error.message.hasPrefix($0) } == true, "\(error.message)")
        }
    }

    @Test(
        "P&L history queries",
        arguments: [
            ([("step", "5m"), ("since", "2026-11-25T14:30:00Z"), ("strategy", "alice--trend")], nil),
            ([("step", "7m")], "step \"7m\" is not one of: 1m, 5m, 15m, 1h, 1d"),
            ([("since", "yesterday")], "since \"yesterday\" is not an ISO-8601 time"),
            ([("strategy", "../x")], "strategy \"../x\" is not a strategy name"),
        ] as [([(String, String)], String?)])
    func pnlQuery(items: [(String, String)], problem: String?) {
        do {
            let query = try PnLQuery(QueryParameters(items.map { (name: $0.0, value: $0.1) }))
            #expect(problem == nil)
            #expect(query.step == .fiveMinutes && query.strategy == "alice--trend")
            #expect(try PnLQuery(query.parameters) == query)
        } catch {
            #expect(problem.map { error.message.hasPrefix($0) } == true, "\(error.message)")
        }
    }

    @Test("member strategy routes build their paths from one escaped segment")
    func memberRoutes() {
        #expect(Routes.redeployStrategy.path("../admin") == "/strategies/..%2Fadmin")
        #expect(Routes.memberStrategyLogs.path("alice--trend") == "/strategies/alice--trend/logs")
        #expect(Routes.revokeToken.path("7") == "/admin/tokens/7")
        #expect(
            StrategyAction.allCases.map(\.memberRoute.pattern) == [
                "/strategies/start", "/strategies/stop", "/strategies/restart",
            ])
    }
}

@Suite("A strategy's state on the wire")
struct StrategyStateWireTests {
    @Test(
        "each state is the same word on the wire as before it was typed, both ways",
        arguments: [
            (StrategyRunState.stopped, "stopped"), (.starting, "starting"), (.running, "running"),
            (.backoff, "backoff"), (.failed, "failed"),
        ])
    func sameWord(state: StrategyRunState, word: String) throws {
        let status = StrategyStatus(name: "alice--trend", member: "alice", state: state)
        let text = String(decoding: try APIJSON.encoder.encode(status), as: UTF8.self)
        #expect(
            text
                == #"{"member":"alice","name":"alice--trend","restarts":0,"state":"\#(word)","ticks_delivered":0,"ticks_dropped":0}"#
        )
        #expect(try APIJSON.decoder.decode(StrategyStatus.self, from: Data(text.utf8)) == status)
    }
}

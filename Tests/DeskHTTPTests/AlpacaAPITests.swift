import AlpacaProtocol
import DeskApp
import DeskCore
import DeskHTTP
import DeskMarketData
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MessagePack
import Testing

/// The `/v2` routes through the desk's router, and the feed's ticks as Alpaca's
/// stream messages. (alpaca-py itself runs against `desk serve` in
/// clients/python/tests/test_alpaca_api*.py.)
@Suite("Alpaca-compatible API in process")
struct AlpacaAPITests {
    static func alpacaHeaders(key: String, secret: String) -> HTTPFields {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[HTTPField.Name("APCA-API-KEY-ID")!] = key
        fields[HTTPField.Name("APCA-API-SECRET-KEY")!] = secret
        return fields
    }

    static func order(_ clientOrderId: String, qty: String = "1") -> ByteBuffer {
        ByteBuffer(
            string:
                #"{"symbol":"AAPL","qty":\#(qty),"side":"buy","type":"limit","limit_price":"100","time_in_force":"day","client_order_id":"\#(clientOrderId)"}"#
        )
    }

    static func object(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
    }

    static func capital(_ configuration: inout DeskConfiguration) {
        configuration.risk = RiskPolicy(defaults: RiskLimits(capital: 1000))
    }

    @Test("two requests racing for one client_order_id: exactly one order is placed")
    func clientOrderIdRace() async throws {
        try await DeskHarness.run(configure: Self.capital) { desk in
            let token = try await desk.token("alice")
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await desk.client.execute(
                            uri: "/v2/orders", method: .post, headers: Self.alpacaHeaders(key: "alice", secret: token),
                            body: Self.order("race")
                        ).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 1)
            #expect(statuses.filter { $0.code == 422 }.count == 7)
            #expect(try desk.orderCount() == 1)
        }
    }

    @Test("a refused order writes nothing: no order, and its client_order_id stays free")
    func refusalLeavesNothing() async throws {
        try await DeskHarness.run(configure: Self.capital) { desk in
            let token = try await desk.token("alice")
            let headers = Self.alpacaHeaders(key: "alice", secret: token)
            let refused = try await desk.client.execute(
                uri: "/v2/orders", method: .post, headers: headers, body: Self.order("big", qty: "11"))
            #expect(refused.status == .forbidden)
            let body = Self.object(refused.body)
            #expect(body["code"] as? Int == 40_310_000)
            #expect((body["message"] as? String)?.contains("needs 1100") == true)
            #expect(try desk.orderCount() == 0)
            let placed = try await desk.client.execute(
                uri: "/v2/orders", method: .post, headers: headers, body: Self.order("big", qty: "10"))
            #expect(placed.status == .ok)
            #expect(Self.object(placed.body)["client_order_id"] as? String == "big")
        }
    }

    @Test("identity comes from the secret: a key id naming another member is refused, a metrics token too")
    func identity() async throws {
        try await DeskHarness.run { desk in
            let issued = try await desk.app.ledger.issueToken(member: "bob")
            let bob = issued.secret
            let spoofed = try await desk.client.execute(
                uri: "/v2/account", method: .get, headers: Self.alpacaHeaders(key: "alice", secret: bob))
            #expect(spoofed.status == .unauthorized)
            #expect(Self.object(spoofed.body)["code"] as? Int == 40_110_000)
            let metrics = try await desk.app.ledger.issueToken(member: "ops", metricsOnly: true).secret
            let refused = try await desk.client.execute(
                uri: "/v2/account", method: .get, headers: Self.alpacaHeaders(key: "ops", secret: metrics))
            #expect(refused.status == .forbidden && Self.object(refused.body)["code"] as? Int == 40_310_000)
            for key in ["bob", String(issued.identity.tokenId)] {
                let own = try await desk.client.execute(
                    uri: "/v2/account", method: .get, headers: Self.alpacaHeaders(key: key, secret: bob))
                #expect(
                    own.status == .ok && Self.object(own.body)["account_number"] as? String == "bob", "key id \(key)")
            }
        }
    }

    static let tick = Date(timeIntervalSince1970: 1_800_000_000)

    struct TickCase: Sendable, CustomTestStringConvertible {
        var name: String
        var tick: Tick
        var channels: StreamChannels
        /// The `T` of each message, in order.
        var expect: [String]
        var testDescription: String { name }
    }

    static let ticks: [TickCase] = [
        TickCase(
            name: "a trade to a trades subscriber",
            tick: Tick(symbol: "AAPL", price: 190, at: tick, size: 3, kind: .trade),
            channels: StreamChannels(trades: ["AAPL"]), expect: ["t"]),
        TickCase(
            name: "a tick of no kind is a trade; with a bid and an ask, a quote too",
            tick: Tick(symbol: "AAPL", price: 190, at: tick, bid: 189, ask: 191),
            channels: StreamChannels(trades: ["*"], quotes: ["AAPL"]), expect: ["t", "q"]),
        TickCase(
            name: "a quote tick to a trades-only subscriber: nothing",
            tick: Tick(symbol: "AAPL", price: 190, at: tick, bid: 189, ask: 191, kind: .quote),
            channels: StreamChannels(trades: ["AAPL"]), expect: []),
        TickCase(
            name: "a bar to a bars subscriber",
            tick: Tick(
                symbol: "MSFT", price: 421, at: tick, kind: .bar,
                bar: BarFields(open: 420, high: 422, low: 419, volume: 1000)),
            channels: StreamChannels(bars: ["MSFT"]), expect: ["b"]),
        TickCase(
            name: "another symbol: nothing", tick: Tick(symbol: "TSLA", price: 1, at: tick),
            channels: StreamChannels(trades: ["AAPL"], quotes: ["AAPL"]), expect: []),
    ]

    @Test("the desk's ticks as Alpaca's stream messages", arguments: ticks)
    func tickMessages(_ example: TickCase) {
        var ids: Int64 = 0
        let messages = AlpacaStreamData.messages(for: example.tick, channels: example.channels, tradeId: &ids)
        #expect(messages.map { $0.arrayValue?.first?["T"]?.stringValue ?? "?" } == example.expect)
        for message in messages {
            let map = message.arrayValue?.first
            #expect(map?["S"]?.stringValue == example.tick.symbol)
            guard case .timestamp? = map?["t"] else {
                Issue.record("t is not a MessagePack timestamp")
                continue
            }
        }
    }

    @Test("what a connection needs from the feed: the symbols of its channels, or every symbol for *")
    func feedSymbols() {
        #expect(AlpacaStreamData.feedSymbols(StreamChannels(trades: ["AAPL"], quotes: ["MSFT"])) == ["AAPL", "MSFT"])
        #expect(AlpacaStreamData.feedSymbols(StreamChannels(bars: ["*"])) == nil)
        #expect(AlpacaStreamData.feedSymbols(StreamChannels()) == [])
    }
}

import AlpacaBroker
import AlpacaData
import AlpacaDouble
import AlpacaProtocol
import DeskApp
import DeskAppTestSupport
import DeskHTTP
import DeskIdentity
import DeskMarketData
import DeskTestSupport
import Foundation
import Testing

@Suite("desk serve --feed alpaca", .timeLimit(.minutes(2)))
struct MarketDataDeskTests {
    static let keys = ["APCA_API_KEY_ID": "PKFEEDKEY", "APCA_API_SECRET_KEY": "feed-secret-value"]

    static func resolve(_ arguments: [String], _ environment: [String: String]) -> Result<FeedSetting, ServeRefusal> {
        serveConfiguration(arguments, environment).map(\.feed)
    }

    @Test(
        "the feed's settings are checked with messages that name what to set",
        arguments: [
            (["--feed", "alpaca"], [:], "--feed alpaca needs APCA_API_KEY_ID and APCA_API_SECRET_KEY"),
            (
                [], ["DESK_FEED": "alpaca", "APCA_API_KEY_ID": "K"],
                "--feed alpaca needs APCA_API_SECRET_KEY"
            ),
            (
                ["--feed", "alpaca"], keys.merging(["APCA_API_DATA_STREAM_URL": "https://x/v2"]) { $1 },
                "APCA_API_DATA_STREAM_URL=https://x/v2 must start with wss://"
            ),
            (
                ["--feed", "alpaca"], keys.merging(["APCA_DATA_FEED": "otc"]) { $1 },
                "APCA_DATA_FEED=otc must be iex or sip"
            ),
            (["--feed", "alpaca", "--symbols", "AAPL,msft"], keys, #"symbols "msft" must look like AAPL"#),
            (
                ["--feed", "polygon"], [:],
                "The value 'polygon' is invalid for '--feed <feed>'. Please provide one of 'synthetic', 'replay', 'alpaca' or 'none'."
            ),
            (
                [], ["DESK_FEED": "polygon"],
                "DESK_FEED=polygon is not a valid --feed: use synthetic, replay, alpaca, none"
            ),
        ] as [([String], [String: String], String)])
    func problems(arguments: [String], environment: [String: String], problem: String) {
        guard case .failure(let failure) = Self.resolve(arguments, environment) else {
            Issue.record("expected a problem starting \(problem)")
            return
        }
        #expect(failure.message.hasPrefix(problem), "\(failure.message)")
        #expect(!failure.message.contains("feed-secret-value"))
    }

    @Test(
        "defaults: Alpaca's stream and iex, the synthetic symbols for every-symbol strategies; flags and variables override",
        arguments: [
            (
                ["--feed", "alpaca"], keys, "wss://stream.data.alpaca.markets/v2", "iex",
                Set(["AAPL", "MSFT", "GOOG", "AMZN", "TSLA"])
            ),
            (
                ["--symbols", "SPY,QQQ=480.5"],
                keys.merging([
                    "DESK_FEED": "alpaca", "APCA_API_DATA_STREAM_URL": "ws://127.0.0.1:9/v2", "APCA_DATA_FEED": "sip",
                ]) { $1 }, "ws://127.0.0.1:9/v2", "sip", Set(["SPY", "QQQ"])
            ),
        ] as [([String], [String: String], String, String, Set<String>)])
    func defaults(
        arguments: [String], environment: [String: String], stream: String, feed: String, symbols: Set<String>
    ) {
        guard case .success(.alpaca(let alpaca, let defaultSymbols)) = Self.resolve(arguments, environment) else {
            Issue.record("expected the Alpaca feed")
            return
        }
        #expect(alpaca.dataStreamURL == stream)
        #expect(alpaca.dataFeed == feed)
        #expect(defaultSymbols == symbols)
        #expect(alpaca.keyID == "PKFEEDKEY" && alpaca.secretKey == "feed-secret-value")
    }

    @Test("the feed is chosen independently of the broker")
    func independentOfBroker() throws {
        let paper = try serveConfiguration(["--feed", "alpaca", "--broker", "paper"], Self.keys).get()
        #expect(paper.defaultVenue == "paper")
        guard case .alpaca = paper.feed else {
            Issue.record("expected the Alpaca feed with the paper broker")
            return
        }
        let alpaca = try serveConfiguration(["--feed", "synthetic", "--broker", "alpaca"], Self.keys).get()
        #expect(alpaca.defaultVenue == "alpaca")
        guard case .synthetic = alpaca.feed else {
            Issue.record("expected the synthetic feed with the Alpaca broker")
            return
        }
    }

    @Test("a desk on the Alpaca feed: a strategy's symbols are subscribed, its ticks reach it and the paper broker")
    func deskOnAlpacaFeed() async throws {
        try await withMarketDataDouble { double, stream in
            try await withRunningDesk {
                $0.feed = .alpaca(stream, defaultSymbols: ["SPY"])
            } _: { desk in
                #expect(desk.feed.sourceName == "alpaca iex (\(stream.dataStreamURL)/iex)")
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await desk.feed.run() }
                    defer { group.cancelAll() }
                    let strategy = desk.feed.subscribe(id: "alice_trend", symbols: ["AAPL", "MSFT"])
                    #expect(await eventually { subscribedTrades(double) == ["AAPL", "MSFT"] })
                    double.publishTrade(symbol: "MSFT", price: Decimal(string: "420.37")!, size: 5)
                    var lines = strategy.makeAsyncIterator()
                    let line = await lines.next()
                    #expect(line?.tick?.symbol == "MSFT")
                    let text = line.map { String(decoding: $0.bytes, as: UTF8.self) } ?? ""
                    #expect(text.contains(#""price":420.37,"#))
                    #expect(desk.prices.lastPrice("MSFT") == Decimal(string: "420.37"))
                    strategy.cancel()
                    #expect(await eventually { subscribedTrades(double) == [] })
                }
            }
        }
    }

    @Test("quotes from the Alpaca feed reach a strategy as quote lines: bid, ask, their sizes, the exact midpoint")
    func quotesFromTheFeed() async throws {
        try await withMarketDataDouble { double, stream in
            try await withRunningDesk {
                $0.feed = .alpaca(stream, defaultSymbols: ["SPY"])
            } _: { desk in
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await desk.feed.run() }
                    defer { group.cancelAll() }
                    let strategy = desk.feed.subscribe(id: "alice_quotes", symbols: ["MSFT"])
                    #expect(await eventually { double.connections.first?.quotes == ["MSFT"] })
                    double.publishQuote(
                        symbol: "MSFT", bid: Decimal(string: "420.09")!, ask: Decimal(string: "420.12")!, bidSize: 3,
                        askSize: 5)
                    var lines = strategy.makeAsyncIterator()
                    let line = await lines.next()
                    #expect(line?.tick?.kind == .quote)
                    #expect(line?.tick?.price == Decimal(string: "420.105"))
                    let text = line.map { String(decoding: $0.bytes, as: UTF8.self) } ?? ""
                    #expect(text.hasPrefix(#"{"symbol":"MSFT","price":420.105,"#), "\(text)")
                    #expect(text.contains(#""bid":420.09,"ask":420.12,"bid_size":3,"ask_size":5,"#), "\(text)")
                    #expect(text.contains(#""type":"quote""#), "\(text)")
                    strategy.cancel()
                }
            }
        }
    }

    @Test("the desk's /v2 data stream passes a quote's sizes on (bs, as)")
    func quoteSizesOnTheDesksStream() {
        var ids: Int64 = 0
        let tick = Tick(
            symbol: "MSFT", price: Decimal(string: "420.105")!, at: Date(timeIntervalSince1970: 1_800_000_000),
            bid: Decimal(string: "420.09")!, ask: Decimal(string: "420.12")!, kind: .quote, bidSize: 3, askSize: 5)
        let messages = AlpacaStreamData.messages(for: tick, channels: StreamChannels(quotes: ["MSFT"]), tradeId: &ids)
        let quote = messages.first?.arrayValue?.first
        #expect(quote?["T"]?.stringValue == "q")
        #expect(quote?["bs"]?.int64Value == 3 && quote?["as"]?.int64Value == 5)
    }
}

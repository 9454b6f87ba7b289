import AlpacaDouble
import ArgumentParser
import Foundation
import Logging

/// `alpaca-double`: Alpaca's trading API and streams on loopback, for tests and
/// for running the desk with `--broker alpaca` or `--feed alpaca` without the internet.
@main
struct AlpacaDoubleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alpaca-double",
        abstract:
            "A loopback stand-in for Alpaca (REST /v2, /stream, market data /v2/iex and /v2/sip), with faults on command under /_double.",
        discussion: """
            One port serves both: the trading API (orders fill at the prices the market data publishes) \
            and the v2 stock data stream, whose random walk steps --data-rate times a second for each \
            subscribed symbol. Point the desk at it with APCA_API_BASE_URL=http://127.0.0.1:PORT and \
            APCA_API_DATA_STREAM_URL=ws://127.0.0.1:PORT/v2.
            """)

    @Option(help: "TCP port (0 picks a free one; the chosen port is printed).") var port = 0
    @Option(help: "API key id it accepts.") var key = "PKTESTDOUBLE"
    @Option(help: "API secret it accepts.") var secret = "double-secret"
    @Option(name: .customLong("requests-per-minute"), help: "Rate limit before 429s.") var requestsPerMinute = 200
    @Option(help: "Starting prices, e.g. AAPL=190,MSFT=420.") var prices =
        "AAPL=190,MSFT=420,GOOG=170,AMZN=185,TSLA=240"
    @Option(
        name: .customLong("data-rate"),
        help: "Market data walk steps per second per subscribed symbol (a trade and a quote each); 0: only injected.")
    var dataRate = 5.0
    @Option(name: .customLong("data-seed"), help: "Seed of the market data walk.") var dataSeed: UInt64 = 1
    @Option(name: .customLong("symbol-limit"), help: "Most symbols a data connection may subscribe to per channel.")
    var symbolLimit: Int?

    func run() async throws {
        var logger = Logger(label: "alpaca-double")
        logger.logLevel = .warning
        let trading = TradingDouble(
            keyID: key, secretKey: secret, requestsPerMinute: requestsPerMinute, logger: logger)
        var startPrices: [String: Decimal] = [:]
        for pair in prices.split(separator: ",") {
            let parts = pair.split(separator: "=")
            guard parts.count == 2, let price = Decimal(string: String(parts[1])) else {
                throw ValidationError("--prices: \(pair) is not SYMBOL=PRICE")
            }
            startPrices[String(parts[0])] = price
            trading.setPrice(symbol: String(parts[0]), price: price)
        }
        let marketData = MarketDataDouble(
            configuration: .init(
                keyID: key, secretKey: secret, startPrices: startPrices, stepsPerSecond: dataRate, seed: dataSeed,
                symbolLimit: symbolLimit),
            logger: logger)
        let history = HistoryDouble(keyID: key, secretKey: secret, requestsPerMinute: requestsPerMinute)
        // Orders fill at the prices the data stream publishes.
        marketData.onTrade { symbol, price in trading.setPrice(symbol: symbol, price: price) }
        // Market orders fill at the quotes tests publish (a buy at the ask, a sell at the bid).
        marketData.onQuote { symbol, bid, ask in trading.setQuote(symbol: symbol, bid: bid, ask: ask) }
        let app = AlpacaDouble.application(
            port: port, logger: logger,
            register: { router in
                history.register(on: router)
                trading.addRoutes(to: router)
                marketData.addRoutes(to: router)
            }
        ) { port in
            FileHandle.standardOutput.write(Data("alpaca-double listening on http://127.0.0.1:\(port)\n".utf8))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await trading.run() }
            group.addTask { await marketData.run() }
            group.addTask { try await app.runService() }
            // The server ends on SIGTERM/SIGINT; the order engine and the walk go with it.
            try await group.next()
            group.cancelAll()
        }
    }
}

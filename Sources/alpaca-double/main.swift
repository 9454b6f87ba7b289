import AlpacaDouble
import ArgumentParser
import Foundation
import Logging

/// `alpaca-double`: Alpaca's trading API and streams on loopback, for tests and
/// for running the desk with `--broker alpaca` without the internet.
@main
struct AlpacaDoubleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alpaca-double",
        abstract: "A loopback stand-in for Alpaca (REST /v2, /stream), with faults on command under /_double.")

    @Option(help: "TCP port (0 picks a free one; the chosen port is printed).") var port = 0
    @Option(help: "API key id it accepts.") var key = "PKTESTDOUBLE"
    @Option(help: "API secret it accepts.") var secret = "double-secret"
    @Option(name: .customLong("requests-per-minute"), help: "Rate limit before 429s.") var requestsPerMinute = 200
    @Option(help: "Starting prices, e.g. AAPL=190,MSFT=420.") var prices =
        "AAPL=190,MSFT=420,GOOG=170,AMZN=185,TSLA=240"

    func run() async throws {
        var logger = Logger(label: "alpaca-double")
        logger.logLevel = .warning
        let trading = TradingDouble(
            keyID: key, secretKey: secret, requestsPerMinute: requestsPerMinute, logger: logger)
        for pair in prices.split(separator: ",") {
            let parts = pair.split(separator: "=")
            guard parts.count == 2, let price = Decimal(string: String(parts[1])) else {
                throw ValidationError("--prices: \(pair) is not SYMBOL=PRICE")
            }
            trading.setPrice(symbol: String(parts[0]), price: price)
        }
        let app = AlpacaDouble.application(port: port, logger: logger, register: trading.addRoutes) { port in
            FileHandle.standardOutput.write(Data("alpaca-double listening on http://127.0.0.1:\(port)\n".utf8))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await trading.run() }
            group.addTask { try await app.runService() }
            // The server ends on SIGTERM/SIGINT; the order engine goes with it.
            try await group.next()
            group.cancelAll()
        }
    }
}

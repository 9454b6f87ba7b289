import AlpacaData
import ArgumentParser
import DeskCLI
import DeskCore
import Foundation

/// `desk data fetch`: history for backtests.
struct DataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Market data history for backtests.", subcommands: [Fetch.self])

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download bars or trades from Alpaca's market data API into a file desk backtest reads.",
            discussion: """
                Uses the club's keys (APCA_API_KEY_ID, APCA_API_SECRET_KEY; APCA_API_DATA_URL, APCA_DATA_FEED), \
                follows next_page_token to the last page and waits out the account's rate limit. A bar becomes \
                one tick at its end (start + length) at its close, with "open", "high", "low" and "volume" fields.
                """)
        @Argument(help: "Symbols, e.g. AAPL MSFT.") var symbols: [String]
        @Option(help: "First day (2026-11-16) or time (2026-11-16T14:30:00Z).") var start: String
        @Option(help: "Last day (included) or time (excluded).") var end: String
        @Option(help: "Bar size: 1Min, 5Min, 15Min, 1Hour or 1Day.") var timeframe = "1Min"
        @Flag(help: "Trades instead of bars.") var trades = false
        @Option(name: [.short, .long], help: ArgumentHelp("Output file (.jsonl).", valueName: "file")) var output:
            String
        @Option(name: .customLong("page-size"), help: "Points per request (1 to 10000).")
        var pageSize = 10_000

        func validate() throws {
            guard !symbols.isEmpty else { throw ValidationError("name at least one symbol, e.g. AAPL") }
            for symbol in symbols {
                do { _ = try OrderValidation.validateSymbol(symbol) } catch { throw ValidationError(error.message) }
            }
            guard HistoryRequest.timeframes.contains(timeframe) else {
                throw ValidationError(
                    "--timeframe \(timeframe): use one of \(HistoryRequest.timeframes.joined(separator: ", "))")
            }
            guard let from = DataFetch.time(start, endOfDay: false) else {
                throw ValidationError("--start \(start) is not a day (2026-11-16) or a time (2026-11-16T14:30:00Z)")
            }
            guard let to = DataFetch.time(end, endOfDay: true) else {
                throw ValidationError("--end \(end) is not a day (2026-11-18) or a time (2026-11-18T21:00:00Z)")
            }
            guard from < to else { throw ValidationError("--start must be before --end") }
            guard (1...10_000).contains(pageSize) else { throw ValidationError("--page-size must be 1 to 10000") }
        }

        func run() async throws {
            let request = HistoryRequest(
                symbols: symbols, start: DataFetch.time(start, endOfDay: false)!,
                end: DataFetch.time(end, endOfDay: true)!, series: trades ? .trades : .bars(timeframe: timeframe),
                feed: ProcessInfo.processInfo.environment["APCA_DATA_FEED"] ?? "iex", pageSize: pageSize)
            let stderr = FileHandle.standardError
            do {
                let count = try await DataFetch.run(request, output: URL(fileURLWithPath: output)) { line in
                    stderr.write(Data((line + "\n").utf8))
                }
                print("\(count) ticks written to \(output)")
            } catch {
                throw DeskCommandError(error.message)
            }
        }
    }
}

import AlpacaData
import DeskApp
import DeskCore
import DeskMarketData
import Foundation

/// What `desk data fetch` does: bars or trades from Alpaca's historical data
/// API, with the club's keys, into a JSON-lines file `desk backtest` and
/// `desk serve --feed replay` read.
public enum DataFetch {
    /// A day (`2026-11-16`: its start in UTC, or with `endOfDay` the next day's) or an
    /// RFC 3339 time (as it is).
    public static func time(_ text: String, endOfDay: Bool) -> Date? {
        if let day = Timestamp.day(text) { return endOfDay ? day.addingTimeInterval(86_400) : day }
        return text.contains("T") ? Timestamp.date(text) : nil
    }

    /// Fetches `request` and writes it to `output` whole (a temporary file renamed
    /// into place: an interrupted fetch leaves no half file). Returns the tick count.
    public static func run(
        _ request: HistoryRequest, output: URL, environment: DeskEnvironment = DeskEnvironment(),
        note: @escaping @Sendable (String) -> Void
    ) async throws(DeskCommandError) -> Int {
        guard ["jsonl", "ndjson"].contains(output.pathExtension) else {
            throw DeskCommandError(
                "-o \(output.path): the file must end in .jsonl or .ndjson (JSON lines, one tick each)")
        }
        let settings: AlpacaSettings
        do {
            settings = try AlpacaAccount.settings(for: "desk data fetch", environment)
        } catch {
            throw DeskCommandError(error.message)
        }
        let ticks: [Tick]
        do {
            ticks = try await HistoryFetcher(settings: settings).fetch(request) { count in
                note("\(count) ticks so far")
            }
        } catch {
            throw DeskCommandError(error.message)
        }
        var bytes: [UInt8] = []
        for tick in ticks { bytes += tick.jsonLineBytes() }
        let temporary = output.deletingLastPathComponent().appendingPathComponent(".\(output.lastPathComponent).part")
        do {
            try Data(bytes).write(to: temporary)
            guard rename(temporary.path, output.path) == 0 else {
                throw DeskCommandError("cannot write \(output.path): \(String(cString: strerror(errno)))")
            }
        } catch let error as DeskCommandError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw DeskCommandError("cannot write \(output.path): \(error.localizedDescription)")
        }
        return ticks.count
    }
}

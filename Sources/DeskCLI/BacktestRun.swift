import DeskBacktest
import DeskBacktestEngine
import Foundation

/// What `desk backtest` does: the settings its flags describe go to the
/// backtest engine (`BacktestEngine`, a desk of its own on the data's clock), and
/// the report comes back as a table or JSON on stdout, where its files are on stderr.
public enum BacktestRun {
    /// Runs the backtest `settings` describe (strategies as the user named them:
    /// folder names or paths) and prints its report; a failure is the command's error.
    public static func command(_ settings: BacktestSettings, json: Bool) async throws {
        var settings = settings
        settings.strategies = settings.strategies.map(strategyName)
        let stderr = FileHandle.standardError
        let outcome: BacktestOutcome
        do {
            outcome = try await BacktestEngine.run(settings) { line in stderr.write(Data((line + "\n").utf8)) }
        } catch {
            throw DeskCommandError(error.message)
        }
        print(json ? outcome.report.json() : table(outcome.report))
        stderr.write(
            Data(
                """
                report: \(outcome.reportPage.path)
                equity: \(outcome.equityFile.path)
                ledger: desk orders --work \(outcome.workDirectory.path)

                """.utf8))
    }

    /// The report for people: the run's span and fill model, then a row per member and per strategy.
    public static func table(_ report: BacktestReport) -> String {
        var lines = [
            "backtest: \(report.ticks) ticks, \(report.start) to \(report.end), fills at \(report.fillAt), commission \(report.commissionPerShare)/share, slippage \(report.slippageBps) bps, capital \(BacktestReport.money(report.capital)) per member",
            "",
        ]
        lines.append(TextTable(headers: BacktestReport.columns, rows: report.rows()).render())
        return lines.joined(separator: "\n")
    }
}

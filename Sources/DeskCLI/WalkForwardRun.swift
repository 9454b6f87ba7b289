import DeskBacktest
import DeskBacktestEngine
import DeskCore
import DeskResearch
import Foundation

/// `desk backtest --walk-forward train=60d,test=20d[,step=20d][,anchored] --sweep SWEEP.json`:
/// the data's days (loaded here, as the engine loads them) cut into windows, each
/// training window swept and its best run tried on the test window after it
/// (`WalkForward.run`, DeskResearch). This face reads the flags, prints progress on
/// stderr and the windows and the in/out summary (or walkforward.json's object) on
/// stdout, and fails, naming each failed run, when any run failed.
public enum WalkForwardRun {
    public static func command(_ settings: BacktestSettings, _ request: ResearchRequest) async throws {
        let walk = try plan(settings, request)
        let quiet = settings.quiet
        let names = walk.sweep.spec.names
        let rankBy = request.rankBy
        let outcome: WalkForwardOutcome
        do {
            outcome = try await WalkForward.run(settings: walk, executor: try request.executor()) { progress in
                guard !quiet else { return }
                SweepRun.note(SweepRun.progressLine(progress, names: names, rankBy: rankBy))
            }
        } catch let failure as ResearchFailure {
            throw DeskCommandError(failure.message)
        }
        printLine(request.json ? outcome.report.json() : table(outcome.report))
        for skipped in outcome.report.skipped {
            SweepRun.note(
                "window \(skipped.window) skipped (train \(skipped.train), test \(skipped.test)): \(skipped.reason)")
        }
        for failure in outcome.report.failures {
            let params = failure.params.isEmpty ? "" : " (\(SweepRun.parameters(failure.params, names: names)))"
            SweepRun.note("\(failure.run) failed\(params): \(failure.failure)")
            for line in failure.logTail { SweepRun.note("  \(line)") }
        }
        SweepRun.note("walk-forward: \(outcome.page.path)\nresults: \(outcome.reportFile.path)")
        if !outcome.report.failures.isEmpty {
            throw DeskCommandError(
                "\(outcome.report.failures.count) run\(outcome.report.failures.count == 1 ? "" : "s") of the walk-forward failed (each above; in \(outcome.reportFile.path) under failures); the others are reported"
            )
        }
    }

    /// The walk-forward the flags describe, or what is wrong with them (before anything runs).
    static func plan(_ settings: BacktestSettings, _ request: ResearchRequest) throws -> WalkForwardSettings {
        guard let text = request.walkForward else { throw DeskCommandError("--walk-forward SPEC is required") }
        let spec: WalkForwardSpec
        do { spec = try WalkForwardSpec.parse(text) } catch { throw DeskCommandError(error.message) }
        let sweep = try SweepRun.plan(settings, request)
        let days: [TradingDay]
        do { days = try dataDays(settings) } catch { throw DeskCommandError(error.message) }
        let walk = WalkForwardSettings(
            sweep: sweep, walkForward: text, spec: spec, days: days, capital: settings.capital)
        do { _ = try WalkForward.plan(walk) } catch { throw DeskCommandError(error.message) }
        return walk
    }

    /// The New York days that hold ticks, the data loaded and cut to `--from`/`--to` as the engine does.
    static func dataDays(_ settings: BacktestSettings) throws(BacktestFailure) -> [TradingDay] {
        let ticks = BacktestEngine.window(
            try BacktestEngine.load(settings.dataFiles), first: settings.firstDay, last: settings.lastDay)
        let calendar = SessionCalendar()
        var days: [TradingDay] = []
        for tick in ticks {
            let day = calendar.day(of: tick.at)
            if day != days.last { days.append(day) }
        }
        return days
    }

    /// The windows (a row per window and member), then each member's in-sample beside out-of-sample.
    public static func table(_ report: WalkForwardReport) -> String {
        var lines = [
            "walk-forward \(report.walkForward) over \(report.data): \(report.windows.count) window\(report.windows.count == 1 ? "" : "s")\(report.skipped.isEmpty ? "" : " (\(report.skipped.count) skipped)"), \(report.combinations) runs per training window ranked by \(report.rankBy.rawValue)",
            "",
            TextTable(headers: WalkForwardReport.windowColumns, rows: report.windowRows()).render(),
        ]
        for member in report.members.keys.sorted() {
            let comparison = report.members[member]!
            lines += [
                "",
                "\(member): in-sample (the chosen training runs, chained) beside out-of-sample (the test runs, stitched)",
                TextTable(
                    headers: ["", "IN-SAMPLE", "OUT-OF-SAMPLE"], rows: WalkForwardReport.comparisonRows(comparison)
                ).render(),
                "walk-forward efficiency (annualized out-of-sample return / in-sample): \(comparison.walkForwardEfficiency ?? "-")",
            ]
        }
        return lines.joined(separator: "\n")
    }
}

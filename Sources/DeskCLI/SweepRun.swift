import DeskBacktest
import DeskBacktestEngine
import DeskCore
import DeskResearch
import Foundation

/// `desk backtest --sweep SWEEP.json`: one run per combination, ranked. The
/// runs go through `Sweep.run` (DeskResearch); this face reads the flags, prints
/// progress on stderr and the ranked table (or sweep.json's object) on stdout,
/// and fails, naming each failed run, when any run failed.
public enum SweepRun {
    public static func command(_ settings: BacktestSettings, _ request: ResearchRequest) async throws {
        let sweep = try plan(settings, request)
        let quiet = settings.quiet
        let names = sweep.spec.names
        let rankBy = request.rankBy
        let executor = try request.executor()
        let outcome: SweepOutcome
        do {
            outcome = try await Sweep.run(settings: sweep, executor: executor) { progress in
                guard !quiet else { return }
                note(progressLine(progress, names: names, rankBy: rankBy))
            }
        } catch let failure as ResearchFailure {
            throw DeskCommandError(failure.message)
        }
        printLine(request.json ? outcome.report.json() : table(outcome.report))
        for run in outcome.report.runs where run.failure != nil {
            note("run \(run.id) failed: \(parameters(run.params, names: names)): \(run.failure ?? "")")
            for line in run.logTail ?? [] { note("  \(line)") }
        }
        note("sweep: \(outcome.page.path)\nresults: \(outcome.sweepFile.path)")
        let failed = outcome.report.runsFailed
        if failed > 0 {
            throw DeskCommandError(
                "\(failed) of \(outcome.report.runsTotal) runs failed (each above with its parameters and log tail; in \(outcome.sweepFile.path) as failure and log_tail); the others are ranked"
            )
        }
    }

    /// The sweep the flags describe, or what is wrong with them.
    static func plan(_ settings: BacktestSettings, _ request: ResearchRequest) throws -> SweepRunSettings {
        guard let file = request.sweepFile else { throw DeskCommandError("--sweep SWEEP.json is required") }
        if settings.reportDirectory != nil {
            throw DeskCommandError(
                "--report is for a single backtest: a sweep writes sweep.json, sweep.html and each run's report in --work"
            )
        }
        let spec: SweepSpec
        do { spec = try SweepSpec.load(file) } catch { throw DeskCommandError(error.message) }
        let sweep = SweepRunSettings(
            spec: spec, strategiesDirectory: settings.strategiesDirectory,
            strategies: settings.strategies.map(strategyName), dataFiles: settings.dataFiles,
            from: settings.firstDay?.description, to: settings.lastDay?.description, options: request.options,
            work: (settings.workDirectory ?? BacktestEngine.newWorkDirectory()).standardizedFileURL,
            rankBy: request.rankBy, heatmap: request.heatmap)
        do { try Sweep.check(sweep) } catch { throw DeskCommandError(error.message) }
        return sweep
    }

    /// `run 3/12 done: WINDOW=10 THRESHOLD_PERCENT=0.2 total_pnl 12.30`, or why it failed.
    static func progressLine(_ progress: SweepProgress, names: [String], rankBy: RankBy) -> String {
        let head = "run \(progress.done)/\(progress.total)"
        let params = parameters(progress.result.params, names: names)
        guard let report = progress.result.report else {
            return "\(head) failed: \(params): \(progress.result.failure ?? "unknown")"
        }
        return "\(head) done: \(params) \(rankBy.rawValue) \(shown(Ranking.figure(report, rankBy), rankBy))"
    }

    /// `A=1 B=2` in the sweep's order.
    static func parameters(_ params: [String: String], names: [String]) -> String {
        names.map { "\($0)=\(params[$0] ?? "")" }.joined(separator: " ")
    }

    /// Money in two decimals, ratios as they are, `-` for none.
    static func shown(_ value: Decimal?, _ figure: RankBy) -> String {
        guard let value else { return "-" }
        let text = ExactDecimal.plain(value)
        return [.totalPnL, .maxDrawdown].contains(figure) ? BacktestReport.money(text) : text
    }

    /// The ranked table: rank, run, each parameter, the figures (a failed run: `failed`, its reason on stderr).
    public static func table(_ report: SweepReport) -> String {
        let headers =
            ["RANK", "RUN"] + report.parameters + ["TOTAL P&L", "SHARPE", "SORTINO", "CALMAR", "MAX DD", "FILLS"]
        let rows = report.runs.map { run -> [String] in
            let figures =
                run.failure == nil
                ? [
                    run.totalPnL.map { BacktestReport.money($0, signed: true) } ?? "-", run.sharpe ?? "-",
                    run.sortino ?? "-", run.calmar ?? "-", run.maxDrawdown.map { BacktestReport.money($0) } ?? "-",
                    run.fills.map(String.init) ?? "-",
                ] : ["failed", "-", "-", "-", "-", "-"]
            return ["\(run.rank)", run.id] + report.parameters.map { run.params[$0] ?? "" } + figures
        }
        let title =
            "sweep: \(report.runsTotal) runs ranked by \(report.rankBy.rawValue)"
            + (report.runsFailed > 0 ? ", \(report.runsFailed) failed" : "")
        return title + "\n\n" + TextTable(headers: headers, rows: rows).render()
    }

    static func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

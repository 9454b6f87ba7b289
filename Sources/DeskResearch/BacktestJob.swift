import DeskBacktest
import Foundation

/// One `desk backtest` run that research schedules — a sweep's combination, a
/// walk-forward window's run —: what a child `desk backtest` process (on this
/// machine, or on a Ray node) is given. Its strategies folder holds copies of the
/// strategy folders with `params` merged into each config.json `env`
/// (`StrategyCopies`), so the run is exactly the backtest of those folders.
public struct BacktestJob: Codable, Sendable, Equatable {
    /// Unique within one executor call, safe as a folder name (`0007`, `w02-test`).
    public var id: String
    /// The swept parameters (name → value as given), merged into every strategy's `env`.
    public var params: [String: String]
    /// The folder that holds the run's strategy folders (`--strategies`).
    public var strategiesDirectory: String
    /// The strategy folder names to run (empty: every folder there).
    public var strategies: [String]
    /// The tick files (`--data`), absolute paths.
    public var dataFiles: [String]
    /// `--from` / `--to`: New York dates `YYYY-MM-DD`, both included; nil: open.
    public var from: String?
    public var to: String?
    /// The other `desk backtest` flags, as the member gave them (`--fill-at same-tick`,
    /// `--commission 0.005`, `--config FILE`, …): passed through unchanged.
    public var options: [String]
    /// The run's work folder (`--work`): its ledger, logs, report.json, report.html,
    /// equity.csv, and the executor's `backtest.out` / `backtest.err`.
    public var work: String

    public init(
        id: String, params: [String: String], strategiesDirectory: String, strategies: [String],
        dataFiles: [String], from: String? = nil, to: String? = nil, options: [String], work: String
    ) {
        self.id = id
        self.params = params
        self.strategiesDirectory = strategiesDirectory
        self.strategies = strategies
        self.dataFiles = dataFiles
        self.from = from
        self.to = to
        self.options = options
        self.work = work
    }

    /// `desk backtest`'s arguments for this run (after the program's name): the
    /// report as JSON on stdout, no progress lines.
    public var arguments: [String] {
        var arguments = ["backtest"] + strategies + ["--strategies", strategiesDirectory]
        for file in dataFiles { arguments += ["--data", file] }
        if let from { arguments += ["--from", from] }
        if let to { arguments += ["--to", to] }
        return arguments + options + ["--work", work, "--json", "--quiet"]
    }

    /// The names of the files the run leaves in its work folder that research reads or links.
    public static let reportFiles = [BacktestReport.fileName, "report.html", "equity.csv"]
}

/// How one job ended: its report, or why it failed with the last lines it wrote.
public struct BacktestJobResult: Codable, Sendable, Equatable {
    public var id: String
    public var params: [String: String]
    /// The run's `--json` report; nil when it failed.
    public var report: BacktestReport?
    /// Why it failed (the command's error); nil when it completed.
    public var failure: String?
    /// The last lines of its stderr and of its strategies' logs, for a failed run.
    public var logTail: [String]
    /// Wall time of the run.
    public var seconds: Double
    /// CPU time of the run and everything it started (its strategies), when known.
    public var cpuSeconds: Double?

    public init(
        id: String, params: [String: String], report: BacktestReport?, failure: String?, logTail: [String],
        seconds: Double, cpuSeconds: Double? = nil
    ) {
        self.id = id
        self.params = params
        self.report = report
        self.failure = failure
        self.logTail = logTail
        self.seconds = seconds
        self.cpuSeconds = cpuSeconds
    }
}

/// Where research's runs execute: this machine (`LocalExecutor`) or a Ray
/// cluster. Each job is the same `desk backtest`; a result is the same wherever it ran.
public protocol BacktestExecutor: Sendable {
    /// Runs every job, as many at once as the executor allows, calling `finished`
    /// as each ends (in any order). A failed run is a result with `failure`, not a
    /// throw; a throw means the executor itself could not run (no binary, no cluster).
    /// Results come back in the order of `jobs`. Cancelling the task stops the runs.
    func run(_ jobs: [BacktestJob], finished: @escaping @Sendable (BacktestJobResult) -> Void) async throws
        -> [BacktestJobResult]
}

/// Why research could not run.
public struct ResearchFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

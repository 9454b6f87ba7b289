import ArgumentParser
import DeskBacktestEngine
import DeskBroker
import DeskCLI
import DeskCore
import DeskResearch
import DeskRunner
import Foundation

extension PaperBook.FillModel: ExpressibleByArgument {}
extension LockstepMode: ExpressibleByArgument {}
extension RankBy: ExpressibleByArgument {}

/// `desk backtest`: the same strategy folders over recorded ticks, deterministically.
struct Backtest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run strategy folders over recorded ticks, in lockstep on the data's clock, and report.",
        discussion: """
            Each tick goes to the strategies only when every one has finished with the last (it is blocked reading \
            stdin again) and the paper broker has seen the new price. The run uses a fresh ledger in the work folder \
            (inspect it with desk orders --db WORK/desk.db). Exits 0 when the run completed, whatever the P&L; \
            non-zero with the reason (a bad data line as file:line, a crashed strategy's last log lines, a strategy \
            that did not finish with a tick within --tick-timeout, SIGTERM or SIGINT) otherwise.
            """)

    @Argument(help: "Strategy folders to run (default: every folder in --strategies).") var strategy: [String] = []
    @Option(help: "A recorded tick file (.csv, .jsonl or .ndjson); repeat to merge several by time.")
    var data: [String] = []
    @Option(help: "The strategies folder.") var strategies: String = "./strategies"
    @Option(help: "Work folder for the backtest's ledger, logs and socket (default: a new one under ./backtests/).")
    var work: String?
    @Option(help: "JSON config file with the risk limits and the session close (as desk serve --config).")
    var config: String?
    @Option(name: .customLong("fill-at"), help: "When market orders fill: at the next tick or the same tick.")
    var fillAt: PaperBook.FillModel = .nextTick
    @Option(help: "Commission per share, in dollars.") var commission: String = "0"
    @Option(name: .customLong("slippage-bps"), help: "Slippage of market fills in basis points.")
    var slippageBps: String = "0"
    @Option(help: "Each member's capital, for the return on capital.") var capital: String = "100000"
    @Option(help: "Folder for report.html, equity.csv and report.json (default: the work folder).") var report: String?
    @Option(
        name: .customLong("python-path"),
        help: "PYTHONPATH for strategies (env DESK_PYTHONPATH; default: the checkout's)."
    )
    var pythonPath: String?
    @Option(name: .customLong("end-grace"), help: "Seconds strategies have to end after the data is over.")
    var endGrace: Double = 5
    @Option(
        name: .customLong("tick-timeout"),
        help:
            "Seconds one tick may take, every strategy's turn included; a strategy still busy with it then (one that stopped reading its input) fails the run (default 30)."
    )
    var tickTimeout: Double = 30
    @Option(
        name: .customLong("corporate-actions"),
        help:
            "JSON lines of splits and dividends applied on their ex-dates, e.g. {\"type\":\"split\",\"symbol\":\"AAPL\",\"ex_date\":\"2026-03-02\",\"ratio\":\"4\"}."
    )
    var corporateActions: String?
    @Option(
        help:
            "How ticks reach the strategies: stream (written ahead; each order taken at the tick its strategy had read) or strict (one tick at a time, waiting for each strategy). Same results; stream is faster."
    )
    var lockstep: LockstepMode = .stream
    @Option(help: "Only the ticks from this exchange day on (a New York date, YYYY-MM-DD).") var from: String?
    @Option(help: "Only the ticks up to this exchange day, included (a New York date, YYYY-MM-DD).") var to: String?
    @Option(
        help:
            "A parameter sweep: SWEEP.json with {\"grid\": {\"NAME\": [\"1\", \"2\"], …}} or {\"random\": {\"samples\": N, \"seed\": S, \"space\": {…}}}; one run per combination, each value merged into the strategies' config.json env; writes sweep.json and sweep.html in --work."
    )
    var sweep: String?
    @Option(
        name: .customLong("walk-forward"),
        help:
            "train=60d,test=20d[,step=20d][,anchored]: choose the best parameters of --sweep on each training window, run them on the test window after, and report out-of-sample beside in-sample."
    )
    var walkForward: String?
    @Option(name: .customLong("rank-by"), help: "The figure that ranks a sweep's runs.")
    var rankBy: RankBy = .totalPnL
    @Option(help: "Runs at once on this machine (default: its cores).") var jobs: Int?
    @Option(help: "sweep.html's heatmap: two parameter names A,B (default: the first two).") var heatmap: String?
    @Option(help: "Run a sweep's or walk-forward's runs as tasks on this Ray cluster (ray://HOST:PORT).")
    var cluster: String?
    @Option(help: "Submit the backtest to this desk's backtest queue (its URL) instead of running it here.")
    var server: String?
    @Option(help: "Your member token for --server (env DESK_TOKEN; else the one `desk login` saved).")
    var token: String?
    @Flag(help: "Print the report as one JSON object on stdout.") var json = false
    @Flag(help: "No progress on stderr.") var quiet = false

    func validate() throws {
        guard !data.isEmpty else {
            throw ValidationError("--data FILE is required: a recorded tick file (.csv, .jsonl or .ndjson)")
        }
        for (name, text) in [("--commission", commission), ("--slippage-bps", slippageBps), ("--capital", capital)] {
            guard case .success(let value) = ExactDecimal.parse(text), value >= 0 else {
                throw ValidationError("\(name) \(text) must be a decimal number of at least 0, such as 0.005")
            }
        }
        guard (0...3600).contains(endGrace) else { throw ValidationError("--end-grace must be 0 to 3600 seconds") }
        guard tickTimeout > 0 && tickTimeout <= 86_400 else {
            throw ValidationError("--tick-timeout must be more than 0 and at most 86400 seconds, such as 30 or 0.5")
        }
        for (name, text) in [("--from", from), ("--to", to)] {
            if let text, TradingDay(text) == nil {
                throw ValidationError(
                    "\(name) \(text) is not a date: give a New York date as YYYY-MM-DD, such as 2026-11-16")
            }
        }
        if let first = from.flatMap(TradingDay.init), let last = to.flatMap(TradingDay.init), first > last {
            throw ValidationError("--from \(first) is after --to \(last)")
        }
        if let jobs, !(1...256).contains(jobs) { throw ValidationError("--jobs must be 1 to 256") }
        if walkForward != nil && sweep == nil {
            throw ValidationError("--walk-forward chooses among the runs of a --sweep: give --sweep SWEEP.json too")
        }
        if cluster != nil && sweep == nil {
            throw ValidationError("--cluster runs the runs of a --sweep or --walk-forward: give --sweep SWEEP.json too")
        }
        if server != nil && cluster != nil {
            throw ValidationError("--server submits to a desk, which chooses where its runs go: leave out --cluster")
        }
    }

    /// The flags every run of a sweep or walk-forward gets unchanged (paths made absolute).
    var runOptions: [String] {
        func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
        var options = [
            "--fill-at", fillAt.rawValue, "--commission", commission, "--slippage-bps", slippageBps, "--capital",
            capital, "--end-grace", "\(endGrace)", "--tick-timeout", "\(tickTimeout)", "--lockstep", lockstep.rawValue,
        ]
        if let config { options += ["--config", absolute(config)] }
        if let pythonPath { options += ["--python-path", pythonPath] }
        if let corporateActions { options += ["--corporate-actions", absolute(corporateActions)] }
        return options
    }

    /// A figure `validate()` has checked.
    static func decimal(_ text: String) -> Decimal { (try? ExactDecimal.parse(text).get()) ?? 0 }

    func run() async throws {
        let settings = BacktestSettings(
            strategies: strategy, strategiesDirectory: URL(fileURLWithPath: strategies).standardizedFileURL,
            dataFiles: data.map { URL(fileURLWithPath: $0).standardizedFileURL },
            workDirectory: work.map { URL(fileURLWithPath: $0) }, configFile: config, fillAt: fillAt,
            commissionPerShare: Self.decimal(commission), slippageBps: Self.decimal(slippageBps),
            capital: Self.decimal(capital), reportDirectory: report.map { URL(fileURLWithPath: $0) },
            pythonPath: pythonPath, endGrace: .milliseconds(Int64(endGrace * 1000)),
            tickTimeout: .milliseconds(Int64(tickTimeout * 1000)), quiet: quiet,
            corporateActionsFile: corporateActions.map { URL(fileURLWithPath: $0).standardizedFileURL },
            lockstep: lockstep, firstDay: from.flatMap(TradingDay.init), lastDay: to.flatMap(TradingDay.init))
        let research = ResearchRequest(
            sweepFile: sweep.map { URL(fileURLWithPath: $0).standardizedFileURL }, walkForward: walkForward,
            rankBy: rankBy, jobs: jobs ?? LocalExecutor.cores,
            heatmap: heatmap.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } },
            cluster: cluster, server: server, token: token, options: runOptions, json: json)
        if server != nil {
            try await RemoteBacktest.command(settings, research)
        } else if walkForward != nil {
            try await SignalCancellation.run { try await WalkForwardRun.command(settings, research) }
        } else if sweep != nil {
            try await SignalCancellation.run { try await SweepRun.command(settings, research) }
        } else {
            try await BacktestRun.command(settings, json: json)
        }
    }
}

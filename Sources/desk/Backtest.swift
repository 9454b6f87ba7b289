import ArgumentParser
import DeskBacktestEngine
import DeskBroker
import DeskCLI
import DeskCore
import DeskRunner
import Foundation

extension PaperBook.FillModel: ExpressibleByArgument {}
extension LockstepMode: ExpressibleByArgument {}

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
            lockstep: lockstep)
        try await BacktestRun.command(settings, json: json)
    }
}

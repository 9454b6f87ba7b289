import DeskBacktest
import DeskBroker
import DeskCore
import DeskRunner
import Foundation

/// What a backtest runs, over what, and how fills are made: typed, as a command
/// or a test builds it (`desk backtest`'s flags become one).
public struct BacktestSettings: Sendable {
    /// The strategy folders to run, by folder name; empty: every folder in `strategiesDirectory`.
    public var strategies: [String]
    public var strategiesDirectory: URL
    /// The recorded tick files, merged by time.
    public var dataFiles: [URL]
    /// nil: a new folder under ./backtests/.
    public var workDirectory: URL?
    /// The desk's config file (risk limits, session close); nil: `DESK_CONFIG`, else none.
    public var configFile: String?
    /// Which tick a new market order first meets.
    public var fillAt: PaperBook.FillModel
    public var commissionPerShare: Decimal
    public var slippageBps: Decimal
    /// Each member's capital, for the return on capital.
    public var capital: Decimal
    /// Where report.html and equity.csv go; nil: the work folder.
    public var reportDirectory: URL?
    /// PYTHONPATH for strategies; nil: `DESK_PYTHONPATH`, else the checkout's.
    public var pythonPath: String?
    /// How long strategies have to end after the data is over.
    public var endGrace: Duration
    /// How long one tick may take, every strategy's turn with it included (and
    /// how long strategies have to ask for their first tick once started).
    public var tickTimeout: Duration
    /// No progress lines.
    public var quiet: Bool
    /// A `--corporate-actions` file: splits and dividends applied on their ex-dates.
    public var corporateActionsFile: URL?
    /// How ticks reach the strategies (`--lockstep`).
    public var lockstep: LockstepMode
    /// `--from` and `--to`: only the ticks of these exchange days (New York dates, both
    /// ends included); nil: from the data's first day, to its last.
    public var firstDay: TradingDay?
    public var lastDay: TradingDay?

    /// The ledger's file name in the work folder (`desk orders --work FOLDER` reads it).
    public static let ledgerName = "desk.db"

    /// Settings with `desk backtest`'s defaults.
    public init(
        strategies: [String], strategiesDirectory: URL, dataFiles: [URL], workDirectory: URL? = nil,
        configFile: String? = nil, fillAt: PaperBook.FillModel = .nextTick, commissionPerShare: Decimal = 0,
        slippageBps: Decimal = 0, capital: Decimal = 100_000, reportDirectory: URL? = nil,
        pythonPath: String? = nil, endGrace: Duration = .seconds(5), tickTimeout: Duration = .seconds(30),
        quiet: Bool = false, corporateActionsFile: URL? = nil, lockstep: LockstepMode = .stream,
        firstDay: TradingDay? = nil, lastDay: TradingDay? = nil
    ) {
        self.firstDay = firstDay
        self.lastDay = lastDay
        self.corporateActionsFile = corporateActionsFile
        self.lockstep = lockstep
        self.strategies = strategies
        self.strategiesDirectory = strategiesDirectory
        self.dataFiles = dataFiles
        self.workDirectory = workDirectory
        self.configFile = configFile
        self.fillAt = fillAt
        self.commissionPerShare = commissionPerShare
        self.slippageBps = slippageBps
        self.capital = capital
        self.reportDirectory = reportDirectory
        self.pythonPath = pythonPath
        self.endGrace = endGrace
        self.tickTimeout = tickTimeout
        self.quiet = quiet
    }
}

/// Why a backtest could not run or complete.
public struct BacktestFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// In stream mode: the strategy that reads stdin in pieces smaller than a
    /// line, so the run must be done again in strict lockstep.
    public var fallback: String?
    /// The work folder of the run that must be done again.
    var workDirectory: URL?
    public init(message: String, fallback: String? = nil) {
        self.message = message
        self.fallback = fallback
    }
    public var description: String { message }
}

/// A finished run.
public struct BacktestOutcome: Sendable {
    public var report: BacktestReport
    public var workDirectory: URL
    public var reportPage: URL
    public var equityFile: URL
}

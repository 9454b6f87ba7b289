import DeskBacktest
import DeskCore
import Foundation

/// `walkforward.json`: every window's chosen parameters with their in-sample
/// (the best training run's) and out-of-sample (the test run's) figures, then per
/// member the chained statistics of both and how far apart they are. The same
/// inputs give the same bytes (keys sorted), apart from `timing`.
public struct WalkForwardReport: Sendable, Equatable, Codable {
    public var spec: WalkForwardSpec
    /// `--walk-forward` as given.
    public var walkForward: String
    public var rankBy: RankBy
    /// Runs of the sweep on each training window.
    public var combinations: Int
    /// The data's first and last New York day (within `--from`/`--to`).
    public var data: DayRange
    /// Capital per member, the base of the returns.
    public var capital: String
    public var windows: [Window]
    /// Windows left out (no ticks in their train or test days).
    public var skipped: [Skipped]
    /// Per member: in-sample beside out-of-sample.
    public var members: [String: Comparison]
    /// Runs that failed (empty when all completed).
    public var failures: [Failure]
    /// How long it took: the only part that differs between two runs of the same inputs.
    public var timing: Timing?

    /// One window's choice and its figures.
    public struct Window: Sendable, Equatable, Codable {
        public var window: Int
        public var train: DayRange
        public var test: DayRange
        /// The best training run's parameters; nil when every training run failed.
        public var params: [String: String]?
        /// Folders under the work folder: the training sweep (with sweep.json, sweep.html) and the test run.
        public var trainSweep: String
        /// The chosen training run's folder; nil when none completed.
        public var trainRun: String?
        public var testRun: String?
        /// Per member, the chosen training run's figures and the test run's.
        public var inSample: [String: Figures]?
        public var outOfSample: [String: Figures]?

        enum CodingKeys: String, CodingKey {
            case window, train, test, params
            case trainSweep = "train_sweep", trainRun = "train_run", testRun = "test_run"
            case inSample = "in_sample", outOfSample = "out_of_sample"
        }
    }

    /// A run's figures for one member, under `desk backtest --json`'s names.
    public struct Figures: Sendable, Equatable, Codable {
        public var totalPnL: String
        public var returnOnCapital: String
        public var sharpe: String?
        public var sortino: String?
        public var maxDrawdown: String
        public var fills: Int

        public init(_ figures: BacktestReport.Figures) {
            totalPnL = figures.totalPnL
            returnOnCapital = figures.returnOnCapital
            sharpe = figures.sharpe
            sortino = figures.sortino
            maxDrawdown = figures.maxDrawdown
            fills = figures.fills
        }

        /// Each member's figures of `report`.
        public static func of(_ report: BacktestReport?) -> [String: Figures]? {
            report.map { $0.members.mapValues(Figures.init) }
        }

        enum CodingKeys: String, CodingKey {
            case sharpe, sortino, fills
            case totalPnL = "total_pnl", returnOnCapital = "return", maxDrawdown = "max_drawdown"
        }
    }

    /// A window left out.
    public struct Skipped: Sendable, Equatable, Codable {
        public var window: Int
        public var train: DayRange
        public var test: DayRange
        public var reason: String

        public init(_ skipped: SkippedWindow) {
            window = skipped.window.number
            train = skipped.window.train
            test = skipped.window.test
            reason = skipped.reason
        }
    }

    /// One member's in-sample and out-of-sample statistics, and how far apart.
    public struct Comparison: Sendable, Equatable, Codable {
        /// The chosen training runs, chained in window order.
        public var inSample: ChainStatistics
        /// The test runs, chained: the stitched out-of-sample equity's statistics.
        public var outOfSample: ChainStatistics
        /// Annualized out-of-sample return over annualized in-sample return (1 = as good
        /// as in-sample; near 0 or negative: the choice was fitted to noise); nil when in-sample made nothing.
        public var walkForwardEfficiency: String?
        /// Out-of-sample P&L per day minus in-sample P&L per day.
        public var pnlPerDayDifference: String
        /// The stitched out-of-sample equity at each day's close.
        public var outOfSampleEquity: [DayEquity]

        public init(inSample: [[EquityPoint]], outOfSample: [[EquityPoint]], capital: Decimal) {
            self.inSample = EquityChain.statistics(inSample, capital: capital)
            self.outOfSample = EquityChain.statistics(outOfSample, capital: capital)
            walkForwardEfficiency = EquityChain.efficiency(inSample: self.inSample, outOfSample: self.outOfSample)
            let perDay = { (text: String) -> Decimal in (try? ExactDecimal.parse(text).get()) ?? 0 }
            pnlPerDayDifference = ExactDecimal.plain(
                perDay(self.outOfSample.pnlPerDay) - perDay(self.inSample.pnlPerDay))
            outOfSampleEquity = EquityChain.dailyCloses(outOfSample, capital: capital).map {
                DayEquity(day: $0.day.description, equity: ExactDecimal.plain($0.equity))
            }
        }

        enum CodingKeys: String, CodingKey {
            case inSample = "in_sample", outOfSample = "out_of_sample"
            case walkForwardEfficiency = "walk_forward_efficiency", pnlPerDayDifference = "pnl_per_day_difference"
            case outOfSampleEquity = "out_of_sample_equity"
        }
    }

    /// A day's closing equity.
    public struct DayEquity: Sendable, Equatable, Codable {
        public var day: String
        public var equity: String
    }

    /// A run that failed: which, with what parameters, why, and its last lines.
    public struct Failure: Sendable, Equatable, Codable {
        public var run: String
        public var window: Int
        public var params: [String: String]
        public var failure: String
        public var logTail: [String]

        public init(run: String, window: Int, result: BacktestJobResult) {
            self.run = run
            self.window = window
            params = result.params
            failure = result.failure ?? "no report"
            logTail = result.logTail
        }

        enum CodingKeys: String, CodingKey {
            case run, window, params, failure
            case logTail = "log_tail"
        }
    }

    /// Wall time and CPU time of the whole walk-forward.
    public struct Timing: Sendable, Equatable, Codable {
        public var elapsedSeconds: String
        public var cpuSeconds: String?

        public init(elapsedSeconds: Double, cpuSeconds: Double?) {
            self.elapsedSeconds = String(format: "%.3f", elapsedSeconds)
            self.cpuSeconds = cpuSeconds.map { String(format: "%.3f", $0) }
        }

        enum CodingKeys: String, CodingKey {
            case elapsedSeconds = "elapsed_seconds", cpuSeconds = "cpu_seconds"
        }
    }

    enum CodingKeys: String, CodingKey {
        case spec, combinations, data, capital, windows, skipped, members, failures, timing
        case walkForward = "walk_forward", rankBy = "rank_by"
    }

    /// The file's name in the work folder, beside walkforward.html.
    public static let fileName = "walkforward.json"

    /// The report as one JSON object (keys sorted, slashes as they are).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The columns of the per-window table.
    public static let windowColumns = [
        "WINDOW", "TRAIN", "TEST", "PARAMS", "MEMBER", "IN P&L", "IN RETURN", "IN SHARPE", "OUT P&L", "OUT RETURN",
        "OUT SHARPE",
    ]

    /// One row per window and member (a window without figures: one row saying why).
    public func windowRows() -> [[String]] {
        var rows: [[String]] = []
        for window in windows {
            let params = window.params.map(Self.paramsText) ?? "(every training run failed)"
            let names = Set((window.inSample ?? [:]).keys).union((window.outOfSample ?? [:]).keys).sorted()
            let head = [String(window.window), window.train.description, window.test.description, params]
            guard !names.isEmpty else {
                rows.append(head + ["-", "-", "-", "-", "-", "-", "-"])
                continue
            }
            for member in names {
                func cells(_ figures: Figures?) -> [String] {
                    guard let figures else { return ["-", "-", "-"] }
                    return [
                        BacktestReport.money(figures.totalPnL, signed: true),
                        BacktestReport.percent(figures.returnOnCapital, signed: true), figures.sharpe ?? "-",
                    ]
                }
                rows.append(head + [member] + cells(window.inSample?[member]) + cells(window.outOfSample?[member]))
            }
        }
        return rows
    }

    /// `A=1 B=2`, names in order.
    public static func paramsText(_ params: [String: String]) -> String {
        params.keys.sorted().map { "\($0)=\(params[$0]!)" }.joined(separator: " ")
    }

    /// The rows of one member's comparison: statistic, in-sample, out-of-sample.
    public static func comparisonRows(_ comparison: Comparison) -> [[String]] {
        let (inside, outside) = (comparison.inSample, comparison.outOfSample)
        return [
            [
                "total P&L", BacktestReport.money(inside.totalPnL, signed: true),
                BacktestReport.money(outside.totalPnL, signed: true),
            ],
            [
                "return", BacktestReport.percent(inside.returnOnCapital, signed: true),
                BacktestReport.percent(outside.returnOnCapital, signed: true),
            ],
            [
                "annualized return", inside.annualizedReturn.map { BacktestReport.percent($0, signed: true) } ?? "-",
                outside.annualizedReturn.map { BacktestReport.percent($0, signed: true) } ?? "-",
            ],
            [
                "P&L per day", BacktestReport.money(inside.pnlPerDay, signed: true),
                BacktestReport.money(outside.pnlPerDay, signed: true),
            ],
            ["max drawdown", BacktestReport.money(inside.maxDrawdown), BacktestReport.money(outside.maxDrawdown)],
            ["sharpe", inside.sharpe ?? "-", outside.sharpe ?? "-"],
            ["sortino", inside.sortino ?? "-", outside.sortino ?? "-"],
            ["days", String(inside.days), String(outside.days)],
        ]
    }
}

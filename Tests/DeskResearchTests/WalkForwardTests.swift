import DeskBacktest
import DeskCore
import DeskTestSupport
import Foundation
import Testing

@testable import DeskResearch

@Suite struct WalkForwardSpecTests {
    @Test(
        "a spec is read with step defaulting to test",
        arguments: [
            ("train=60d,test=20d", WalkForwardSpec(trainDays: 60, testDays: 20, stepDays: 20)),
            ("train=60d,test=20d,step=10d", WalkForwardSpec(trainDays: 60, testDays: 20, stepDays: 10)),
            ("train=1d,test=1d,anchored", WalkForwardSpec(trainDays: 1, testDays: 1, stepDays: 1, anchored: true)),
            (
                "anchored,test=5d,train=30d,step=7d",
                WalkForwardSpec(trainDays: 30, testDays: 5, stepDays: 7, anchored: true)
            ),
            (" train=2d , test=3d ", WalkForwardSpec(trainDays: 2, testDays: 3, stepDays: 3)),
        ])
    func good(_ text: String, _ expected: WalkForwardSpec) throws {
        #expect(try WalkForwardSpec.parse(text) == expected)
    }

    @Test(
        "a bad spec is refused saying what is wrong and what is allowed",
        arguments: [
            ("test=20d", "train=Nd is missing"),
            ("train=60d", "test=Md is missing"),
            ("train=60,test=20d", "train=60 is not a whole number of days"),
            ("train=60d,test=2.5d", "test=2.5d is not a whole number of days"),
            ("train=0d,test=20d", "train=0d must be at least 1d"),
            ("train=-3d,test=20d", "train=-3d is not a whole number of days"),
            ("train=60d,test=20d,step=0d", "step=0d must be at least 1d"),
            ("train=60d,test=20d,train=10d", "train is given twice"),
            ("train=60d,test=20d,anchored,anchored", "anchored is given twice"),
            ("train=60d,test=20d,window=5d", "unknown part \"window\""),
            ("train=60d,test=20d,", "an empty part"),
            ("train=60d;test=20d", "train=60d;test=20d is not a whole number of days"),
            ("train=60d,test=20d,sixty", "\"sixty\" is not NAME=DAYS nor anchored"),
            ("train=60w,test=20d", "train=60w is not a whole number of days"),
            ("", "an empty part"),
        ])
    func bad(_ text: String, _ expected: String) {
        do {
            _ = try WalkForwardSpec.parse(text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(error.message.contains("such as train=60d,test=20d"), "\(error.message)")
        }
    }

    @Test("the spec's text reads back as the same spec")
    func roundTrip() throws {
        let spec = WalkForwardSpec(trainDays: 3, testDays: 2, stepDays: 1, anchored: true)
        #expect(try WalkForwardSpec.parse(spec.description) == spec)
    }
}

@Suite struct WalkForwardPlanTests {
    static func day(_ text: String) -> TradingDay { TradingDay(text)! }
    static func range(_ from: String, _ to: String) -> DayRange { DayRange(day(from), day(to)) }
    /// Every day from `from` to `to`.
    static func days(_ from: String, _ to: String) -> [TradingDay] {
        (day(from).dayNumber...day(to).dayNumber).map(TradingDay.init(dayNumber:))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var spec: String
        var days: [TradingDay]
        /// (train from, train to, test from, test to) per window run.
        var windows: [(String, String, String, String)]
        var skipped: [Int] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "three days, 1d/1d: two windows", spec: "train=1d,test=1d",
            days: days("2026-11-16", "2026-11-18"),
            windows: [
                ("2026-11-16", "2026-11-16", "2026-11-17", "2026-11-17"),
                ("2026-11-17", "2026-11-17", "2026-11-18", "2026-11-18"),
            ]),
        Case(
            name: "rolling: train moves by step", spec: "train=3d,test=2d",
            days: days("2026-01-01", "2026-01-09"),
            windows: [
                ("2026-01-01", "2026-01-03", "2026-01-04", "2026-01-05"),
                ("2026-01-03", "2026-01-05", "2026-01-06", "2026-01-07"),
                ("2026-01-05", "2026-01-07", "2026-01-08", "2026-01-09"),
            ]),
        Case(
            name: "the last test window is cut at the data's last day", spec: "train=3d,test=4d",
            days: days("2026-01-01", "2026-01-09"),
            windows: [
                ("2026-01-01", "2026-01-03", "2026-01-04", "2026-01-07"),
                ("2026-01-05", "2026-01-07", "2026-01-08", "2026-01-09"),
            ]),
        Case(
            name: "anchored: train always from the first day", spec: "train=3d,test=2d,anchored",
            days: days("2026-01-01", "2026-01-09"),
            windows: [
                ("2026-01-01", "2026-01-03", "2026-01-04", "2026-01-05"),
                ("2026-01-01", "2026-01-05", "2026-01-06", "2026-01-07"),
                ("2026-01-01", "2026-01-07", "2026-01-08", "2026-01-09"),
            ]),
        Case(
            name: "step shorter than test: test windows overlap", spec: "train=2d,test=3d,step=1d",
            days: days("2026-01-01", "2026-01-05"),
            windows: [
                ("2026-01-01", "2026-01-02", "2026-01-03", "2026-01-05"),
                ("2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"),
                ("2026-01-03", "2026-01-04", "2026-01-05", "2026-01-05"),
            ]),
        Case(
            name: "a weekend without ticks: its windows are skipped", spec: "train=1d,test=1d",
            // Friday 2026-11-20, nothing on Saturday and Sunday, Monday 2026-11-23.
            days: days("2026-11-19", "2026-11-20") + days("2026-11-23", "2026-11-23"),
            windows: [("2026-11-19", "2026-11-19", "2026-11-20", "2026-11-20")],
            skipped: [2, 3, 4]),
        Case(
            name: "calendar days, not trading days: a 3-day train over a weekend", spec: "train=3d,test=1d",
            days: days("2026-11-19", "2026-11-20") + days("2026-11-23", "2026-11-23"),
            windows: [("2026-11-20", "2026-11-22", "2026-11-23", "2026-11-23")],
            skipped: [1]),
    ]

    @Test("windows by the calendar", arguments: cases)
    func windows(_ row: Case) throws {
        let plan = try WalkForwardPlan(try WalkForwardSpec.parse(row.spec), days: row.days.shuffled())
        #expect(
            plan.windows.map { [$0.train.from, $0.train.to, $0.test.from, $0.test.to].map(\.description) }
                == row.windows.map { [$0.0, $0.1, $0.2, $0.3] })
        #expect(plan.skipped.map(\.window.number) == row.skipped)
        #expect(plan.data == DayRange(row.days.min()!, row.days.max()!))
        let numbers = (plan.windows.map(\.number) + plan.skipped.map(\.window.number)).sorted()
        #expect(numbers == Array(1...numbers.count), "windows are numbered in calendar order, skipped ones counted")
    }

    @Test("a skipped window says which part holds no ticks")
    func skippedReason() throws {
        let plan = try WalkForwardPlan(
            WalkForwardSpec(trainDays: 1, testDays: 1),
            days: Self.days("2026-11-19", "2026-11-20") + [Self.day("2026-11-23")])
        #expect(
            plan.skipped.map(\.reason) == [
                "its test days 2026-11-21 hold no ticks",
                "its train days 2026-11-21 and test days 2026-11-22 hold no ticks",
                "its train days 2026-11-22 hold no ticks",
            ])
    }

    @Test("data shorter than a training window and a test day is an error that says so")
    func tooShort() {
        #expect(throws: ResearchFailure.self) {
            try WalkForwardPlan(WalkForwardSpec(trainDays: 3, testDays: 1), days: Self.days("2026-11-16", "2026-11-18"))
        }
        do {
            _ = try WalkForwardPlan(
                WalkForwardSpec(trainDays: 60, testDays: 20), days: Self.days("2026-11-16", "2026-11-18"))
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains("such as train=2d,test=1d"), "\(error.message)")
            #expect(error.message.contains("the data spans 3 days (2026-11-16..2026-11-18)"), "\(error.message)")
            #expect(error.message.contains("train+test: 80 days"), "\(error.message)")
        }
        #expect(throws: ResearchFailure.self) {
            try WalkForwardPlan(WalkForwardSpec(trainDays: 1, testDays: 1), days: [])
        }
    }

    @Test("windows that all lack ticks in a part are an error listing them")
    func allSkipped() {
        do {
            _ = try WalkForwardPlan(
                WalkForwardSpec(trainDays: 1, testDays: 1, stepDays: 2),
                days: [Self.day("2026-11-16"), Self.day("2026-11-19")])
            Issue.record("accepted")
        } catch {
            #expect(
                error.message.hasPrefix("no window holds ticks in both its train and test days"), "\(error.message)")
        }
    }
}

@Suite struct EquityChainTests {
    /// 2026-11-16 (Monday) at `hour`:00 UTC, plus `days`.
    static func at(_ days: Int, _ hour: Int) -> Date {
        Date(timeIntervalSince1970: 1_794_787_200 + Double(days) * 86_400 + Double(hour) * 3_600)
    }
    static func point(_ days: Int, _ hour: Int, _ equity: String) -> EquityPoint {
        EquityPoint(at: at(days, hour), equity: Decimal(string: equity)!)
    }

    @Test("each segment starts where the previous one ended; exact decimals")
    func stitch() {
        let first = [Self.point(0, 15, "100000"), Self.point(0, 20, "100010.25")]
        let second = [Self.point(1, 15, "99995.5"), Self.point(1, 20, "100020.01")]
        let third = [Self.point(2, 15, "100000.00"), Self.point(2, 20, "99990")]
        let chained = EquityChain.stitch([first, second, [], third], capital: 100_000)
        #expect(
            chained.map { ExactDecimal.plain($0.equity) } == [
                "100000", "100010.25", "100005.75", "100030.26", "100030.26", "100020.26",
            ])
        #expect(chained.map(\.at) == (first + second + third).map(\.at))
    }

    @Test("statistics come from the chained daily closes with the single report's rules")
    func statistics() {
        // Day 1 ends +10, day 2 −5 (after a dip to −20), day 3 +15: closes 100010, 100005, 100020.
        let segments = [
            [Self.point(0, 15, "100004"), Self.point(0, 20, "100010")],
            [Self.point(1, 15, "99980"), Self.point(1, 20, "99995")],
            [Self.point(2, 20, "100015")],
        ]
        let statistics = EquityChain.statistics(segments, capital: 100_000)
        #expect(statistics.totalPnL == "20")
        #expect(statistics.returnOnCapital == "0.0002")
        // Peak 100010, lowest 99990 after it: 20.
        #expect(statistics.maxDrawdown == "20")
        #expect(statistics.days == 3)
        #expect(statistics.pnlPerDay == "6.6667")
        let closes: [Decimal] = [100_010, 100_005, 100_020]
        let returns = BacktestReport.dailyReturns(closes, capital: 100_000)
        #expect(statistics.sharpe == BacktestReport.ratio(BacktestReport.sharpe(returns)))
        #expect(statistics.sortino == BacktestReport.ratio(BacktestReport.sortino(returns)))
        #expect(statistics.sharpe != nil)
        #expect(statistics.annualizedReturn == BacktestReport.ratio(0.0002 / 3 * 252))
        #expect(
            EquityChain.dailyCloses(segments, capital: 100_000).map { ExactDecimal.plain($0.equity) } == [
                "100010", "100005", "100020",
            ])
    }

    @Test("a day's close is its last point in New York; overlapping segments keep a close each")
    func closes() {
        // 03:00 UTC on day 1 is still day 0 in New York (22:00 the evening before).
        let segment = [Self.point(0, 15, "100001"), Self.point(1, 3, "100002"), Self.point(1, 15, "100003")]
        let closes = EquityChain.dailyCloses([segment, segment], capital: 100_000)
        #expect(closes.map(\.day.description) == ["2026-11-16", "2026-11-17", "2026-11-16", "2026-11-17"])
        #expect(closes.map { ExactDecimal.plain($0.equity) } == ["100002", "100003", "100005", "100006"])
    }

    @Test("walk-forward efficiency: annualized out-of-sample over in-sample; none when in-sample made nothing")
    func efficiency() {
        let inside = EquityChain.statistics(
            [[Self.point(0, 20, "100100")], [Self.point(1, 20, "100100")]], capital: 100_000)
        let outside = EquityChain.statistics(
            [[Self.point(2, 20, "100050")], [Self.point(3, 20, "100050")]], capital: 100_000)
        #expect(EquityChain.efficiency(inSample: inside, outOfSample: outside) == "0.5000")
        let flat = EquityChain.statistics([[Self.point(0, 20, "100000")]], capital: 100_000)
        #expect(EquityChain.efficiency(inSample: flat, outOfSample: outside) == nil)
        let comparison = WalkForwardReport.Comparison(
            inSample: [[Self.point(0, 20, "100100")], [Self.point(1, 20, "100100")]],
            outOfSample: [[Self.point(2, 20, "100050")], [Self.point(3, 20, "100050")]], capital: 100_000)
        #expect(comparison.pnlPerDayDifference == "-50")
        #expect(comparison.outOfSampleEquity.map(\.equity) == ["100050", "100100"])
    }

    @Test("equity.csv is read per member; a bad line is named")
    func parse() throws {
        let csv = """
            timestamp,member,equity
            2026-11-16T15:00:00.000Z,alice,100000
            2026-11-16T15:01:00.000Z,bob,100001.5
            2026-11-16T15:02:00.000Z,alice,99999.25

            """
        let curves = try EquityChain.parse(csv: csv)
        #expect(curves["alice"]?.map { ExactDecimal.plain($0.equity) } == ["100000", "99999.25"])
        #expect(curves["bob"]?.count == 1)
        #expect(throws: ResearchFailure.self) { try EquityChain.parse(csv: "timestamp,member,equity\nnope,alice,1\n") }
    }
}

/// A stand-in executor: each run "makes" X × (the day of month − 15) on its one day
/// (an equity.csv and a report like a real run's); X=bad fails, and so does every
/// run training on 2026-11-17 (so window 2 has nothing to choose).
struct ArithmeticExecutor: BacktestExecutor {
    func run(_ jobs: [BacktestJob], finished: @escaping @Sendable (BacktestJobResult) -> Void) async throws
        -> [BacktestJobResult]
    {
        try jobs.map { job in
            let result = try outcome(job)
            finished(result)
            return result
        }
    }

    func outcome(_ job: BacktestJob) throws -> BacktestJobResult {
        let work = URL(fileURLWithPath: job.work)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        guard let x = Int(job.params["X"] ?? ""), job.from != "2026-11-17" || job.id.hasSuffix("test") else {
            return BacktestJobResult(
                id: job.id, params: job.params, report: nil, failure: "X is bad", logTail: ["boom"], seconds: 0)
        }
        let day = try #require(job.from)
        let pnl = x * (Int(day.suffix(2))! - 15)
        let csv =
            "timestamp,member,equity\n\(day)T15:00:00.000Z,alice,100000\n\(day)T20:00:00.000Z,alice,\(100_000 + pnl)\n"
        try Data(csv.utf8).write(to: work.appendingPathComponent("equity.csv"))
        let json = """
            {"capital":"100000","commission_per_share":"0","end":"\(day)T20:00:00.000Z","fill_at":"next-tick",\
            "members":{"alice":{"orders":1,"fills":2,"rejected":0,"realized_pnl":"\(pnl)","unrealized_pnl":"0",\
            "total_pnl":"\(pnl)","commission":"0","max_drawdown":"0","return":"0.0000","round_trips":1,\
            "traded_notional":"0","positions":{}}},"slippage_bps":"0","start":"\(day)T15:00:00.000Z","ticks":2}
            """
        let report = try JSONDecoder().decode(BacktestReport.self, from: Data(json.utf8))
        return BacktestJobResult(id: job.id, params: job.params, report: report, failure: nil, logTail: [], seconds: 0)
    }
}

@Suite struct WalkForwardRunTests {
    func settings(_ folder: TemporaryDirectory, work: String) throws -> WalkForwardSettings {
        let strategies = folder.url.appendingPathComponent("strategies")
        let alpha = strategies.appendingPathComponent("alpha")
        try FileManager.default.createDirectory(at: alpha, withIntermediateDirectories: true)
        try Data(#"{"user_id":"alice","env":{"X":"0"}}"#.utf8).write(to: alpha.appendingPathComponent("config.json"))
        let sweep = SweepRunSettings(
            spec: SweepSpec(method: .grid, parameters: [.init(name: "X", values: ["1", "2", "bad"])]),
            strategiesDirectory: strategies, strategies: ["alpha"], dataFiles: [folder.url.appendingPathComponent("d")],
            options: [], work: folder.url.appendingPathComponent(work))
        return WalkForwardSettings(
            sweep: sweep, walkForward: "train=1d,test=1d", spec: WalkForwardSpec(trainDays: 1, testDays: 1),
            days: WalkForwardPlanTests.days("2026-11-16", "2026-11-18"), capital: 100_000)
    }

    @Test("the best training run's parameters run on the test day; a window with nothing to choose is a failure")
    func run() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let outcome = try await WalkForward.run(
            settings: try settings(folder, work: "w"), executor: ArithmeticExecutor())
        let report = outcome.report
        #expect(report.windows.map(\.params) == [["X": "2"], nil])
        #expect(report.windows[0].inSample?["alice"]?.totalPnL == "2")
        #expect(report.windows[0].outOfSample?["alice"]?.totalPnL == "4")
        #expect(report.windows[0].trainRun == "windows/01/train/runs/0002")
        #expect(report.windows[0].testRun == "windows/01/test")
        #expect(report.windows[1].testRun == nil && report.windows[1].outOfSample == nil)
        #expect(
            report.failures.map(\.run) == [
                "windows/01/train/runs/0003", "windows/02/train", "windows/02/train/runs/0001",
                "windows/02/train/runs/0002", "windows/02/train/runs/0003",
            ])
        #expect(report.failures[1].failure == "every training run failed")
        #expect(report.members["alice"]?.outOfSample.totalPnL == "4")
        #expect(report.members["alice"]?.inSample.totalPnL == "2")
        #expect(report.members["alice"]?.walkForwardEfficiency == "2.0000")
        // Two windows of three training runs, one test run: the window without a choice has none.
        let progress = try String(contentsOf: folder.url.appendingPathComponent("w/progress.json"), encoding: .utf8)
        #expect(progress == #"{"runs_done": 7, "runs_total": 7}"# + "\n")
        // The test run's strategy folder has the chosen value merged into its env.
        let config = try Data(
            contentsOf: folder.url.appendingPathComponent("w/windows/01/test/strategies/alpha/config.json"))
        #expect(String(decoding: config, as: UTF8.self).contains(#""X" : "2""#))
        let sweep = try String(
            contentsOf: folder.url.appendingPathComponent("w/windows/01/train/sweep.json"), encoding: .utf8)
        #expect(sweep.contains(#""from":"2026-11-16""#))
        let page = try String(contentsOf: outcome.page, encoding: .utf8)
        #expect(page.contains("<th>In-sample</th><th>Out-of-sample</th>"))
        // The same inputs: the same file, timing aside; a used work folder is refused.
        let again = try await WalkForward.run(
            settings: try settings(folder, work: "w2"), executor: ArithmeticExecutor())
        var (left, right) = (report, again.report)
        (left.timing, right.timing) = (nil, nil)
        #expect(left.json() == right.json())
        await #expect(throws: ResearchFailure.self) {
            try await WalkForward.run(settings: try settings(folder, work: "w"), executor: ArithmeticExecutor())
        }
    }
}

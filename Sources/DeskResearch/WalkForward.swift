import DeskBacktest
import DeskCore
import Foundation

/// What a walk-forward runs: the sweep to choose among on each training window,
/// the windows' spec, and the days that hold ticks (the caller loads the data; this
/// module never runs the engine itself).
public struct WalkForwardSettings: Sendable {
    /// The sweep of every training window: its spec, strategies, data, options, `--rank-by`
    /// and heatmap; its `work` is the walk-forward's work folder, its `from`/`to` are ignored.
    public var sweep: SweepRunSettings
    /// `--walk-forward` as given, and read.
    public var walkForward: String
    public var spec: WalkForwardSpec
    /// The New York dates that hold ticks (within `--from`/`--to`).
    public var days: [TradingDay]
    /// Each member's capital (`--capital`), the base of the chained returns.
    public var capital: Decimal

    public init(
        sweep: SweepRunSettings, walkForward: String, spec: WalkForwardSpec, days: [TradingDay], capital: Decimal
    ) {
        self.sweep = sweep
        self.walkForward = walkForward
        self.spec = spec
        self.days = days
        self.capital = capital
    }
}

/// What a walk-forward found; walkforward.json and walkforward.html written.
public struct WalkForwardOutcome: Sendable {
    public var report: WalkForwardReport
    public var reportFile: URL
    public var page: URL
}

/// Runs a walk-forward: every training window's sweep (all windows' runs in one
/// executor call: they are independent), the best of each by `--rank-by`, then
/// those parameters on each test window (one more call), and the report.
public enum WalkForward {
    public static let fileName = WalkForwardReport.fileName
    public static let pageName = "walkforward.html"
    /// The windows' folders (`windows/01/train`, `windows/01/test`) in the work folder.
    public static let windowsFolder = "windows"

    /// The windows `settings` make, or why there are none (checked before anything runs).
    public static func plan(_ settings: WalkForwardSettings) throws(ResearchFailure) -> WalkForwardPlan {
        try Sweep.check(settings.sweep)
        return try WalkForwardPlan(settings.spec, days: settings.days)
    }

    /// Runs the walk-forward, writing `progress.json` in the work folder as runs end
    /// and, at the end, walkforward.json and walkforward.html. Failed runs are in the
    /// report's `failures`, not a throw; a throw means it could not run at all.
    public static func run(
        settings: WalkForwardSettings, executor: any BacktestExecutor,
        progress: @escaping @Sendable (SweepProgress) -> Void = { _ in }
    ) async throws -> WalkForwardOutcome {
        let started = ContinuousClock.now
        let plan = try plan(settings)
        let work = settings.sweep.work.standardizedFileURL
        let files = FileManager.default
        for name in [fileName, windowsFolder] where files.fileExists(atPath: work.appendingPathComponent(name).path) {
            throw ResearchFailure(
                "\(work.path) already holds a walk-forward (its \(name)): pass a new --work folder (or delete that one)"
            )
        }
        do { try files.createDirectory(at: work, withIntermediateDirectories: true) } catch {
            throw ResearchFailure("cannot make the work folder \(work.path): \(error.localizedDescription)")
        }
        let windows = plan.windows
        let sweeps = windows.map { window in
            var sweep = settings.sweep
            sweep.work = folder(work, window).appendingPathComponent("train")
            sweep.from = window.train.from.description
            sweep.to = window.train.to.description
            return sweep
        }
        // Ids unique over the one executor call: `w01-0003`; the sweep's own id is the part after.
        var trainJobs: [BacktestJob] = []
        for (window, sweep) in zip(windows, sweeps) {
            trainJobs += try Sweep.jobs(sweep).map { job in
                var job = job
                job.id = "w\(window.folder)-\(job.id)"
                return job
            }
        }
        let perWindow = trainJobs.count / max(windows.count, 1)
        let counter = RunCounter(
            total: trainJobs.count + windows.count, file: work.appendingPathComponent("progress.json"))
        let trainResults = try await executor.run(trainJobs) { result in progress(counter.ended(result)) }

        // Each window's sweep: ranked, its sweep.json and sweep.html, its best run.
        var chosen: [(window: WalkForwardWindow, best: BacktestJobResult?, ranked: [BacktestJobResult])] = []
        var failures: [WalkForwardReport.Failure] = []
        for (index, (window, sweep)) in zip(windows, sweeps).enumerated() {
            let own = trainResults[(index * perWindow)..<((index + 1) * perWindow)].map { result in
                var result = result
                result.id = String(result.id.dropFirst("w\(window.folder)-".count))
                return result
            }
            let ranked = Ranking.rank(own, by: sweep.rankBy)
            let report = SweepReport(
                spec: sweep.spec, rankBy: sweep.rankBy, from: sweep.from, to: sweep.to, ranked: ranked)
            do {
                try Data((report.json() + "\n").utf8).write(
                    to: sweep.work.appendingPathComponent(Sweep.fileName), options: .atomic)
                try Data(SweepPage.render(report, heatmap: sweep.heatmapAxes).utf8).write(
                    to: sweep.work.appendingPathComponent(Sweep.pageName), options: .atomic)
            } catch {
                throw ResearchFailure(
                    "cannot write the sweep's files in \(sweep.work.path): \(error.localizedDescription)")
            }
            for result in ranked where result.report == nil {
                failures.append(
                    .init(
                        run: relative(window, "train/\(Sweep.runsFolder)/\(result.id)"), window: window.number,
                        result: result))
            }
            let best = ranked.first { $0.report.flatMap { Ranking.figure($0, sweep.rankBy) } != nil }
            if best == nil {
                counter.drop()
                let why =
                    ranked.contains { $0.report != nil }
                    ? "no training run has a \(sweep.rankBy.rawValue) to rank by (a ratio needs two days and varying returns): choose another --rank-by or a longer train"
                    : "every training run failed"
                failures.append(
                    .init(
                        run: relative(window, "train"), window: window.number,
                        result: BacktestJobResult(
                            id: "train", params: [:], report: nil, failure: why, logTail: [], seconds: 0)))
            }
            chosen.append((window, best, ranked))
        }

        // The chosen parameters on each test window.
        var testJobs: [BacktestJob] = []
        for (window, best, _) in chosen {
            guard let best else { continue }
            let test = folder(work, window).appendingPathComponent("test")
            let strategies = test.appendingPathComponent("strategies")
            let names = try StrategyCopies.prepare(
                best.params, from: settings.sweep.strategiesDirectory, names: settings.sweep.strategies,
                into: strategies)
            testJobs.append(
                BacktestJob(
                    id: "w\(window.folder)-test", params: best.params, strategiesDirectory: strategies.path,
                    strategies: names, dataFiles: settings.sweep.dataFiles.map(\.path),
                    from: window.test.from.description, to: window.test.to.description,
                    options: settings.sweep.options, work: test.path))
        }
        let testResults = try await executor.run(testJobs) { result in progress(counter.ended(result)) }
        var tests: [String: BacktestJobResult] = [:]
        for result in testResults { tests[result.id] = result }

        // The report.
        var rows: [WalkForwardReport.Window] = []
        var inSample: [[String: [EquityPoint]]] = []
        var outOfSample: [[String: [EquityPoint]]] = []
        for (window, best, _) in chosen {
            let test = tests["w\(window.folder)-test"]
            if let test, test.report == nil {
                failures.append(.init(run: relative(window, "test"), window: window.number, result: test))
            }
            let trainRun = best.map { relative(window, "train/\(Sweep.runsFolder)/\($0.id)") }
            rows.append(
                WalkForwardReport.Window(
                    window: window.number, train: window.train, test: window.test, params: best?.params,
                    trainSweep: relative(window, "train"), trainRun: trainRun,
                    testRun: test?.report == nil ? nil : relative(window, "test"),
                    inSample: WalkForwardReport.Figures.of(best?.report),
                    outOfSample: WalkForwardReport.Figures.of(test?.report)))
            guard let trainRun, test?.report != nil else { continue }
            inSample.append(try curves(work.appendingPathComponent(trainRun)))
            outOfSample.append(try curves(work.appendingPathComponent(relative(window, "test"))))
        }
        let members = Set(inSample.flatMap(\.keys)).union(outOfSample.flatMap(\.keys))
        var comparisons: [String: WalkForwardReport.Comparison] = [:]
        var stitched: [String: [EquityPoint]] = [:]
        for member in members {
            let outside = outOfSample.map { $0[member] ?? [] }
            comparisons[member] = WalkForwardReport.Comparison(
                inSample: inSample.map { $0[member] ?? [] }, outOfSample: outside, capital: settings.capital)
            stitched[member] = EquityChain.stitch(outside, capital: settings.capital)
        }
        let cpu = (trainResults + testResults).compactMap(\.cpuSeconds)
        let report = WalkForwardReport(
            spec: settings.spec, walkForward: settings.walkForward, rankBy: settings.sweep.rankBy,
            combinations: perWindow, data: plan.data, capital: ExactDecimal.plain(settings.capital), windows: rows,
            skipped: plan.skipped.map(WalkForwardReport.Skipped.init), members: comparisons,
            failures: failures.sorted { ($0.window, $0.run) < ($1.window, $1.run) },
            timing: WalkForwardReport.Timing(
                elapsedSeconds: (ContinuousClock.now - started).seconds,
                cpuSeconds: cpu.isEmpty ? nil : cpu.reduce(0, +)))
        let reportFile = work.appendingPathComponent(fileName)
        let page = work.appendingPathComponent(pageName)
        do {
            try Data((report.json() + "\n").utf8).write(to: reportFile, options: .atomic)
            try Data(WalkForwardPage.render(report, equity: stitched).utf8).write(to: page, options: .atomic)
        } catch {
            throw ResearchFailure(
                "cannot write the walk-forward's files in \(work.path): \(error.localizedDescription)")
        }
        return WalkForwardOutcome(report: report, reportFile: reportFile, page: page)
    }

    /// `WORK/windows/01`.
    static func folder(_ work: URL, _ window: WalkForwardWindow) -> URL {
        work.appendingPathComponent(windowsFolder).appendingPathComponent(window.folder)
    }

    /// `windows/01/<path>`, relative to the work folder.
    static func relative(_ window: WalkForwardWindow, _ path: String) -> String {
        "\(windowsFolder)/\(window.folder)/\(path)"
    }

    /// Each member's curve in a run's equity.csv.
    static func curves(_ run: URL) throws(ResearchFailure) -> [String: [EquityPoint]] {
        let file = run.appendingPathComponent("equity.csv")
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw ResearchFailure("the run \(run.path) left no equity.csv")
        }
        do { return try EquityChain.parse(csv: String(decoding: data, as: UTF8.self)) } catch {
            throw ResearchFailure("\(file.path): \(error.message)")
        }
    }
}

/// Runs ended so far over both executor calls, written to `progress.json` as each
/// ends (any thread; in order, under the lock).
private final class RunCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    private var total: Int
    private let file: URL

    init(total: Int, file: URL) {
        self.total = total
        self.file = file
        Sweep.writeProgress(done: 0, total: total, to: file)
    }

    /// One more run ended.
    func ended(_ result: BacktestJobResult) -> SweepProgress {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        Sweep.writeProgress(done: done, total: total, to: file)
        return SweepProgress(done: done, total: total, result: result)
    }

    /// A window's test run will not run (no training run to choose).
    func drop() {
        lock.lock()
        defer { lock.unlock() }
        total -= 1
        Sweep.writeProgress(done: done, total: total, to: file)
    }
}

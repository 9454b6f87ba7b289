import DeskBacktest
import DeskCore
import Foundation

/// What one sweep runs: a spec's combinations over the same strategies and data,
/// in a work folder of its own. A walk-forward runs one per training window
/// (with `from`/`to` set and its own `work`).
public struct SweepRunSettings: Sendable {
    public var spec: SweepSpec
    /// The strategies folder and the folder names to run (empty: every folder there).
    public var strategiesDirectory: URL
    public var strategies: [String]
    /// The tick files, absolute.
    public var dataFiles: [URL]
    /// New York dates `YYYY-MM-DD`, both included; nil: open.
    public var from: String?
    public var to: String?
    /// The flags every run gets unchanged (`ResearchRequest.options`).
    public var options: [String]
    /// Where sweep.json, sweep.html, progress.json and `runs/ID/` go (created if missing).
    public var work: URL
    public var rankBy: RankBy
    /// sweep.html's heatmap axes: two parameter names (nil: the first two).
    public var heatmap: [String]?

    public init(
        spec: SweepSpec, strategiesDirectory: URL, strategies: [String], dataFiles: [URL], from: String? = nil,
        to: String? = nil, options: [String], work: URL, rankBy: RankBy = .totalPnL, heatmap: [String]? = nil
    ) {
        self.spec = spec
        self.strategiesDirectory = strategiesDirectory
        self.strategies = strategies
        self.dataFiles = dataFiles
        self.from = from
        self.to = to
        self.options = options
        self.work = work
        self.rankBy = rankBy
        self.heatmap = heatmap
    }

    /// The heatmap's axes: the ones asked for, else the first two parameters (one when there is one).
    public var heatmapAxes: [String] { heatmap ?? Array(spec.names.prefix(2)) }
}

/// A run of a sweep that ended, as progress reports it.
public struct SweepProgress: Sendable {
    public var done: Int
    public var total: Int
    public var result: BacktestJobResult
}

/// What a sweep found: every run, ranked; sweep.json and sweep.html written.
public struct SweepOutcome: Sendable {
    /// sweep.json's object.
    public var report: SweepReport
    /// Every run's result, best first (failed last).
    public var results: [BacktestJobResult]
    public var sweepFile: URL
    public var page: URL

    /// The runs that failed, in rank order (after every completed run).
    public var failures: [BacktestJobResult] { results.filter { $0.report == nil } }
    /// The best completed run with the ranked figure; nil when none has it.
    public var best: BacktestJobResult? {
        results.first.flatMap { $0.report.flatMap { Ranking.figure($0, report.rankBy) } == nil ? nil : $0 }
    }
}

/// sweep.json: the sweep and its runs, best first.
public struct SweepReport: Codable, Sendable, Equatable {
    /// The figure the runs are ranked by.
    public var rankBy: RankBy
    /// The swept parameters, in the SWEEP.json's order.
    public var parameters: [String]
    /// `grid` or `random`.
    public var method: String
    public var seed: UInt64?
    public var from: String?
    public var to: String?
    public var runsTotal: Int
    public var runsFailed: Int
    /// One per combination, in rank order (`rank` 1 first).
    public var runs: [Run]

    /// One run: its parameters, its rank, its report's fields (ticks, start, end,
    /// members, … as `desk backtest --json` prints them), and its figures over all
    /// members (`Ranking`) at the top; or why it failed.
    public struct Run: Codable, Sendable, Equatable {
        public var id: String
        public var params: [String: String]
        public var rank: Int
        public var report: BacktestReport?
        public var totalPnL: String?
        public var sharpe: String?
        public var sortino: String?
        public var calmar: String?
        public var maxDrawdown: String?
        public var fills: Int?
        /// The run's report.html, relative to the sweep's folder.
        public var reportPage: String?
        public var failure: String?
        public var logTail: [String]?
        public var seconds: Double
        public var cpuSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case id, params, rank, sharpe, sortino, calmar, fills, failure, seconds
            case totalPnL = "total_pnl", maxDrawdown = "max_drawdown", reportPage = "report_page"
            case logTail = "log_tail", cpuSeconds = "cpu_seconds", ticks
        }

        public init(_ result: BacktestJobResult, rank: Int, folder: String) {
            id = result.id
            params = result.params
            self.rank = rank
            report = result.report
            seconds = result.seconds
            cpuSeconds = result.cpuSeconds
            failure = result.failure
            logTail = result.report == nil ? result.logTail : nil
            guard let report = result.report else { return }
            let members = Array(report.members.values)
            totalPnL = Ranking.figure(report, .totalPnL).map(ExactDecimal.plain)
            maxDrawdown = Ranking.figure(report, .maxDrawdown).map(ExactDecimal.plain)
            if members.count == 1 {
                sharpe = members[0].sharpe
                sortino = members[0].sortino
                calmar = members[0].calmar
            }
            fills = Ranking.fills(report)
            reportPage = "\(folder)/\(id)/report.html"
        }

        /// The figure `by`, as sweep.json writes it.
        public func figure(_ by: RankBy) -> String? {
            switch by {
            case .totalPnL: totalPnL
            case .sharpe: sharpe
            case .sortino: sortino
            case .calmar: calmar
            case .maxDrawdown: maxDrawdown
            }
        }

        public func encode(to encoder: any Encoder) throws {
            // The report's own keys first, at this level (its keys and these do not overlap).
            try report?.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(params, forKey: .params)
            try container.encode(rank, forKey: .rank)
            try container.encodeIfPresent(totalPnL, forKey: .totalPnL)
            try container.encodeIfPresent(sharpe, forKey: .sharpe)
            try container.encodeIfPresent(sortino, forKey: .sortino)
            try container.encodeIfPresent(calmar, forKey: .calmar)
            try container.encodeIfPresent(maxDrawdown, forKey: .maxDrawdown)
            try container.encodeIfPresent(fills, forKey: .fills)
            try container.encodeIfPresent(reportPage, forKey: .reportPage)
            try container.encodeIfPresent(failure, forKey: .failure)
            try container.encodeIfPresent(logTail, forKey: .logTail)
            try container.encode(seconds, forKey: .seconds)
            try container.encodeIfPresent(cpuSeconds, forKey: .cpuSeconds)
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            params = try container.decode([String: String].self, forKey: .params)
            rank = try container.decode(Int.self, forKey: .rank)
            report = container.contains(.ticks) ? try BacktestReport(from: decoder) : nil
            totalPnL = try container.decodeIfPresent(String.self, forKey: .totalPnL)
            sharpe = try container.decodeIfPresent(String.self, forKey: .sharpe)
            sortino = try container.decodeIfPresent(String.self, forKey: .sortino)
            calmar = try container.decodeIfPresent(String.self, forKey: .calmar)
            maxDrawdown = try container.decodeIfPresent(String.self, forKey: .maxDrawdown)
            fills = try container.decodeIfPresent(Int.self, forKey: .fills)
            reportPage = try container.decodeIfPresent(String.self, forKey: .reportPage)
            failure = try container.decodeIfPresent(String.self, forKey: .failure)
            logTail = try container.decodeIfPresent([String].self, forKey: .logTail)
            seconds = try container.decode(Double.self, forKey: .seconds)
            cpuSeconds = try container.decodeIfPresent(Double.self, forKey: .cpuSeconds)
        }
    }

    enum CodingKeys: String, CodingKey {
        case parameters, method, seed, from, to, runs
        case rankBy = "rank_by", runsTotal = "runs_total", runsFailed = "runs_failed"
    }

    /// The report of `ranked` results (best first) of a sweep of `spec`.
    public init(
        spec: SweepSpec, rankBy: RankBy, from: String?, to: String?, ranked: [BacktestJobResult],
        folder: String = Sweep.runsFolder
    ) {
        self.rankBy = rankBy
        parameters = spec.names
        switch spec.method {
        case .grid: method = "grid"
        case .random(_, let seed):
            method = "random"
            self.seed = seed
        }
        self.from = from
        self.to = to
        runsTotal = ranked.count
        runsFailed = ranked.filter { $0.report == nil }.count
        runs = ranked.enumerated().map { Run($1, rank: $0 + 1, folder: folder) }
    }

    /// The object as sweep.json holds it (keys sorted).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// Runs a sweep: one `desk backtest` per combination through an executor, ranked.
public enum Sweep {
    /// The files a sweep writes in its work folder.
    public static let fileName = "sweep.json"
    public static let pageName = "sweep.html"
    public static let progressName = "progress.json"
    /// The folder of the runs' work folders, in the sweep's.
    public static let runsFolder = "runs"

    /// The runs' ids: `0001`, `0002`, … (wider past 9999).
    public static func runIds(count: Int) -> [String] {
        let width = max(4, String(count).count)
        return (1...max(count, 1)).prefix(count).map { number in
            let digits = String(number)
            return String(repeating: "0", count: width - digits.count) + digits
        }
    }

    /// Checks what a sweep is asked before anything runs (the heatmap's axes).
    public static func check(_ settings: SweepRunSettings) throws(ResearchFailure) {
        if let heatmap = settings.heatmap {
            guard heatmap.count == 2, heatmap[0] != heatmap[1] else {
                throw ResearchFailure(
                    "--heatmap takes two different parameter names, A,B (the sweep's are \(settings.spec.names.joined(separator: ", ")))"
                )
            }
            for name in heatmap where !settings.spec.names.contains(name) {
                throw ResearchFailure(
                    "--heatmap \(name) is not a parameter of the sweep: its parameters are \(settings.spec.names.joined(separator: ", "))"
                )
            }
        }
    }

    /// The jobs of `settings`: one per combination, each with its strategy folders
    /// copied into `WORK/runs/ID/strategies` with the combination merged into their env.
    public static func jobs(_ settings: SweepRunSettings) throws(ResearchFailure) -> [BacktestJob] {
        let combinations = settings.spec.combinations()
        let runs = settings.work.appendingPathComponent(runsFolder)
        return try zip(runIds(count: combinations.count), combinations).map {
            (id, params) throws(ResearchFailure) -> BacktestJob in
            let work = runs.appendingPathComponent(id)
            let strategies = work.appendingPathComponent("strategies")
            let names = try StrategyCopies.prepare(
                params, from: settings.strategiesDirectory, names: settings.strategies, into: strategies)
            return BacktestJob(
                id: id, params: params, strategiesDirectory: strategies.path, strategies: names,
                dataFiles: settings.dataFiles.map(\.path), from: settings.from, to: settings.to,
                options: settings.options, work: work.path)
        }
    }

    /// Runs every combination of `settings` through `executor`, writing
    /// `progress.json` as runs end and, at the end, sweep.json and sweep.html.
    /// A failed run is in the outcome (ranked last), not a throw; a throw means
    /// the sweep could not run (a bad work folder or heatmap, no binary, cancelled).
    public static func run(
        settings: SweepRunSettings, executor: any BacktestExecutor,
        progress: @escaping @Sendable (SweepProgress) -> Void = { _ in }
    ) async throws -> SweepOutcome {
        try check(settings)
        let files = FileManager.default
        let work = settings.work.standardizedFileURL
        for name in [fileName, runsFolder] where files.fileExists(atPath: work.appendingPathComponent(name).path) {
            throw ResearchFailure(
                "\(work.path) already holds a sweep (its \(name)): pass a new --work folder (or delete that one)")
        }
        do { try files.createDirectory(at: work, withIntermediateDirectories: true) } catch {
            throw ResearchFailure("cannot make the work folder \(work.path): \(error.localizedDescription)")
        }
        var settings = settings
        settings.work = work
        let jobs = try jobs(settings)
        let progressFile = work.appendingPathComponent(progressName)
        let counter = DoneCounter()
        writeProgress(done: 0, total: jobs.count, to: progressFile)
        let results = try await executor.run(jobs) { result in
            let done = counter.increment { done in writeProgress(done: done, total: jobs.count, to: progressFile) }
            progress(SweepProgress(done: done, total: jobs.count, result: result))
        }
        let ranked = Ranking.rank(results, by: settings.rankBy)
        let report = SweepReport(
            spec: settings.spec, rankBy: settings.rankBy, from: settings.from, to: settings.to, ranked: ranked)
        let sweepFile = work.appendingPathComponent(fileName)
        let page = work.appendingPathComponent(pageName)
        do {
            try Data((report.json() + "\n").utf8).write(to: sweepFile, options: .atomic)
            try Data(SweepPage.render(report, heatmap: settings.heatmapAxes).utf8).write(to: page, options: .atomic)
        } catch {
            throw ResearchFailure("cannot write the sweep's files in \(work.path): \(error.localizedDescription)")
        }
        return SweepOutcome(report: report, results: ranked, sweepFile: sweepFile, page: page)
    }

    /// `{"runs_done": n, "runs_total": m}`, replaced atomically (a queue reads it while the sweep runs).
    static func writeProgress(done: Int, total: Int, to file: URL) {
        let text = #"{"runs_done": \#(done), "runs_total": \#(total)}"# + "\n"
        try? Data(text.utf8).write(to: file, options: .atomic)
    }
}

/// Runs ended so far, counted from the executor's callbacks (any thread).
private final class DoneCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0

    /// One more; `then` runs with the new count before the next can count (so files follow in order).
    func increment(then: (Int) -> Void) -> Int {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        then(done)
        return done
    }
}

import DeskBacktest
import DeskCore
import DeskTestSupport
import Foundation
import Testing

@testable import DeskResearch

@Suite struct SweepSpecTests {
    func spec(_ text: String) throws(ResearchFailure) -> SweepSpec { try SweepSpec.parse(Data(text.utf8)) }

    @Test("a grid keeps the file's parameter order; numbers are their text; ranges expand exactly")
    func goodSpecs() throws {
        let grid = try spec(#"{"grid": {"WINDOW": ["10", 20], "THRESHOLD_PERCENT": [0.50, "1"]}}"#)
        #expect(grid.method == .grid)
        #expect(grid.names == ["WINDOW", "THRESHOLD_PERCENT"])
        #expect(grid.parameters[0].values == ["10", "20"])
        #expect(grid.parameters[1].values == ["0.50", "1"])
        let ranged = try spec(
            #"{"grid": {"X": {"min": "0.5", "max": "3", "step": "0.5"}, "_y2": {"min": 1, "max": 2.9, "step": 1}}}"#)
        #expect(ranged.parameters[0].values == ["0.5", "1", "1.5", "2", "2.5", "3"])
        #expect(ranged.parameters[1].values == ["1", "2"])
        let random = try spec(
            #"{"random": {"samples": 3, "seed": 42, "space": {"A": ["1", "2"], "B": {"min": "1", "max": "5", "step": "1"}}}}"#
        )
        #expect(random.method == .random(samples: 3, seed: 42))
        #expect(random.names == ["A", "B"])
    }

    @Test(
        "bad sweeps are refused naming the key and what is allowed",
        arguments: [
            ("[1]", "one JSON object"),
            (#"{"grid": {"A": ["1"]}, "x": 1}"#, #"unknown key "x""#),
            (#"{"grids": {"A": ["1"]}}"#, #"unknown key "grids""#),
            (#"{"grid": {"A": ["1"]}, "random": {}}"#, #"both "grid" and "random""#),
            ("{}", "no method"),
            (#"{"grid": {}}"#, "grid has no parameters"),
            (#"{"grid": {"A": []}}"#, "grid.A is an empty list"),
            (#"{"grid": {"1A": ["1"]}}"#, #""1A" is not a parameter name"#),
            (#"{"grid": {"A-B": ["1"]}}"#, "[A-Za-z_][A-Za-z0-9_]*"),
            (#"{"grid": {"A": [true]}}"#, "grid.A[0] must be a string"),
            (#"{"grid": {"A": [null]}}"#, "grid.A[0] must be a string"),
            (#"{"grid": {"A": ["1", ""]}}"#, "grid.A[1] must be 1 to"),
            (#"{"grid": {"A": ["1", "1"]}}"#, #"grid.A has "1" twice"#),
            (#"{"grid": {"A": "1"}}"#, "grid.A must be a list of values"),
            (#"{"grid": {"A": ["1"], "A": ["2"]}}"#, "not valid JSON"),
            (#"{"grid": {"A": {"min": "1", "max": "0", "step": "1"}}}"#, "grid.A.min must be at most its max"),
            (#"{"grid": {"A": {"min": "1", "max": "2", "step": "0"}}}"#, "grid.A.step must be more than 0"),
            (#"{"grid": {"A": {"min": "1", "max": "2"}}}"#, "grid.A.step is missing"),
            (#"{"grid": {"A": {"min": "1", "max": "2", "step": "1", "by": 2}}}"#, #"unknown key "by""#),
            (#"{"grid": {"A": {"min": "x", "max": "2", "step": "1"}}}"#, #"grid.A.min "x" is not a decimal"#),
            (#"{"grid": {"A": {"min": "0", "max": "1", "step": "0.00001"}}}"#, "more than 10000 values"),
            (
                #"{"grid": {"A": {"min": "1", "max": "100", "step": "1"}, "B": {"min": "1", "max": "101", "step": "1"}}}"#,
                "100 × 101 combinations is more than the 10000"
            ),
            (#"{"random": {"samples": 2, "seed": 1}}"#, "random: space is missing"),
            (#"{"random": {"samples": 2, "space": {"A": ["1", "2"]}}}"#, "random: seed is missing"),
            (#"{"random": {"samples": 0, "seed": 1, "space": {"A": ["1"]}}}"#, "random.samples must be a whole number"),
            (#"{"random": {"samples": "2", "seed": 1, "space": {"A": ["1"]}}}"#, "random.samples must be"),
            (#"{"random": {"samples": 1, "seed": -1, "space": {"A": ["1"]}}}"#, "random.seed must be"),
            (#"{"random": {"samples": 3, "seed": 1, "space": {"A": ["1", "2"]}}}"#, "more than the 2 distinct"),
            (#"{"random": {"samples": 1, "seed": 1, "space": {"A": ["1"]}, "n": 1}}"#, #"unknown key "n""#),
        ])
    func badSpecs(text: String, expected: String) {
        do {
            _ = try spec(text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.message.contains(expected), "\(text): \(error.message)")
        }
    }

    @Test("load names the file in its errors")
    func loadNamesTheFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let file = folder.url.appendingPathComponent("sweep.json")
        try Data(#"{"grid": {"A": []}}"#.utf8).write(to: file)
        #expect(throws: ResearchFailure.self) { try SweepSpec.load(file) }
        do { _ = try SweepSpec.load(file) } catch { #expect(error.message.hasPrefix("--sweep \(file.path): grid.A")) }
        do { _ = try SweepSpec.load(folder.url.appendingPathComponent("none.json")) } catch {
            #expect(error.message.contains("no such file"))
        }
    }

    @Test("a grid's combinations: every one, the first parameter changing slowest")
    func gridOrder() throws {
        let grid = try spec(#"{"grid": {"W": ["10", "20", "30"], "T": ["0.1", "0.2"]}}"#)
        #expect(
            grid.combinations() == [
                ["W": "10", "T": "0.1"], ["W": "10", "T": "0.2"], ["W": "20", "T": "0.1"], ["W": "20", "T": "0.2"],
                ["W": "30", "T": "0.1"], ["W": "30", "T": "0.2"],
            ])
    }

    @Test("random samples: the same seed draws the same distinct samples, another seed others")
    func randomDeterminism() throws {
        func draw(_ seed: Int, samples: Int = 12) throws -> [[String: String]] {
            try spec(
                #"{"random": {"samples": \#(samples), "seed": \#(seed), "space": {"A": {"min": "1", "max": "20", "step": "1"}, "B": ["x", "y", "z"]}}}"#
            ).combinations()
        }
        let first = try draw(7)
        #expect(first.count == 12)
        #expect(Set(first).count == 12, "distinct")
        #expect(try draw(7) == first)
        #expect(try draw(8) != first)
        #expect(try draw(7, samples: 60).count == 60, "the whole space of 20 × 3")
        // SplitMix64's published first output for seed 0 (the same on every machine).
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
    }
}

/// A report for tests: one member per (name, total_pnl, max_drawdown, sharpe).
func makeReport(_ members: [(String, String, String, String?)]) throws -> BacktestReport {
    let inner = members.map { name, pnl, drawdown, sharpe in
        let ratio = sharpe.map { #", "sharpe": "\#($0)", "sortino": "\#($0)", "calmar": "\#($0)""# } ?? ""
        return
            #""\#(name)": {"orders": 2, "fills": 2, "rejected": 0, "realized_pnl": "\#(pnl)", "unrealized_pnl": "0", "total_pnl": "\#(pnl)", "commission": "0", "max_drawdown": "\#(drawdown)", "return": "0", "round_trips": 1, "traded_notional": "100", "positions": {}\#(ratio)}"#
    }.joined(separator: ", ")
    let text =
        #"{"capital": "100000", "commission_per_share": "0", "end": "2026-11-18T20:59:00.000Z", "fill_at": "next-tick", "members": {\#(inner)}, "slippage_bps": "0", "start": "2026-11-16T14:31:00.000Z", "ticks": 3}"#
    return try JSONDecoder().decode(BacktestReport.self, from: Data(text.utf8))
}

func result(_ id: String, _ report: BacktestReport?, params: [String: String] = [:]) -> BacktestJobResult {
    BacktestJobResult(
        id: id, params: params, report: report, failure: report == nil ? "strategy bob crashed" : nil,
        logTail: report == nil ? ["Traceback", "ValueError: bad WINDOW"] : [], seconds: 1)
}

@Suite struct RankingTests {
    @Test("a run's figure over its members: P&L and fills summed, the largest drawdown, ratios of one member only")
    func figures() throws {
        let two = try makeReport([("alice", "10.5", "3", "1.5"), ("bob", "-2.25", "7.5", "2")])
        #expect(Ranking.figure(two, .totalPnL) == Decimal(string: "8.25"))
        #expect(Ranking.figure(two, .maxDrawdown) == Decimal(string: "7.5"))
        #expect(Ranking.figure(two, .sharpe) == nil)
        #expect(Ranking.fills(two) == 4)
        let one = try makeReport([("alice", "10.5", "3", "-0.25")])
        #expect(Ranking.figure(one, .sharpe) == Decimal(string: "-0.25"))
        #expect(Ranking.figure(one, .sortino) == Decimal(string: "-0.25"))
        #expect(Ranking.figure(one, .calmar) == Decimal(string: "-0.25"))
        #expect(Ranking.figure(try makeReport([]), .totalPnL) == 0)
    }

    @Test(
        "best first; max_drawdown lower is better; failed and figureless runs last; ties by id",
        arguments: [
            (RankBy.totalPnL, ["0003", "0002", "0005", "0004", "0001", "0006"]),
            (RankBy.maxDrawdown, ["0002", "0005", "0004", "0003", "0001", "0006"]),
            (RankBy.sharpe, ["0002", "0005", "0003", "0001", "0004", "0006"]),
        ])
    func rank(by: RankBy, expected: [String]) throws {
        let results = [
            result("0006", nil),
            result("0005", try makeReport([("a", "5", "2", "1")])),
            result("0004", try makeReport([("a", "1", "3", nil)])),
            result("0003", try makeReport([("a", "9", "4", "0.5")])),
            result("0002", try makeReport([("a", "5", "2", "1")])),
            result("0001", nil),
        ]
        // 0001 and 0006 failed: last, by id; 0004 has no sharpe: among them by id when ranking by sharpe.
        #expect(Ranking.rank(results, by: by).map(\.id) == expected)
    }
}

@Suite struct SweepReportTests {
    static func sample() throws -> SweepReport {
        let spec = SweepSpec(
            method: .grid,
            parameters: [.init(name: "WINDOW", values: ["10", "20"]), .init(name: "T", values: ["0.1", "0.2"])])
        let results = [
            result("0001", try makeReport([("bob", "3", "1", "0.5")]), params: ["WINDOW": "10", "T": "0.1"]),
            result("0002", try makeReport([("bob", "7.5", "2", "1.25")]), params: ["WINDOW": "10", "T": "0.2"]),
            result("0003", nil, params: ["WINDOW": "20", "T": "0.1"]),
            result("0004", try makeReport([("bob", "-1", "4", "-0.5")]), params: ["WINDOW": "20", "T": "<b>"]),
        ]
        return SweepReport(
            spec: spec, rankBy: .totalPnL, from: "2026-11-16", to: nil,
            ranked: Ranking.rank(results, by: .totalPnL))
    }

    @Test("sweep.json: one run per combination with params, rank, the report's fields and the figures at the top")
    func json() throws {
        let report = try Self.sample()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(object["rank_by"] as? String == "total_pnl")
        #expect(object["parameters"] as? [String] == ["WINDOW", "T"])
        #expect(object["runs_total"] as? Int == 4 && object["runs_failed"] as? Int == 1)
        #expect(object["from"] as? String == "2026-11-16")
        let runs = try #require(object["runs"] as? [[String: Any]])
        #expect(runs.map { $0["rank"] as? Int } == [1, 2, 3, 4])
        #expect(runs.map { $0["id"] as? String } == ["0002", "0001", "0004", "0003"])
        let best = runs[0]
        #expect(best["params"] as? [String: String] == ["WINDOW": "10", "T": "0.2"])
        #expect(best["total_pnl"] as? String == "7.5")
        #expect(best["sharpe"] as? String == "1.25")
        #expect(best["max_drawdown"] as? String == "2")
        #expect(best["fills"] as? Int == 2)
        #expect(best["ticks"] as? Int == 3)
        #expect(best["start"] as? String == "2026-11-16T14:31:00.000Z")
        #expect((best["members"] as? [String: Any])?["bob"] != nil)
        #expect(best["report_page"] as? String == "runs/0002/report.html")
        #expect(best["failure"] == nil && best["log_tail"] == nil)
        let failed = runs[3]
        #expect(failed["failure"] as? String == "strategy bob crashed")
        #expect(failed["log_tail"] as? [String] == ["Traceback", "ValueError: bad WINDOW"])
        #expect(failed["params"] as? [String: String] == ["WINDOW": "20", "T": "0.1"])
        #expect(failed["ticks"] == nil && failed["total_pnl"] == nil)
        // It reads back as it was written.
        #expect(try JSONDecoder().decode(SweepReport.self, from: Data(report.json().utf8)) == report)
    }

    @Test("sweep.html: a column per parameter, a row per run linking its report, the heatmap, the failures")
    func page() throws {
        let html = SweepPage.render(try Self.sample(), heatmap: ["WINDOW", "T"])
        let runsTable = try #require(html.range(of: "<table id=\"runs\">").map { String(html[$0.lowerBound...]) })
        let header = String(runsTable[..<runsTable.range(of: "</thead>")!.lowerBound])
        #expect(header.components(separatedBy: "<th class=\"param\">").count - 1 == 2)
        #expect(header.contains("<th class=\"param\">WINDOW</th><th class=\"param\">T</th>"))
        for column in ["RANK", "TOTAL P&amp;L", "SHARPE", "SORTINO", "CALMAR", "MAX DD", "FILLS"] {
            #expect(header.contains("<th>\(column)</th>"), "\(column)")
        }
        #expect(html.components(separatedBy: "<tr id=\"run-").count - 1 == 4)
        for id in ["0001", "0002", "0004"] { #expect(html.contains("<a href=\"runs/\(id)/report.html\">report</a>")) }
        #expect(!html.contains("runs/0003/report.html"))
        #expect(html.contains("failed: strategy bob crashed"))
        #expect(html.contains("ValueError: bad WINDOW"))
        #expect(html.contains("&lt;b&gt;") && !html.contains("<b>"), "values are escaped")
        let heatmap = try #require(html.range(of: "<table id=\"heatmap\">").map { String(html[$0.lowerBound...]) })
        let grid = String(heatmap[..<heatmap.range(of: "</table>")!.lowerBound])
        #expect(grid.contains("<th>WINDOW \\ T</th><th>0.1</th><th>0.2</th><th>&lt;b&gt;</th>"))
        #expect(grid.components(separatedBy: "<tr><th>").count - 1 == 3, "the header and a row per WINDOW value")
        #expect(grid.contains(">7.5</a>") && grid.contains(">3</a>") && grid.contains(">failed</td>"))
        #expect(grid.contains("hsl(120,"), "the best is green")
    }
}

@Suite struct SweepRunTests {
    /// A stand-in `desk backtest` that prints a report whose P&L is the run's WINDOW
    /// (read from its copied config.json), and fails for WINDOW 30.
    func standIn(_ folder: TemporaryDirectory) throws -> URL {
        let script = folder.url.appendingPathComponent("desk")
        let report = try makeReport([("bob", "WINDOW", "1", nil)]).json()
        let body = """
            #!/bin/sh
            while [ "$1" != "--strategies" ]; do shift; done
            window=$(grep -o '"WINDOW"[^,}]*' "$2/bob/config.json" | grep -o '[0-9][0-9]*')
            if [ "$window" = 30 ]; then echo "starting" >&2; echo "Error: strategy bob exited with 1" >&2; exit 1; fi
            echo '\(report)' | sed "s/\\"total_pnl\\":\\"WINDOW\\"/\\"total_pnl\\":\\"$window\\"/"
            """
        try Data(body.utf8).write(to: script)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        return script
    }

    @Test("Sweep.run: a job per combination in its own folder with merged copies, progress.json, ranked files")
    func run() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let bob = folder.url.appendingPathComponent("strategies/bob")
        try FileManager.default.createDirectory(at: bob, withIntermediateDirectories: true)
        try Data(#"{"user_id": "bob", "env": {"WINDOW": "5", "KEEP": "y"}}"#.utf8).write(
            to: bob.appendingPathComponent("config.json"))
        let spec = try SweepSpec.parse(Data(#"{"grid": {"WINDOW": ["10", "30", "20"], "T": ["1"]}}"#.utf8))
        let work = folder.url.appendingPathComponent("sweep")
        let settings = SweepRunSettings(
            spec: spec, strategiesDirectory: folder.url.appendingPathComponent("strategies"), strategies: [],
            dataFiles: [URL(fileURLWithPath: "/data.jsonl")], options: ["--fill-at", "same-tick"], work: work)
        let seen = Counter()
        let outcome = try await Sweep.run(
            settings: settings, executor: LocalExecutor(deskBinary: try standIn(folder), parallel: 2)
        ) { _ in seen.add() }
        #expect(seen.value == 3)
        #expect(outcome.results.map(\.id) == ["0003", "0001", "0002"])
        #expect(outcome.report.runs.map(\.totalPnL) == ["20", "10", nil])
        #expect(outcome.failures.map(\.params) == [["WINDOW": "30", "T": "1"]])
        #expect(outcome.failures.first?.logTail == ["starting", "Error: strategy bob exited with 1"])
        #expect(outcome.best?.id == "0003")
        let copied = try Data(contentsOf: work.appendingPathComponent("runs/0002/strategies/bob/config.json"))
        let env = (try JSONSerialization.jsonObject(with: copied) as? [String: Any])?["env"] as? [String: String]
        #expect(env == ["WINDOW": "30", "T": "1", "KEEP": "y"])
        let progress = try JSONSerialization.jsonObject(
            with: Data(contentsOf: work.appendingPathComponent("progress.json")))
        #expect(progress as? [String: Int] == ["runs_done": 3, "runs_total": 3])
        let written = try JSONDecoder().decode(
            SweepReport.self, from: Data(contentsOf: work.appendingPathComponent("sweep.json")))
        #expect(written == outcome.report)
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("sweep.html").path))
        // A second sweep into the same folder is refused before anything runs.
        await #expect(throws: ResearchFailure.self) {
            try await Sweep.run(
                settings: settings, executor: LocalExecutor(deskBinary: try standIn(folder), parallel: 1))
        }
    }

    @Test("a heatmap naming a parameter the sweep does not have is refused before anything runs")
    func badHeatmap() throws {
        let spec = try SweepSpec.parse(Data(#"{"grid": {"A": ["1"], "B": ["2"]}}"#.utf8))
        for axes in [["A", "C"], ["A"], ["A", "A"]] {
            let settings = SweepRunSettings(
                spec: spec, strategiesDirectory: URL(fileURLWithPath: "/s"), strategies: [], dataFiles: [],
                options: [], work: URL(fileURLWithPath: "/w"), heatmap: axes)
            #expect(throws: ResearchFailure.self) { try Sweep.check(settings) }
        }
        #expect(Sweep.runIds(count: 3) == ["0001", "0002", "0003"])
        #expect(Sweep.runIds(count: 10_000).last == "10000")
    }
}

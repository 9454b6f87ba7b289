import DeskAPI
import DeskBacktestEngine
import DeskCore
import DeskResearch
import DeskRunner
import Foundation
import Testing

@testable import DeskCLI

@Suite("desk backtest --server: what is submitted")
struct RemoteBacktestTests {
    static func scratch() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("desk-remote-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("strategies/trend"), withIntermediateDirectories: true)
        try Data("print('hi')\n".utf8).write(to: folder.appendingPathComponent("strategies/trend/strategy.py"))
        try Data(#"{"env": {"WINDOW": "10"}}"#.utf8).write(
            to: folder.appendingPathComponent("strategies/trend/config.json"))
        try Data(#"{"symbol":"AAPL","price":1,"ts":"2026-11-16T15:00:00Z"}"#.utf8 + [10]).write(
            to: folder.appendingPathComponent("ticks.jsonl"))
        try Data(#"{"grid": {"WINDOW": ["10", "20.50"]}}"#.utf8).write(to: folder.appendingPathComponent("sweep.json"))
        return folder
    }

    @Test("a folder here is uploaded as deploy tars it, the data files go with it, the options by their names")
    func uploadedFolder() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let settings = BacktestSettings(
            strategies: ["trend"], strategiesDirectory: folder.appendingPathComponent("strategies"),
            dataFiles: [folder.appendingPathComponent("ticks.jsonl")], fillAt: .sameTick,
            commissionPerShare: Decimal(string: "0.005")!, slippageBps: 2, capital: 50_000,
            firstDay: TradingDay("2026-11-16"), lastDay: TradingDay("2026-11-18"))
        let request = ResearchRequest(
            sweepFile: folder.appendingPathComponent("sweep.json"), rankBy: .sharpe, server: "http://127.0.0.1:1")
        let submission = try RemoteBacktest.submission(settings, request)
        #expect(submission.strategy == nil && submission.name == "trend")
        let archive = try #require(submission.archive.flatMap { Data(base64Encoded: $0) })
        let entries = try MemberCommands.entries(of: folder.appendingPathComponent("strategies/trend").path)
        #expect(Array(archive) == StrategyArchive.write(entries))
        let upload = try #require(submission.data.first?.upload)
        #expect(upload.name == "ticks.jsonl")
        #expect(
            Data(base64Encoded: upload.content) == FileManager.default.contents(atPath: folder.path + "/ticks.jsonl"))
        #expect(submission.from == "2026-11-16" && submission.to == "2026-11-18")
        #expect(submission.fillAt == "same-tick" && submission.commission == "0.005")
        #expect(submission.slippageBps == "2" && submission.capital == "50000")
        #expect(submission.rankBy == "sharpe")
        // The sweep's numbers stay as written.
        #expect(String(decoding: submission.sweep!.data, as: UTF8.self) == #"{"grid":{"WINDOW":["10","20.50"]}}"#)
    }

    @Test("a name that is no folder here is a deployed strategy; one strategy only; a missing data file is named")
    func deployedAndRefusals() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let strategies = folder.appendingPathComponent("strategies")
        let data = [folder.appendingPathComponent("ticks.jsonl")]
        let request = ResearchRequest(server: "http://127.0.0.1:1")
        let deployed = try RemoteBacktest.submission(
            BacktestSettings(strategies: ["meanrev"], strategiesDirectory: strategies, dataFiles: data), request)
        #expect(deployed.strategy == "meanrev" && deployed.archive == nil && deployed.sweep == nil)

        for names in [[], ["trend", "meanrev"]] {
            #expect(throws: DeskCommandError.self) {
                try RemoteBacktest.submission(
                    BacktestSettings(strategies: names, strategiesDirectory: strategies, dataFiles: data), request)
            }
        }
        let missing = folder.appendingPathComponent("nope.jsonl")
        do {
            _ = try RemoteBacktest.submission(
                BacktestSettings(strategies: ["trend"], strategiesDirectory: strategies, dataFiles: [missing]), request)
            Issue.record("a missing data file was accepted")
        } catch let error as DeskCommandError {
            #expect(error.message.contains("nope.jsonl"))
        }
    }

    @Test("a sweep's result is printed as a table of its runs, best first")
    func sweepTable() throws {
        let sweep = #"""
            {"runs": [{"params": {"WINDOW": "20"}, "rank": 2, "total_pnl": "-1.5", "sharpe": null},
                      {"params": {"WINDOW": "10"}, "rank": 1, "total_pnl": "12.25", "sharpe": "1.1"}]}
            """#
        let table = try #require(RemoteBacktest.sweepTable(Data(sweep.utf8)))
        let lines = table.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.first?.prefix(3) == ["rank", "WINDOW", "total_pnl"])
        #expect(lines.dropFirst().first { $0.first == "1" }?.prefix(3) == ["1", "10", "12.25"])
        #expect(RemoteBacktest.sweepTable(Data("[]".utf8)) == nil)
    }
}

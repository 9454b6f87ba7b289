import DeskBacktest
import DeskTestSupport
import Foundation
import Testing

@testable import DeskResearch

@Suite struct StrategyCopiesTests {
    @Test("swept values replace the config's own; its other env keys and fields stay")
    func merge() throws {
        let config = Data(#"{"user_id":"bob","env":{"WINDOW":"20","ORDER_QTY":"10"},"symbols":["AAPL"]}"#.utf8)
        let merged = try StrategyCopies.merge(["WINDOW": "10", "NEW": "x"], intoConfig: config)
        let object = try #require(try JSONSerialization.jsonObject(with: merged) as? [String: Any])
        #expect(object["env"] as? [String: String] == ["WINDOW": "10", "ORDER_QTY": "10", "NEW": "x"])
        #expect(object["user_id"] as? String == "bob")
        #expect(object["symbols"] as? [String] == ["AAPL"])
    }

    @Test("a config.json that is not an object, or whose env is not one, is refused with what is wrong")
    func badConfigs() {
        #expect(throws: ResearchFailure.self) { try StrategyCopies.merge(["A": "1"], intoConfig: Data("[1]".utf8)) }
        #expect(throws: ResearchFailure.self) {
            try StrategyCopies.merge(["A": "1"], intoConfig: Data(#"{"env":["A"]}"#.utf8))
        }
    }

    @Test("prepare copies the named folders with the parameters merged, leaving the source alone")
    func prepare() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let source = folder.url.appendingPathComponent("strategies")
        let bob = source.appendingPathComponent("bob")
        try FileManager.default.createDirectory(at: bob, withIntermediateDirectories: true)
        let original = Data(#"{"user_id":"bob","env":{"WINDOW":"20"}}"#.utf8)
        try original.write(to: bob.appendingPathComponent("config.json"))
        try Data("print(1)\n".utf8).write(to: bob.appendingPathComponent("strategy.py"))
        let copies = folder.url.appendingPathComponent("run/strategies")
        let names = try StrategyCopies.prepare(["WINDOW": "5"], from: source, names: [], into: copies)
        #expect(names == ["bob"])
        let copied = try Data(contentsOf: copies.appendingPathComponent("bob/config.json"))
        let env = (try JSONSerialization.jsonObject(with: copied) as? [String: Any])?["env"] as? [String: String]
        #expect(env == ["WINDOW": "5"])
        #expect(try Data(contentsOf: bob.appendingPathComponent("config.json")) == original)
        #expect(FileManager.default.fileExists(atPath: copies.appendingPathComponent("bob/strategy.py").path))
    }
}

@Suite struct LocalExecutorTests {
    /// A stand-in for `desk`: a shell script that prints `report` on stdout, or fails.
    func standIn(in folder: TemporaryDirectory, body: String) throws -> URL {
        let script = folder.url.appendingPathComponent("desk")
        try Data("#!/bin/sh\n\(body)\n".utf8).write(to: script)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        return script
    }

    static let report =
        #"{"capital":"100000","commission_per_share":"0","end":"2026-11-16T15:00:00Z","fill_at":"next-tick","members":{},"slippage_bps":"0","start":"2026-11-16T14:31:00Z","ticks":3}"#

    func job(_ id: String, _ folder: TemporaryDirectory) -> BacktestJob {
        BacktestJob(
            id: id, params: ["W": id], strategiesDirectory: folder.path("s"), strategies: ["bob"],
            dataFiles: ["/d.jsonl"], from: "2026-11-16", options: ["--fill-at", "same-tick"],
            work: folder.path("runs/\(id)"))
    }

    @Test("a job's arguments: the strategies, data, window and options, then its work folder, --json and --quiet")
    func arguments() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        #expect(
            job("1", folder).arguments == [
                "backtest", "bob", "--strategies", folder.path("s"), "--data", "/d.jsonl", "--from", "2026-11-16",
                "--fill-at", "same-tick", "--work", folder.path("runs/1"), "--json", "--quiet",
            ])
    }

    @Test("runs every job as a real child process; reports come back in the jobs' order, failures with their error")
    func runs() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let desk = try standIn(
            in: folder,
            body: """
                case "$*" in *runs/2*) echo "progress" >&2; echo "Error: strategy bob crashed" >&2; exit 3;; esac
                echo '\(Self.report)'
                """)
        let executor = LocalExecutor(deskBinary: desk, parallel: 2)
        let seen = Counter()
        let results = try await executor.run((1...4).map { job("\($0)", folder) }) { _ in seen.add() }
        #expect(results.map(\.id) == ["1", "2", "3", "4"])
        #expect(seen.value == 4)
        #expect(results[0].report?.ticks == 3 && results[0].failure == nil)
        #expect(results[1].report == nil)
        #expect(results[1].failure == "strategy bob crashed")
        #expect(results[1].logTail == ["progress", "Error: strategy bob crashed"])
        #expect(results[1].params == ["W": "2"])
        #expect(FileManager.default.fileExists(atPath: folder.path("runs/3/backtest.out")))
    }

    @Test("a missing binary is the executor's error, not a run's")
    func missingBinary() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let executor = LocalExecutor(deskBinary: folder.url.appendingPathComponent("nope"), parallel: 1)
        await #expect(throws: ResearchFailure.self) { try await executor.run([job("1", folder)]) { _ in } }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

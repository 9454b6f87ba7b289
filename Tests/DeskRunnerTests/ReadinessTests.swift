import DeskRunner
import DeskTestSupport
import Foundation
import Testing

/// The handshake backtests run on: the launcher reports each read of stdin a
/// strategy starts, so a driver gives it tick N+1 only once it has finished with
/// tick N — for the seed's plain `for line in sys.stdin:` loop, unchanged.
@Suite("Readiness: a strategy's reads of stdin, reported by its launcher", .serialized, .timeLimit(.minutes(2)))
struct ReadinessTests {
    init() throws {
        try #require(getuid() == 0, "the sandbox switches uids and needs root (CI runs as root)")
    }

    /// Launches `script` in the full sandbox with its reads reported; `body` drives it.
    func withStrategy(
        _ script: String, base: UInt32,
        _ body: (any RunningStrategy, ReadinessCounter, StrategyFolder) async throws -> Void
    ) async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("driven", script: script)
        let options = SandboxOptions(baseUID: base)
        let plan = SandboxPlan.probe(options: options, python: "/usr/bin/python3", pythonPath: "")
        try #require(plan.report.problem == nil, "\(plan.report.problem ?? "")")
        let user = StrategyUser(uid: base, gid: base)
        let stage = try StrategyStage(root: folder.folder.url.appendingPathComponent("sandbox")).prepare(
            name: "driven", from: folder.strategies.appendingPathComponent("driven"), user: user)
        let counter = try ReadinessCounter(path: folder.folder.url.appendingPathComponent("driven.ready").path)
        defer { counter.close() }
        try FileManager.default.createDirectory(at: folder.logs, withIntermediateDirectories: true)
        let log = StrategyLog(path: folder.logs.appendingPathComponent("driven.log").path, maxBytes: 1 << 20, keep: 1)
        let launch = LaunchSpec(
            name: "driven", member: "alice",
            program: ["/usr/bin/python3", "-s", "-u", stage.app.appendingPathComponent("strategy.py").path],
            workingDirectory: stage.app, environment: ["PATH": "/usr/bin:/bin"], limits: StrategyLimits(), log: log,
            user: user, home: stage.home, hiddenPaths: [folder.strategies.path], readiness: counter.path)
        let strategy = try await ProcessBackend(plan: plan).launch(launch)
        try await body(strategy, counter, folder)
        strategy.closeInput()
        _ = await strategy.exitStatus()
        log.close()
    }

    static func tick(_ n: Int) -> [UInt8] { Array("{\"symbol\":\"AAPL\",\"price\":\(100 + n)}\n".utf8) }

    @Test(
        "a tick is given only after the strategy finished the one before, for each way of reading stdin",
        arguments: [
            "for line in sys.stdin:\n    handle(line)\n",
            "while True:\n    line = sys.stdin.readline()\n    if not line: break\n    handle(line)\n",
            "while True:\n    try: line = input()\n    except EOFError: break\n    handle(line)\n",
            "for line in sys.stdin.buffer:\n    handle(line.decode())\n",
        ])
    func lockstep(loop: String) async throws {
        let script = """
            import json, sys, time
            def handle(line):
                price = json.loads(line)["price"]
                print("GOT", price, flush=True)
                time.sleep(0.02)
                print("DONE", price, flush=True)
            \(loop)
            """
        try await withStrategy(script, base: 63_600) { strategy, counter, folder in
            var reads = try #require(await counter.wait(forReads: 1), "the strategy never asked for its first tick")
            for n in 1...10 {
                #expect(await strategy.write(Self.tick(n)))
                reads = try #require(await counter.wait(forReads: reads + 1))
                // It asked for tick n+1: it has finished tick n, and not seen n+1.
                let log = folder.log("driven")
                #expect(log.contains("DONE \(100 + n)\n"), "\(log)")
                #expect(!log.contains("GOT \(101 + n)\n"))
            }
        }
    }

    @Test("a read that returns half a line is not a request for the next tick")
    func partialReads() async throws {
        let script = """
            import os, sys
            buffer = b""
            while True:
                chunk = os.read(0, 7)
                if not chunk: break
                buffer += chunk
                while b"\\n" in buffer:
                    line, buffer = buffer.split(b"\\n", 1)
                    print("LINE", line.decode(), flush=True)
            """
        try await withStrategy(script, base: 63_610) { strategy, counter, folder in
            var reads = try #require(await counter.wait(forReads: 1))
            for n in 1...5 {
                #expect(await strategy.write(Self.tick(n)))
                reads = try #require(await counter.wait(forReads: reads + 1))
                #expect(folder.log("driven").contains("\"price\":\(100 + n)}"), "\(folder.log("driven"))")
            }
            #expect(reads == 6, "one request per tick, however many reads: \(reads)")
        }
    }
}

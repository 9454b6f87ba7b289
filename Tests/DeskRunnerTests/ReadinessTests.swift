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

    /// Launches `script` in the full sandbox with its reads reported (every read; with
    /// `packetThreshold`, its stdin a pipe of packets and only the short and vectored reads);
    /// `body` drives it and reads its progress file (`$HOME/progress`, through `/proc/<init>/root`: written by the
    /// strategy itself, so there before its next read — unlike its log, which the desk copies from a pipe); its
    /// last argument makes an empty file `$HOME/<name>` (a go-ahead the strategy can wait for).
    static func withStrategy(
        _ script: String, base: UInt32, packetThreshold: Int? = nil,
        _ body: (any RunningStrategy, ReadinessCounter, () -> String, (String) -> Void) async throws -> Void
    ) async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("driven", script: script)
        let options = SandboxOptions(baseUID: base)
        let plan = SandboxPlan.probe(options: options, python: "/usr/bin/python3", pythonPath: "")
        try #require(plan.report.problem == nil, "\(plan.report.problem ?? "")")
        // A uid of its own, claimed like a desk's (a fixed one could be another test's strategy).
        let uid = try await InMemoryStrategyUserStore().uid(for: "driven", base: base)
        let user = StrategyUser(uid: uid, gid: uid)
        let stage = try StrategyStage(root: folder.folder.url.appendingPathComponent("sandbox")).prepare(
            name: "driven", from: folder.strategies.appendingPathComponent("driven"), user: user)
        let counter = try ReadinessCounter(path: folder.folder.url.appendingPathComponent("driven.ready").path)
        defer { counter.close() }
        try FileManager.default.createDirectory(at: folder.logs, withIntermediateDirectories: true)
        let log = StrategyLog(path: folder.logs.appendingPathComponent("driven.log").path, maxBytes: 1 << 20, keep: 1)
        let launch = LaunchSpec(
            name: "driven", member: "alice",
            program: ["/usr/bin/python3", "-s", "-u", stage.app.appendingPathComponent("strategy.py").path],
            workingDirectory: stage.app, environment: ["PATH": "/usr/bin:/bin", "HOME": stage.home.path],
            limits: StrategyLimits(), log: log,
            user: user, home: stage.home, hiddenPaths: [folder.strategies.path], readiness: counter.path,
            packetThreshold: packetThreshold)
        let strategy = try await ProcessBackend(plan: plan).launch(launch)
        // HOME is the strategy's own tmpfs, seen from here through its sandbox's init (the launcher's child).
        let home = stage.home.path
        let launcher = strategy.pid
        @Sendable func inHome(_ name: String) -> String? {
            let children = try? String(contentsOfFile: "/proc/\(launcher)/task/\(launcher)/children", encoding: .utf8)
            guard let sandboxInit = children?.split(separator: " ").first else { return nil }
            return "/proc/\(sandboxInit)/root\(home)/\(name)"
        }
        @Sendable func progress() -> String {
            inHome("progress").flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
        }
        @Sendable func tell(_ name: String) {
            if let path = inHome(name) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        }
        let logPath = folder.logs.appendingPathComponent("driven.log").path
        try await withThrowingTaskGroup(of: Void.self) { group in
            // What a runner does: it sees the strategy end and tells the counter.
            group.addTask { counter.ended(await strategy.exitStatus()) }
            do {
                try await body(strategy, counter, progress, tell)
            } catch {
                Issue.record("its log: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
                strategy.closeInput()
                throw error
            }
            strategy.closeInput()
            try await group.waitForAll()
        }
        log.close()
    }

    /// The request count of an answer; fails the test (with the strategy's progress) if it ended instead.
    static func asked(_ answer: ReadinessCounter.Answer, _ progress: () -> String) throws -> Int {
        guard case .asked(let count) = answer else {
            Issue.record("the strategy ended: \(answer); progress: \(progress())")
            throw CancellationError()
        }
        return count
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
            import json, os, sys, time
            progress = open(os.path.join(os.environ["HOME"], "progress"), "a", buffering=1)
            def handle(line):
                price = json.loads(line)["price"]
                progress.write(f"GOT {price}\\n")
                time.sleep(0.02)
                progress.write(f"DONE {price}\\n")
            \(loop)
            """
        try await Self.withStrategy(script, base: 63_600) { strategy, counter, progress, _ in
            var reads = try Self.asked(await counter.wait(forReads: 1), progress)
            for n in 1...10 {
                #expect(await strategy.write(Self.tick(n)))
                reads = try Self.asked(await counter.wait(forReads: reads + 1), progress)
                // It asked for tick n+1: it has finished tick n, and not seen n+1.
                let log = progress()
                #expect(log.contains("DONE \(100 + n)\n"), "\(log)")
                #expect(!log.contains("GOT \(101 + n)\n"))
            }
        }
    }

    @Test("a strategy that ends instead of asking for a tick is noticed, not waited for")
    func endsInstead() async throws {
        try await Self.withStrategy("import sys\nsys.stdin.readline()\nsys.exit(4)\n", base: 63_620) {
            strategy, counter, progress, _ in
            let first = try Self.asked(await counter.wait(forReads: 1), progress)
            #expect(await strategy.write(Self.tick(1)))
            #expect(await counter.wait(forReads: first + 1) == .ended(.exited(4)))
        }
    }

    @Test("a read that returns half a line is not a request for the next tick")
    func partialReads() async throws {
        let script = """
            import os, sys
            progress = open(os.path.join(os.environ["HOME"], "progress"), "a", buffering=1)
            buffer = b""
            while True:
                chunk = os.read(0, 7)
                if not chunk: break
                buffer += chunk
                while b"\\n" in buffer:
                    line, buffer = buffer.split(b"\\n", 1)
                    progress.write("LINE " + line.decode() + "\\n")
            """
        try await Self.withStrategy(script, base: 63_610) { strategy, counter, progress, _ in
            var reads = try Self.asked(await counter.wait(forReads: 1), progress)
            for n in 1...5 {
                #expect(await strategy.write(Self.tick(n)))
                reads = try Self.asked(await counter.wait(forReads: reads + 1), progress)
                #expect(progress().contains("\"price\":\(100 + n)}"), "\(progress())")
            }
            #expect(reads == 6, "one request per tick, however many reads: \(reads)")
        }
    }
}

import DeskTestSupport
import Foundation
import Testing

@testable import DeskResearch

@Suite struct RayAddressTests {
    @Test(
        "ray://HOST:PORT is read; anything else is refused with what is allowed",
        arguments: [
            ("ray://127.0.0.1:6391", "127.0.0.1", 6391),
            ("ray://head.club.lan:10001", "head.club.lan", 10001),
            ("ray://[::1]:10001", "[::1]", 10001),
            ("ray://head", nil, nil),
            ("http://head:10001", nil, nil),
            ("ray://:10001", nil, nil),
            ("ray://head:0", nil, nil),
            ("ray://head:70000", nil, nil),
            ("ray://head:port", nil, nil),
            ("ray://user@head:10001", nil, nil),
            ("head:10001", nil, nil),
        ] as [(String, String?, Int?)])
    func parse(text: String, host: String?, port: Int?) throws {
        if let host, let port {
            #expect(try RayAddress(text) == RayAddress(host: host, port: port))
            #expect(try RayAddress(text).description == text)
        } else {
            #expect {
                try RayAddress(text)
            } throws: { error in
                (error as? ResearchFailure)?.message.contains("give ray://HOST:PORT") == true
            }
        }
    }
}

extension RayAddress {
    init(host: String, port: Int) {
        try! self.init("ray://\(host):\(port)")
    }
}

/// RayExecutor against a stand-in driver (a real child process speaking the driver's
/// protocol); the real driver on a real cluster is clients/python/tests/test_ray_cluster.py.
@Suite struct RayExecutorTests {
    static let address = try! RayAddress("ray://127.0.0.1:6391")

    /// The real python3 running a stand-in `desk_client.ray_backtests` (found through PYTHONPATH; a
    /// script of the test's own would risk "text file busy" when another test forks while it is written):
    /// runs `body` with the jobs read from stdin as `jobs` and the test's folder as `here`.
    func standIn(in folder: TemporaryDirectory, body: String) throws -> RayExecutor {
        let package = folder.url.appendingPathComponent("site/desk_client")
        try FileManager.default.createDirectory(at: package, withIntermediateDirectories: true)
        try Data().write(to: package.appendingPathComponent("__init__.py"))
        let text = """
            import json, os, sys, time
            assert sys.argv[1:] == ["--address", "ray://127.0.0.1:6391"], sys.argv
            here = \(String(reflecting: folder.url.path))
            jobs = json.load(sys.stdin)["jobs"]
            \(body)
            """
        try Data(text.utf8).write(to: package.appendingPathComponent("ray_backtests.py"))
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = folder.path("site")
        return RayExecutor(address: Self.address, python: "python3", environment: environment)
    }

    func job(_ id: String, _ folder: TemporaryDirectory) -> BacktestJob {
        BacktestJob(
            id: id, params: ["W": id], strategiesDirectory: folder.path("s"), strategies: ["bob"],
            dataFiles: ["/d.jsonl"], options: [], work: folder.path("runs/\(id)"))
    }

    @Test("each line is a finished job, read from its work folder as a local run's; results in the jobs' order")
    func lines() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let executor = try standIn(
            in: folder,
            body: """
                for job in reversed(jobs):
                    assert job["arguments"][0] == "backtest" and job["arguments"][-4:-2] == ["--work", job["work"]]
                    os.makedirs(job["work"])
                    failing = job["id"] == "2"
                    with open(os.path.join(job["work"], "backtest.out"), "w") as out:
                        out.write("" if failing else '\(LocalExecutorTests.report)')
                    with open(os.path.join(job["work"], "backtest.err"), "w") as err:
                        err.write("Error: strategy bob crashed\\n" if failing else "")
                    line = {"id": job["id"], "params": job["params"], "status": 3 if failing else 0, "seconds": 1.5,
                            "cpuSeconds": 0.25, "failure": None, "logTail": [], "node": {"id": "n1", "host": "h"}}
                    if job["id"] == "3":
                        line.update(status=None, failure="no desk binary on node n1 (h)")
                    print(json.dumps(line), flush=True)
                """)
        let seen = Counter()
        let results = try await executor.run((1...3).map { job("\($0)", folder) }) { _ in seen.add() }
        #expect(seen.value == 3)
        #expect(results.map(\.id) == ["1", "2", "3"])
        #expect(results[0].report?.ticks == 3 && results[0].failure == nil)
        #expect(results[0].seconds == 1.5 && results[0].cpuSeconds == 0.25)
        #expect(results[1].report == nil && results[1].failure == "strategy bob crashed")
        #expect(results[1].logTail == ["Error: strategy bob crashed"])
        #expect(results[2].failure == "no desk binary on node n1 (h)")
    }

    /// The executor's error running one job, or nil when it ran.
    func failure(_ executor: RayExecutor, _ folder: TemporaryDirectory) async -> String? {
        do {
            _ = try await executor.run([job("1", folder)]) { _ in }
            return nil
        } catch {
            return (error as? ResearchFailure)?.message ?? "\(error)"
        }
    }

    @Test("the driver's own error (desk-ray: …) is the executor's error")
    func driverError() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let executor = try standIn(
            in: folder,
            body: """
                print("some Ray noise", file=sys.stderr)
                print("desk-ray: the Ray cluster ray://127.0.0.1:6391 is unreachable (refused)", file=sys.stderr)
                sys.exit(2)
                """)
        #expect(await failure(executor, folder) == "the Ray cluster ray://127.0.0.1:6391 is unreachable (refused)")
    }

    @Test("a driver that ends without reporting every job is an error naming how many")
    func missing() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let message = await failure(try standIn(in: folder, body: "pass"), folder)
        #expect(message?.contains("left 1 run(s) unreported") == true)
    }

    @Test("a Python that is not there is named, with the variable that chooses it")
    func noPython() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let message = await failure(RayExecutor(address: Self.address, python: folder.path("nope")), folder)
        #expect(message?.contains("DESK_RAY_PYTHON") == true)
    }

    @Test("cancelling the task sends SIGTERM to the driver, which cancels its tasks and exits")
    func cancel() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let executor = try standIn(
            in: folder,
            body: """
                import signal
                def cancelled(signum, frame):
                    open(os.path.join(here, "cancelled"), "w").close()
                    sys.exit(143)
                signal.signal(signal.SIGTERM, cancelled)
                open(os.path.join(here, "ready"), "w").close()
                time.sleep(600)
                """)
        let task = Task {
            try await executor.run([job("1", folder)]) { _ in }
        }
        // Cancel once the driver runs (its SIGTERM handler is installed before it says ready).
        while !FileManager.default.fileExists(atPath: folder.path("ready")) {
            try await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(FileManager.default.fileExists(atPath: folder.path("cancelled")))
    }
}

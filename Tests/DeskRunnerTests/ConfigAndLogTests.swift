import DeskRunner
import DeskTestSupport
import Foundation
import Testing

@Suite("Strategy config, discovery, restart policy and logs")
struct ConfigAndLogTests {
    @Test("a full config.json")
    func fullConfig() throws {
        let text = """
            {"user_id": "alice", "name": "Momentum", "description": "d", "version": "1.0.0",
             "env": {"THRESHOLD": "150.0"}, "symbols": ["AAPL", "MSFT"],
             "limits": {"memory": "512m", "cpu_seconds": 60, "max_processes": 8, "open_files": 64},
             "restart": {"policy": "always", "max_restarts": 2, "backoff_initial_seconds": 0.5, "backoff_max_seconds": 4},
             "runtime": "docker"}
            """
        let config = try StrategyConfig.parse(text, folder: "f", path: "f/config.json").get()
        #expect(config.member == "alice")
        #expect(config.environment == ["THRESHOLD": "150.0"])
        #expect(config.symbols == ["AAPL", "MSFT"])
        #expect(config.limits == StrategyLimits(memoryBytes: 512 << 20, cpuSeconds: 60, maxProcesses: 8, openFiles: 64))
        #expect(config.runtime == .docker)
        #expect(config.restart.policy == .always)
        #expect(config.restart.backoffInitial == .milliseconds(500))
        #expect(StrategyConfig.parse("{}", folder: "bob", path: "x").map(\.member) == .success("bob"))
        #expect(
            StrategyConfig.parse(#"{"member": "carol"}"#, folder: "b", path: "x").map(\.member) == .success("carol"))
        #expect(StrategyConfig.parse("{}", folder: "bob", path: "x").map(\.runtime) == .success(nil))
        #expect(
            StrategyConfig.parse(#"{"limits": {"cpus": 1.5}}"#, folder: "b", path: "x").map(\.limits.cpus)
                == .success(1.5))
    }

    @Test(
        "events: what a strategy reads besides market data; none by default, fills with or without symbols",
        arguments: [
            ("{}", Set<StrategyEvent>()),
            (#"{"events": []}"#, []),
            (#"{"events": ["fills"]}"#, [.fills]),
            (#"{"symbols": ["AAPL"], "events": ["fills", "fills"]}"#, [.fills]),
        ] as [(String, Set<StrategyEvent>)])
    func events(text: String, expected: Set<StrategyEvent>) throws {
        #expect(try StrategyConfig.parse(text, folder: "f", path: "x").get().events == expected)
    }

    @Test(
        "bad config.json files name the file, line and key",
        arguments: [
            ("{\n  \"user_id\": \"alice\",\n  \"env\": {\"A\": 1}\n}", 3, "A", "must be a string"),
            ("{\n  \"user_id\": \"../root\"\n}", 2, "user_id", "member id"),
            ("{\n  \"symbols\": [\"aapl\"]\n}", 2, "symbols", "not a ticker"),
            ("{\n  \"env\": {\"DESK_TOKEN\": \"x\"}\n}", 2, "DESK_TOKEN", "the desk sets it itself"),
            (
                "{\n  \"name\": \"x\",\n  \"symbol\": [\"AAPL\"]\n}", 3, "symbol",
                "unknown key; allowed: member, user_id, name"
            ),
            ("{\n  \"limts\": {}\n}", 2, "limts", "allowed: member, user_id, name, description, version, env, symbols"),
            ("{\n  \"member\": \"a\",\n  \"user_id\": \"b\"\n}", 3, "user_id", "give one of them, not both"),
            ("{\n  \"member\": \"../root\"\n}", 2, "member", "member id"),
            ("{\n  \"events\": [\"trades\"]\n}", 2, "events", #"unknown event "trades"; allowed: "fills""#),
            ("{\n  \"events\": \"fills\"\n}", 2, "events", #"must be a list of event names, e.g. ["fills"]"#),
            ("{\n  \"restart\": {\"max_restarts\": 1.5}\n}", 2, "max_restarts", "a whole number"),
            ("{\n  \"restart\": {\"max_restarts\": 101}\n}", 2, "max_restarts", "a whole number from 0 to 100"),
            ("{\n  \"restart\": {\"max_restarts\": -1}\n}", 2, "max_restarts", "from 0 to 100"),
            (
                "{\n  \"restart\": {\"backoff_initial_seconds\": 0}\n}", 2, "backoff_initial_seconds",
                "a number of seconds from 0.5 to 86400"
            ),
            ("{\n  \"restart\": {\"backoff_max_seconds\": 0.01}\n}", 2, "backoff_max_seconds", "from 0.5"),
            ("{\n  \"restart\": {\"backoff_max_seconds\": 1e300}\n}", 2, "backoff_max_seconds", "to 86400"),
            ("{\n  \"env\": {\"LD_PRELOAD\": \"x.so\"}\n}", 2, "LD_PRELOAD", "dynamic loader"),
            ("{\n  \"env\": {\"LD_LIBRARY_PATH\": \".\"}\n}", 2, "LD_LIBRARY_PATH", "dynamic loader"),
            ("{\n  \"env\": {\"PYTHONSTARTUP\": \"x.py\"}\n}", 2, "PYTHONSTARTUP", "allowed: PYTHONFAULTHANDLER"),
            ("{\n  \"env\": {\"PYTHONHOME\": \"/x\"}\n}", 2, "PYTHONHOME", "what the interpreter loads"),
            ("{\n  \"env\": {\"PYTHONPATH\": \"/x\"}\n}", 2, "PYTHONPATH", "the desk sets it itself"),
            ("{\n  \"env\": {\"PYTHONINSPECT\": \"1\"}\n}", 2, "PYTHONINSPECT", "what the interpreter loads"),
            ("{\n  \"env\": {\"GCONV_PATH\": \".\"}\n}", 2, "GCONV_PATH", "load other code"),
            ("{\n  \"env\": {\"GLIBC_TUNABLES\": \"x\"}\n}", 2, "GLIBC_TUNABLES", "C library"),
            ("{\n  \"env\": {\"my_var\": \"1\"}\n}", 2, "my_var", "capital letters, digits and _"),
            ("{\n  \"env\": {\"APCA_API_SECRET_KEY\": \"1\"}\n}", 2, "APCA_API_SECRET_KEY", "the desk's own"),
            ("{\n  \"limits\": {\"memory\": \"lots\"}\n}", 2, "memory", "512m"),
            ("{\n  \"restart\": {\"policy\": \"sometimes\"}\n}", 2, "policy", "on-failure"),
            ("{\n  \"runtime\": \"vm\"\n}", 2, "runtime", "process"),
            ("{\n  \"limits\": {\"cpus\": 0}\n}", 2, "cpus", "limits.cpus must be a number > 0"),
            (
                "{\n  \"limits\": {\"gpus\": 1}\n}", 2, "gpus",
                "allowed: memory, disk, cpu_seconds, max_processes, open_files, cpus"
            ),
        ])
    func badConfigs(text: String, line: Int, key: String, fragment: String) {
        switch StrategyConfig.parse(text, folder: "f", path: "strategies/f/config.json") {
        case .success: Issue.record("expected a problem")
        case .failure(let problem):
            #expect(problem.line == line)
            #expect(problem.key == key)
            #expect(problem.message.contains(fragment), "\(problem.message)")
            #expect(problem.description.hasPrefix("strategies/f/config.json:\(line):"))
        }
    }

    @Test(
        "malformed JSON is reported at its real line and column; trailing commas and repeated keys are refused",
        arguments: [
            ("{\n  \"name\": \"a\",\n  \"version\": \"1\",\n  oops\n}", 4, 3, "an object key (a string) was expected"),
            ("{\n  \"name\": \"a\",\n}", 3, 1, "trailing commas"),
            ("{\"symbols\": [\"AAPL\",]}", 1, 21, "trailing commas"),
            ("{\n  \"user_id\": \"alice\",\n  \"user_id\": \"bob\"\n}", 3, 3, "appears more than once"),
            ("{\"limits\": {\"cpu_seconds\": 010}}", 1, 28, "no leading zeros"),
        ])
    func malformed(text: String, line: Int, column: Int, fragment: String) {
        guard case .failure(let problem) = StrategyConfig.parse(text, folder: "f", path: "p") else {
            Issue.record("expected a problem")
            return
        }
        #expect(problem.message.contains("not valid JSON"))
        #expect(problem.message.contains(fragment), "\(problem.message)")
        #expect(problem.line == line)
        #expect(problem.column == column)
        #expect(problem.description.hasPrefix("p:\(line):\(column): "))
    }

    @Test(
        "environment names config.json may set",
        arguments: ["THRESHOLD", "RUN_LENGTH", "_X", "PYTHONHASHSEED", "PYTHONWARNINGS"])
    func allowedEnvironment(name: String) {
        #expect(StrategyConfig.environmentRefusal(name) == nil)
    }

    @Test("discovery: bad folders are reported, the others load")
    func discovery() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let root = folder.url.appendingPathComponent("strategies")
        for name in ["good", "broken", "noscript", "bad name"] {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        for name in ["good", "broken", "bad name"] {
            try "pass\n".write(
                to: root.appendingPathComponent("\(name)/strategy.py"), atomically: true, encoding: .utf8)
        }
        try "{ nope".write(to: root.appendingPathComponent("broken/config.json"), atomically: true, encoding: .utf8)
        let outside = folder.url.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try "pass\n".write(to: outside.appendingPathComponent("strategy.py"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            at: root.appendingPathComponent("escape"), withDestinationURL: outside)
        let report = StrategyDiscovery.discover(in: root)
        #expect(report.strategies.map(\.name) == ["good"])
        #expect(report.problems["broken"]?.contains("config.json:1") == true)
        #expect(report.problems["noscript"]?.contains("strategy.py is missing") == true)
        #expect(report.problems["bad name"]?.contains("safe identifier") == true)
        #expect(report.problems["escape"]?.contains("outside") == true)
    }

    @Test(
        "restart policy",
        arguments: [
            (
                StrategyExit.exited(1), 0, RestartSettings.Policy.onFailure,
                RestartDecision.restart(after: .seconds(1)), 1
            ),
            (.exited(1), 1, .onFailure, .restart(after: .seconds(2)), 2),
            (.signaled(9), 4, .onFailure, .restart(after: .seconds(16)), 5),
            (.exited(1), 5, .onFailure, .fail(reason: "exit code 1 after 5 restart(s) in a row"), 5),
            (.exited(0), 3, .onFailure, .stay, 0),
            (.exited(0), 0, .always, .restart(after: .seconds(1)), 1),
            (.exited(2), 0, .never, .stay, 0),
        ])
    func restartPolicy(
        exit: StrategyExit, streak: Int, policy: RestartSettings.Policy, decision: RestartDecision, next: Int
    ) {
        let settings = RestartSettings(
            policy: policy, maxRestarts: 5, backoffInitial: .seconds(1), backoffMax: .seconds(30))
        let result = RestartPolicy.decide(exit: exit, ranFor: .seconds(1), restartsInARow: streak, settings: settings)
        #expect(result.decision == decision)
        #expect(result.restartsInARow == next)
    }

    @Test("a stable run resets the streak; backoff is capped")
    func stableAndCap() {
        let settings = RestartSettings(maxRestarts: 50, backoffInitial: .seconds(1), backoffMax: .seconds(30))
        #expect(
            RestartPolicy.decide(exit: .exited(1), ranFor: .seconds(120), restartsInARow: 9, settings: settings)
                .decision
                == .restart(after: .seconds(1)))
        #expect(
            RestartPolicy.decide(exit: .exited(1), ranFor: .seconds(1), restartsInARow: 9, settings: settings).decision
                == .restart(after: .seconds(30)))
    }

    @Test("a full disk drops a log's output (counted) instead of crashing; writing resumes when space returns")
    func fullDisk() throws {
        try #require(getuid() == 0, "mounts a small tmpfs: needs root (CI runs as root)")
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let disk = folder.url.appendingPathComponent("disk").path
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        try #require(mount("tmpfs", disk, "tmpfs", 0, "size=1m") == 0, "mount a 1 MiB tmpfs")
        defer { umount2(disk, Int32(MNT_DETACH)) }
        let log = StrategyLog(path: disk + "/full.log", maxBytes: 8 << 20, keep: 1, freeSpaceFloor: 0)
        let before = StrategyLog.droppedBytes
        let chunk = Data(repeating: UInt8(ascii: "x"), count: 64 << 10)
        for _ in 0..<32 { log.append(chunk) }  // 2 MiB into 1 MiB: ENOSPC half way
        #expect(StrategyLog.droppedBytes - before >= 1 << 20)
        // Space returns: the log goes on and says what it dropped.
        let filler = disk + "/full.log"
        try #require(truncate(filler, 0) == 0)
        log.close()
        log.note("after")
        log.close()
        let text = try String(contentsOfFile: filler, encoding: .utf8)
        #expect(text.contains("bytes of output dropped"), "\(text.prefix(200))")
        #expect(text.contains("after"))
        // A floor above the free space drops too, before the disk is full.
        let floored = StrategyLog(path: disk + "/floored.log", freeSpaceFloor: 16 << 20)
        let beforeFloor = StrategyLog.droppedBytes
        floored.append(Data("kept out\n".utf8))
        floored.close()
        #expect(StrategyLog.droppedBytes - beforeFloor == 9)
        #expect((try? String(contentsOfFile: disk + "/floored.log", encoding: .utf8)) ?? "" == "")
    }

    @Test("logs rotate at their size limit and tail reaches into the rotated file")
    func rotation() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("s.log")
        let log = StrategyLog(path: path, maxBytes: 100, keep: 2)
        for index in 0..<30 { log.append(Data("line \(index)\n".utf8)) }
        log.close()
        #expect(FileManager.default.fileExists(atPath: path + ".1"))
        #expect(FileManager.default.fileExists(atPath: path + ".2"))
        #expect(!FileManager.default.fileExists(atPath: path + ".3"))
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        #expect(size <= 100)
        #expect(StrategyLog.tail(path: path, lines: 3) == ["line 27", "line 28", "line 29"])
        #expect(StrategyLog.tail(path: path, lines: 12).first == "line 18")
    }

    @Test("follow yields new lines, across a rotation")
    func follow() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("f.log")
        let log = StrategyLog(path: path, maxBytes: 60, keep: 2)
        log.append(Data("old line\n".utf8))
        var iterator = StrategyLog.follow(path: path, poll: .milliseconds(20)).makeAsyncIterator()
        var seen: [String] = []
        for index in 0..<8 {
            log.append(Data("new \(index) padding padding\n".utf8))
            while seen.count <= index, let line = try await iterator.next() { seen.append(line) }
        }
        #expect(!seen.contains("old line"))
        #expect(seen.first == "new 0 padding padding")
        #expect(seen.contains("new 7 padding padding"))
        log.close()
    }
}

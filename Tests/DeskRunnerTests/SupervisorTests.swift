import DeskMarketData
import DeskRunner
import DeskTestSupport
import Foundation
import Testing

@Suite("Supervisor with real strategy processes", .serialized, .timeLimit(.minutes(2)))
struct SupervisorTests {
    static func tick(_ symbol: String, _ price: Int) -> Tick { Tick(symbol: symbol, price: Decimal(price), at: Date()) }

    @Test("ticks reach only the strategies that subscribe to their symbol; env is built from scratch")
    func fanOutAndEnvironment() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add(
            "apple_only", script: echoStrategy,
            config: #"{"user_id": "alice", "symbols": ["AAPL"], "env": {"MY_SETTING": "7"}}"#)
        // After its stdin ends it waits: only the stop's SIGTERM ends it (the assertion below is about that signal).
        try folder.add("everything", script: echoStrategy + "\nimport time\nwhile True:\n    time.sleep(1)\n")
        try folder.add(
            "environment",
            script:
                "import os\nfor k in sorted(os.environ): print('ENV', k, os.environ[k], flush=True)\nimport sys\nsys.stdin.read()\n"
        )
        setenv("APCA_API_SECRET_KEY", "super-secret-broker-key", 1)
        defer { unsetenv("APCA_API_SECRET_KEY") }
        let feed = FeedHub(source: nil, logger: testLogger())
        try await withSupervisor(folder.configuration(), feed: feed) { supervisor in
            let results = await supervisor.start([])
            #expect(results.allSatisfy { $0.ok }, "\(results)")
            #expect(
                await eventually {
                    folder.log("apple_only").contains("READY") && folder.log("everything").contains("READY")
                })
            #expect(await eventually { feed.statistics.subscribers.count == 3 })
            for (symbol, price) in [("AAPL", 1), ("MSFT", 2), ("AAPL", 3)] { feed.publish(Self.tick(symbol, price)) }
            #expect(await eventually { folder.log("everything").contains("GOT AAPL 3") })
            #expect(await eventually { folder.log("apple_only").contains("GOT AAPL 3") })
            #expect(!folder.log("apple_only").contains("MSFT"))
            #expect(folder.log("everything").contains("GOT MSFT 2"))
            let environment = folder.log("environment")
            #expect(await eventually { folder.log("environment").contains("ENV USER_ID environment") })
            #expect(!environment.contains("super-secret-broker-key"))
            #expect(!environment.contains("APCA"))
            #expect(folder.log("environment").contains("ENV DESK_TOKEN token-environment-environment"))
            #expect(folder.log("environment").contains("ENV PYTHONUNBUFFERED 1"))
            let status = await supervisor.status()
            #expect(status.first { $0.name == "apple_only" }?.member == "alice")
            #expect(status.allSatisfy { $0.state == .running && $0.pid != nil })
            _ = await supervisor.stop(["everything"])
            // SIGTERM reaches it (the desk's blocked signals are not inherited) and, unhandled, ends it.
            #expect(folder.log("everything").contains("everything ended: killed by signal 15"))
            #expect(await supervisor.status().first { $0.name == "everything" }?.state == .stopped)
        }
    }

    @Test("a crashing strategy is restarted with backoff, then marked failed with its exit and last lines")
    func crashLoop() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("crasher", script: "import sys\nprint('about to fail', flush=True)\nsys.exit(3)\n")
        let restart = RestartSettings(
            policy: .onFailure, maxRestarts: 2, backoffInitial: .milliseconds(20), backoffMax: .milliseconds(100))
        let credentials = RecordingCredentials()
        try await withSupervisor(
            folder.configuration(restart: restart), feed: FeedHub(source: nil, logger: testLogger()),
            credentials: credentials
        ) {
            supervisor in
            _ = await supervisor.start(["crasher"])
            let failed = await eventually { await supervisor.status().first?.state == .failed }
            let seen = await supervisor.status()
            #expect(failed, "\(seen) log: \(folder.log("crasher"))")
            let status = try #require(await supervisor.status().first)
            #expect(status.restarts == 2)
            #expect(status.lastExit == "exit code 3")
            #expect(status.failure?.contains("exit code 3") == true)
            #expect(status.lastLogLines?.contains { $0.contains("about to fail") } == true)
            // One token per start, each revoked when the process ended.
            #expect(await credentials.issued.count == 3)
            #expect(await credentials.revoked.count == 3)
        }
    }

    @Test(
        "each start issues the strategy's token on the venue it runs on: once moved, the next start's is for the new venue"
    )
    func tokenOnVenue() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("mover", script: "import sys\nsys.stdin.read()\n", config: #"{"user_id": "alice"}"#)
        let credentials = RecordingCredentials()
        try await withSupervisor(
            folder.configuration(), feed: FeedHub(source: nil, logger: testLogger()), credentials: credentials
        ) { supervisor in
            #expect(await supervisor.start(["mover"]).allSatisfy(\.ok))
            #expect(await eventually { await credentials.issued.count == 1 })
            await credentials.move("mover", to: "live")
            #expect(await supervisor.restart(["mover"]).allSatisfy(\.ok))
            #expect(await eventually { await credentials.issued.count == 2 })
            #expect(await credentials.issued == ["alice/mover@paper", "alice/mover@live"])
            #expect(await eventually { folder.log("mover").contains("for member alice on venue live") })
        }
    }

    @Test("stop ends the strategy's whole process group, children included; a strategy ignoring SIGTERM is killed")
    func stopEndsProcessGroup() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add(
            "parent",
            script: """
                import signal, subprocess, sys, time
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                child = subprocess.Popen(["sleep", "300"])
                print("CHILD", child.pid, flush=True)
                sys.stdin.read()
                time.sleep(300)
                """)
        try await withSupervisor(folder.configuration(), feed: FeedHub(source: nil, logger: testLogger())) {
            supervisor in
            _ = await supervisor.start(["parent"])
            #expect(await eventually { folder.log("parent").contains("CHILD") })
            let pid = try #require(await supervisor.status().first?.pid)
            let line = try #require(folder.log("parent").split(separator: "\n").first { $0.hasPrefix("CHILD") })
            let child = try #require(Int32(line.split(separator: " ")[1]))
            #expect(getpgid(pid) == pid, "the strategy leads its own process group")
            #expect(getpgid(child) == pid)
            _ = await supervisor.stop(["parent"])
            #expect(!isAlive(pid))
            #expect(await eventually(within: 5) { !isAlive(child) })
            #expect(
                await eventually(within: 5) {
                    await supervisor.status().first?.lastExit?.hasPrefix("killed by signal 9") == true
                })
        }
    }

    @Test("1,000 restarts of a strategy that exits at once leave the desk's descriptors where they were")
    func restartsLeaveNoDescriptors() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("quitter", script: "")
        var configuration = folder.configuration(
            restart: RestartSettings(
                policy: .always, maxRestarts: 1_000_000, backoffInitial: .milliseconds(1),
                backoffMax: .milliseconds(1)))
        // Exits at once, without an interpreter's start-up: only the desk's side of a start is measured.
        configuration.python = "/bin/true"
        try await withSupervisor(configuration, feed: FeedHub(source: nil, logger: testLogger())) { supervisor in
            _ = await supervisor.start(["quitter"])
            func restarts() async -> Int { await supervisor.status().first?.restarts ?? 0 }
            #expect(await eventually { await restarts() >= 50 })
            let before = openDescriptors()
            let from = await restarts()
            #expect(await eventually(within: 100) { await restarts() >= from + 1_000 })
            let after = openDescriptors()
            // Other suites open and close descriptors meanwhile; a leak per start would be 1,000.
            let new = after.subtracting(before).sorted().prefix(20)
            #expect(after.count - before.count < 100, "\(before.count) → \(after.count): \(new)")
            _ = await supervisor.stop(["quitter"])
        }
    }

    @Test("followers of a log without newlines get it in bounded pieces and hold no more; extra followers are refused")
    func followersOfEndlessLine() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add(
            "endless",
            script:
                "import sys, time\nwhile True:\n    sys.stdout.write('z' * 65536)\n    sys.stdout.flush()\n    time.sleep(0.001)\n",
            config: #"{"user_id": "mallory"}"#)
        try await withSupervisor(folder.configuration(), feed: FeedHub(source: nil, logger: testLogger())) {
            supervisor in
            _ = await supervisor.start(["endless"])
            let path = supervisor.logPath("endless")
            #expect(await eventually { FileManager.default.fileExists(atPath: path) })
            let slots = (0..<supervisor.logFollowers.perMember).compactMap { _ in
                supervisor.logFollowers.take(member: "mallory")
            }
            #expect(slots.count == 4)
            #expect(supervisor.logFollowers.take(member: "mallory") == nil, "a fifth follower is refused")
            #expect(supervisor.logFollowers.take(member: "alice") != nil, "another member's are not")
            let before = residentBytes()
            let pieces = await withTaskGroup(of: (count: Int, longest: Int).self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        var count = 0
                        var longest = 0
                        var iterator = StrategyLog.follow(path: path, poll: .milliseconds(10)).makeAsyncIterator()
                        let deadline = ContinuousClock.now + .seconds(3)
                        while ContinuousClock.now < deadline, let line = try? await iterator.next() {
                            count += 1
                            longest = max(longest, line.utf8.count)
                        }
                        return (count, longest)
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let growth = residentBytes() - before
            #expect(pieces.allSatisfy { $0.count > 0 }, "every follower got pieces of the endless line: \(pieces)")
            #expect(pieces.allSatisfy { $0.longest <= LogFollower.defaultMaxLineBytes })
            #expect(growth < 200 << 20, "16 followers grew the desk by \(growth >> 20) MiB")
            withExtendedLifetime(slots) {}
            _ = await supervisor.stop(["endless"])
        }
    }

    @Test("a strategy that never reads stdin does not delay the others")
    func stuckStrategy() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("stuck", script: "import time\nprint('READY', flush=True)\ntime.sleep(120)\n")
        try folder.add(
            "counter",
            script:
                "import sys\nprint('READY', flush=True)\nn = 0\nfor line in sys.stdin:\n    n += 1\n    if n % 1000 == 0: print('COUNT', n, flush=True)\n"
        )
        let feed = FeedHub(source: nil, logger: testLogger())
        try await withSupervisor(folder.configuration(), feed: feed) { supervisor in
            _ = await supervisor.start([])
            #expect(
                await eventually { folder.log("stuck").contains("READY") && folder.log("counter").contains("READY") })
            #expect(await eventually { feed.statistics.subscribers.count == 2 })
            let started = ContinuousClock.now
            for index in 0..<20_000 {
                feed.publish(Self.tick("AAPL", index + 1))
                if index % 500 == 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
            let publishing = ContinuousClock.now - started
            // The counter keeps up; the stuck one's pipe fills and its oldest ticks are dropped.
            #expect(await eventually(within: 30) { folder.log("counter").contains("COUNT 20000") })
            let stuck = try #require(feed.statistics.subscribers.first { $0.id == "stuck" })
            let counter = try #require(feed.statistics.subscribers.first { $0.id == "counter" })
            #expect(stuck.dropped > 0)
            #expect(counter.dropped == 0)
            #expect(publishing < .seconds(10))
            let status = await supervisor.status()
            #expect(status.first { $0.name == "stuck" }?.ticksDropped ?? 0 > 0)
        }
    }

    @Test("state survives a supervisor restart: a strategy that was running starts again")
    func restore() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("keeper", script: echoStrategy)
        let store = InMemoryStrategyStore()
        try await withSupervisor(folder.configuration(), feed: FeedHub(source: nil, logger: testLogger()), store: store)
        {
            supervisor in
            _ = await supervisor.start(["keeper"])
            // Its own READY, not only the supervisor's "running" (set at launch, before the
            // interpreter has started): the count below is of READY lines.
            #expect(await eventually { folder.log("keeper").components(separatedBy: "READY").count == 2 })
        }
        #expect(await store.loadAll().first?.desiredRunning == true)
        try await withSupervisor(folder.configuration(), feed: FeedHub(source: nil, logger: testLogger()), store: store)
        {
            supervisor in
            // The restored record says running before the new run starts: wait for the new run's line.
            #expect(
                await eventually { folder.log("keeper").components(separatedBy: "READY").count == 3 },
                "its log: \(folder.log("keeper"))")
            #expect(await supervisor.status().first?.state == .running)
        }
    }

    @Test("in the sandbox: no TCP to anything, a memory limit, an unprivileged user")
    func sandbox() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        listen(listener, 8)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        defer { close(listener) }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let connect = """
            import os, socket, sys
            print("UID", os.getuid(), flush=True)
            try:
                socket.create_connection(("127.0.0.1", \(port)), timeout=3).close()
                print("CONNECTED", flush=True)
            except OSError as error:
                print("CONNECT FAILED", error, flush=True)
            sys.stdin.read()
            """
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("netprobe", script: connect)
        try folder.add(
            "hog",
            script:
                "try:\n    data = bytearray(2 * 1024 ** 3)\n    print('ALLOCATED', flush=True)\nexcept MemoryError:\n    print('MEMORY LIMIT', flush=True)\n    raise\n",
            config: #"{"limits": {"memory": "256m"}, "restart": {"policy": "never"}}"#)
        let feed = FeedHub(source: nil, logger: testLogger())
        let configuration = folder.configuration(sandbox: SandboxOptions())
        try await withSupervisor(configuration, feed: feed) { supervisor in
            let report = supervisor.sandboxReport
            try #require(report.problem == nil, "the sandbox cannot be built here: \(report.problem ?? "")")
            _ = await supervisor.start([])
            #expect(await eventually { folder.log("netprobe").contains("CONNECT") })
            #expect(folder.log("netprobe").contains("CONNECT FAILED"), "\(folder.log("netprobe"))")
            if getuid() == 0 { #expect(!folder.log("netprobe").contains("UID 0\n")) }
            #expect(await eventually { await supervisor.status().first { $0.name == "hog" }?.state == .stopped })
            #expect(folder.log("hog").contains("MEMORY LIMIT"))
            #expect(!folder.log("hog").contains("ALLOCATED"))
            #expect(await supervisor.status().first { $0.name == "hog" }?.lastExit == "exit code 1")
        }
        // The same probe outside the sandbox connects: the failure above is the sandbox's doing.
        let open = try StrategyFolder()
        defer { open.remove() }
        try open.add("netprobe", script: connect)
        try await withSupervisor(open.configuration(), feed: FeedHub(source: nil, logger: testLogger())) { supervisor in
            _ = await supervisor.start([])
            #expect(await eventually { open.log("netprobe").contains("CONNECT") })
            #expect(open.log("netprobe").contains("CONNECTED"))
        }
    }
}

@Suite("A status read is a read", .serialized, .timeLimit(.minutes(2)))
struct StatusReadTests {
    @Test("status leaves out a deleted strategy but forgets nothing; forgetDeleted forgets it")
    func statusForgetsNothing() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("short_lived", script: "print('bye')\n", config: #"{"restart": {"policy": "never"}}"#)
        let store = InMemoryStrategyStore()
        try await withSupervisor(folder.configuration(), feed: FeedHub(source: nil, logger: testLogger()), store: store)
        { supervisor in
            #expect(await supervisor.start(["short_lived"]).first?.ok == true)
            #expect(
                await eventually { await supervisor.status().first { $0.name == "short_lived" }?.state == .stopped })
            try FileManager.default.removeItem(at: folder.strategies.appendingPathComponent("short_lived"))
            #expect(await supervisor.status().isEmpty)
            #expect(await store.loadAll().map(\.name) == ["short_lived"], "a status read changed nothing")
            await supervisor.forgetDeleted()
            #expect(await store.loadAll().isEmpty)
        }
    }
}

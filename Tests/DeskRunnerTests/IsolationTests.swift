import DeskMarketData
import DeskRunner
import DeskTestSupport
import Foundation
import Testing

/// Each test plays a hostile member: a real strategy, under the real sandbox
/// launcher, tries to escape it or reach another member's strategy. The desk
/// (this test process) runs as root, as it does in CI; each test has its own
/// uid range so that tests running side by side never share a uid.
@Suite("Isolation: hostile strategies under the real sandbox", .serialized, .timeLimit(.minutes(3)))
struct IsolationTests {
    init() throws {
        try #require(getuid() == 0, "these tests act across uids and need the desk to run as root (CI does)")
    }

    static func sandbox(base: UInt32) -> SandboxOptions { SandboxOptions(baseUID: base) }

    /// The lines of a strategy's log that start with `prefix`, without it.
    static func values(_ log: String, _ prefix: String) -> [String] {
        log.split(separator: "\n").filter { $0.hasPrefix(prefix + " ") }.map { String($0.dropFirst(prefix.count + 1)) }
    }

    @Test("config.json cannot set a loader variable; a preload library that gets in runs only as the strategy, inside")
    func preloadLibrary() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        // The attacker's library: run before main in every process that loads it.
        let library = folder.folder.url.appendingPathComponent("evil.so")
        let source = folder.folder.url.appendingPathComponent("evil.c")
        try """
        #include <stdio.h>
        #include <unistd.h>
        #include <fcntl.h>
        __attribute__((constructor)) static void evil(void) {
            char path[64];
            snprintf(path, sizeof path, "/proc/%d/environ", \(getpid()));
            int fd = open(path, O_RDONLY);
            fprintf(stderr, "PRELOAD uid=%d desk-environ=%s\\n", getuid(), fd >= 0 ? "READ" : "denied");
        }
        """.write(to: source, atomically: true, encoding: .utf8)
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/gcc")
        compiler.arguments = ["-shared", "-fPIC", "-o", library.path, source.path]
        try compiler.run()
        compiler.waitUntilExit()
        try #require(compiler.terminationStatus == 0, "gcc could not build the preload library")

        try folder.add(
            "preloader", script: "import sys\nprint('RAN', flush=True)\n",
            config: #"{"user_id": "mallory", "env": {"LD_PRELOAD": "\#(library.path)"}}"#)
        let feed = FeedHub(source: nil, logger: testLogger())
        var configuration = folder.configuration(sandbox: Self.sandbox(base: 63_000))
        configuration.restartOverride = RestartSettings(policy: .never)
        try await withSupervisor(configuration, feed: feed) { supervisor in
            try #require(supervisor.sandboxReport.problem == nil, "\(supervisor.sandboxReport.problem ?? "")")
            let result = try #require(await supervisor.start(["preloader"]).first)
            #expect(!result.ok)
            #expect(result.message.contains("LD_PRELOAD"))
            #expect(result.message.contains("dynamic loader"))
            #expect(!folder.log("preloader").contains("RAN"))
        }

        // Past config.json (a spec built by hand), the library still loads only
        // into the strategy's own process: unprivileged, and the desk invisible.
        let plan = SandboxPlan.probe(options: Self.sandbox(base: 63_000), python: "/usr/bin/python3", pythonPath: "")
        try #require(plan.report.problem == nil, "\(plan.report.problem ?? "")")
        // A uid of its own, claimed like a desk's (a fixed one could be another test's strategy).
        let uid = try await InMemoryStrategyUserStore().uid(for: "preloader", base: 63_010)
        let stage = try StrategyStage(root: folder.folder.url.appendingPathComponent("sandbox")).prepare(
            name: "preloader", from: folder.strategies.appendingPathComponent("preloader"),
            user: StrategyUser(uid: uid, gid: uid))
        try FileManager.default.copyItem(at: library, to: stage.app.appendingPathComponent("evil.so"))
        chmod(stage.app.appendingPathComponent("evil.so").path, 0o755)
        let log = StrategyLog(path: folder.logs.appendingPathComponent("direct.log").path, maxBytes: 1 << 20, keep: 1)
        let launch = LaunchSpec(
            name: "preloader", member: "mallory",
            program: ["/usr/bin/python3", "-s", "-u", stage.app.appendingPathComponent("strategy.py").path],
            workingDirectory: stage.app,
            environment: ["LD_PRELOAD": stage.app.appendingPathComponent("evil.so").path, "PATH": "/usr/bin:/bin"],
            limits: StrategyLimits(), log: log, user: StrategyUser(uid: uid, gid: uid), home: stage.home,
            hiddenPaths: [folder.strategies.path])
        let running = try await ProcessBackend(plan: plan).launch(launch)
        _ = await running.exitStatus()
        log.close()
        let output = folder.log("direct")
        let runs = Self.values(output, "PRELOAD")
        #expect(output.contains("RAN"), "\(output)")
        #expect(runs == ["uid=\(uid) desk-environ=denied"], "the library ran only in the strategy: \(output)")
    }

    @Test(
        "members' strategies get distinct uids (names that collided before) and cannot see, signal or read each other"
    )
    func neighbours() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add(
            "bob_trend",
            script: """
                import os, sys
                with open(os.path.join(os.environ["HOME"], "secret.txt"), "w") as f: f.write("bob's secret")
                print("UID", os.getuid(), flush=True)
                print("HOME", os.environ["HOME"], flush=True)
                print("TOKEN", os.environ["DESK_TOKEN"], flush=True)
                print("READY", flush=True)
                sys.stdin.read()
                """, config: #"{"user_id": "bob"}"#)
        try await withSupervisor(
            folder.configuration(sandbox: Self.sandbox(base: 63_100)), feed: FeedHub(source: nil, logger: testLogger())
        ) { supervisor in
            try #require(supervisor.sandboxReport.problem == nil, "\(supervisor.sandboxReport.problem ?? "")")
            _ = await supervisor.start(["bob_trend"])
            #expect(await eventually { folder.log("bob_trend").contains("READY") })
            let bobHome = try #require(Self.values(folder.log("bob_trend"), "HOME").first)
            let bobToken = try #require(Self.values(folder.log("bob_trend"), "TOKEN").first)
            let bobPid = try #require(await supervisor.status().first { $0.name == "bob_trend" }?.pid)
            // alice's strategy knows where bob's home is and what his pid is, and tries everything.
            try folder.add(
                "alice_1111",
                script: """
                    import os, signal, sys
                    print("UID", os.getuid(), flush=True)
                    print("PIDS", " ".join(sorted(p for p in os.listdir("/proc") if p.isdigit())), flush=True)
                    found = []
                    for p in os.listdir("/proc"):
                        if p.isdigit():
                            try:
                                if b"\(bobToken)" in open(f"/proc/{p}/environ", "rb").read(): found.append(p)
                            except OSError: pass
                    print("TOKEN-FOUND", found or "none", flush=True)
                    for name, action in [
                        ("home", lambda: os.listdir("\(bobHome)")),
                        ("secret", lambda: open("\(bobHome)/secret.txt").read()),
                        ("signal", lambda: os.kill(\(bobPid), signal.SIGTERM)),
                        ("strategies", lambda: os.listdir("\(folder.strategies.path)")),
                        ("logs", lambda: os.listdir("\(folder.logs.path)")),
                        ("bob-log", lambda: open("\(folder.logs.path)/bob_trend.log").read()),
                    ]:
                        try:
                            result = action()
                            print("ESCAPED", name, result, flush=True)
                        except OSError as error:
                            print("BLOCKED", name, type(error).__name__, flush=True)
                    sys.stdin.read()
                    """, config: #"{"user_id": "alice"}"#)
            _ = await supervisor.start(["alice_1111"])
            #expect(
                await eventually {
                    Self.values(folder.log("alice_1111"), "BLOCKED").count
                        + Self.values(folder.log("alice_1111"), "ESCAPED").count == 6
                })
            let alice = folder.log("alice_1111")
            #expect(Self.values(alice, "ESCAPED").isEmpty, "\(alice)")
            #expect(Self.values(alice, "TOKEN-FOUND") == ["none"], "\(alice)")
            #expect(Self.values(alice, "PIDS") == ["1 2"], "only its own init and itself: \(alice)")
            let uids = [Self.values(alice, "UID").first, Self.values(folder.log("bob_trend"), "UID").first]
            #expect(uids.compactMap { $0 }.count == 2)
            #expect(Set(uids).count == 2, "distinct uids: \(uids)")
            #expect(!uids.contains("0"))
            #expect(await supervisor.status().first { $0.name == "bob_trend" }?.state == .running)
        }
    }

    @Test("a usercustomize planted by one strategy runs neither in another one nor in itself after a restart")
    func plantedCode() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        let payload = "print('PWNED in', __import__('os').environ.get('STRATEGY_NAME'), flush=True)\\n"
        try folder.add(
            "planter",
            script: """
                import os, site, sys
                print("NO-USER-SITE", sys.flags.no_user_site, flush=True)
                for folder in {site.getusersitepackages(), os.path.join(os.environ["HOME"], ".local/lib/python3.11/site-packages"), "/tmp"}:
                    try:
                        os.makedirs(folder, exist_ok=True)
                        for name in ("usercustomize.py", "sitecustomize.py"):
                            with open(os.path.join(folder, name), "w") as f: f.write("\(payload)")
                        print("PLANTED", folder, flush=True)
                    except OSError as error:
                        print("COULD NOT PLANT", folder, error, flush=True)
                print("DONE", flush=True)
                sys.stdin.read()
                """, config: #"{"user_id": "mallory"}"#)
        try folder.add(
            "victim",
            script: """
                import os, sys
                site = sys.modules.get("sitecustomize")
                print("MODULES", "usercustomize" in sys.modules, getattr(site, "__file__", "-").startswith("/tmp"), flush=True)
                print("TMP", [n for n in os.listdir("/tmp") if n.endswith(".py")], flush=True)
                sys.stdin.read()
                """, config: #"{"user_id": "victor"}"#)
        try await withSupervisor(
            folder.configuration(sandbox: Self.sandbox(base: 63_200)), feed: FeedHub(source: nil, logger: testLogger())
        ) { supervisor in
            try #require(supervisor.sandboxReport.problem == nil, "\(supervisor.sandboxReport.problem ?? "")")
            _ = await supervisor.start(["planter"])
            #expect(await eventually { folder.log("planter").contains("DONE") })
            #expect(Self.values(folder.log("planter"), "PLANTED").count >= 2, "\(folder.log("planter"))")
            #expect(Self.values(folder.log("planter"), "NO-USER-SITE") == ["1"])
            _ = await supervisor.start(["victim"])
            #expect(await eventually { Self.values(folder.log("victim"), "MODULES").count == 1 })
            _ = await supervisor.restart(["planter", "victim"])
            #expect(
                await eventually { Self.values(folder.log("victim"), "MODULES").count == 2 },
                "\(folder.log("victim"))\n\(folder.log("planter"))")
            #expect(await eventually { folder.log("planter").components(separatedBy: "DONE").count == 3 })
        }
        for name in ["planter", "victim"] {
            #expect(!folder.log(name).contains("PWNED"), "\(folder.log(name))")
        }
        #expect(Self.values(folder.log("victim"), "MODULES") == ["False False", "False False"])
        #expect(Self.values(folder.log("victim"), "TMP") == ["[]", "[]"], "a private /tmp each time")
    }

    @Test("clean signal mask; SIGTERM handlers run; several strategies stop at once; a SIGTERM-ignoring one is killed")
    func signalsAndStops() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        let polite = """
            import signal, sys, time
            status = open("/proc/self/status").read().splitlines()
            print("MASK", [l.split()[1] for l in status if l.startswith("SigBlk")][0], flush=True)
            def leave(number, frame):
                print("TERM", time.monotonic(), flush=True)
                time.sleep(1.0)
                print("BYE", time.monotonic(), flush=True)
                sys.exit(0)
            signal.signal(signal.SIGTERM, leave)
            print("READY", flush=True)
            for line in sys.stdin: pass
            time.sleep(60)
            """
        for name in ["one", "two", "three"] { try folder.add(name, script: polite) }
        try folder.add(
            "stubborn",
            script:
                "import signal, sys, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('READY', flush=True)\nsys.stdin.read()\ntime.sleep(60)\n"
        )
        var configuration = folder.configuration(sandbox: Self.sandbox(base: 63_300))
        configuration.stopGrace = .seconds(3)
        try await withSupervisor(configuration, feed: FeedHub(source: nil, logger: testLogger())) { supervisor in
            try #require(supervisor.sandboxReport.problem == nil, "\(supervisor.sandboxReport.problem ?? "")")
            _ = await supervisor.start([])
            for name in ["one", "two", "three", "stubborn"] {
                #expect(await eventually { folder.log(name).contains("READY") })
            }
            let results = await supervisor.stop([])
            #expect(results.count == 4 && results.allSatisfy(\.ok))
            for name in ["one", "two", "three"] {
                #expect(Self.values(folder.log(name), "MASK") == ["0000000000000000"])
                #expect(
                    await eventually { await supervisor.status().first { $0.name == name }?.lastExit == "exit code 0" },
                    "\(folder.log(name))")
            }
            #expect(
                await eventually {
                    await supervisor.status().first { $0.name == "stubborn" }?.lastExit?.hasPrefix("killed by signal 9")
                        == true
                })
            // All at once: every strategy had SIGTERM before any of them finished its handler.
            let terms = ["one", "two", "three"].compactMap { Double(Self.values(folder.log($0), "TERM").first ?? "") }
            let byes = ["one", "two", "three"].compactMap { Double(Self.values(folder.log($0), "BYE").first ?? "") }
            #expect(terms.count == 3 && byes.count == 3)
            #expect((terms.max() ?? .infinity) < (byes.min() ?? 0), "terms \(terms), byes \(byes)")
        }
    }

    @Test("a checkout in a 0700 folder: the strategy runs as its own uid, imports from it, and sees nothing else of it")
    func privateCheckout() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        let checkout = folder.folder.url
        chmod(checkout.path, 0o700)
        let library = checkout.appendingPathComponent("clients/python")
        try FileManager.default.createDirectory(at: library, withIntermediateDirectories: true)
        try "GREETING = 'hello from the checkout'\n".write(
            to: library.appendingPathComponent("desk_probe.py"), atomically: true, encoding: .utf8)
        chmod(library.path, 0o755)
        chmod(library.appendingPathComponent("desk_probe.py").path, 0o644)
        let ledger = checkout.appendingPathComponent("trading_desk.db")
        try "every member's orders".write(to: ledger, atomically: true, encoding: .utf8)
        chmod(ledger.path, 0o644)
        try folder.add(
            "reader",
            script: """
                import os, sys
                import desk_probe
                print("UID", os.getuid(), flush=True)
                print("IMPORTED", desk_probe.GREETING, flush=True)
                try:
                    print("LEDGER", open("\(ledger.path)").read(), flush=True)
                except OSError as error:
                    print("LEDGER", type(error).__name__, flush=True)
                print("CHECKOUT", sorted(os.listdir("\(checkout.path)")), flush=True)
                sys.stdin.read()
                """)
        var configuration = folder.configuration(sandbox: Self.sandbox(base: 63_400))
        configuration.pythonPath = library.path
        configuration.sandbox.protectedPaths = [checkout.path]
        try await withSupervisor(configuration, feed: FeedHub(source: nil, logger: testLogger())) { supervisor in
            try #require(supervisor.sandboxReport.problem == nil, "\(supervisor.sandboxReport.problem ?? "")")
            _ = await supervisor.start(["reader"])
            #expect(await eventually { folder.log("reader").contains("CHECKOUT") }, "\(folder.log("reader"))")
            let log = folder.log("reader")
            #expect(Self.values(log, "UID").first.flatMap { UInt32($0) }.map { $0 >= 63_400 } == true, "\(log)")
            #expect(Self.values(log, "IMPORTED") == ["hello from the checkout"])
            #expect(Self.values(log, "LEDGER") == ["FileNotFoundError"])
            // Only the paths leading to what it needs: the library and its own sandbox corner.
            #expect(Self.values(log, "CHECKOUT") == ["['clients', 'sandbox']"], "\(log)")
        }
    }

    @Test("a sandbox left running under a strategy's uid by an earlier run is ended before the strategy starts again")
    func leftovers() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("lingerer", script: "import sys\nprint('READY', flush=True)\nsys.stdin.read()\n")
        let users = InMemoryStrategyUserStore()
        let uid = try await users.uid(for: "lingerer", base: 63_500)
        // An earlier run's sandbox, still running: its desk was killed before it could stop it.
        let plan = SandboxPlan.probe(options: Self.sandbox(base: 63_500), python: "/usr/bin/python3", pythonPath: "")
        try #require(plan.report.problem == nil, "\(plan.report.problem ?? "")")
        let user = StrategyUser(uid: uid, gid: uid)
        let stage = try StrategyStage(root: folder.folder.url.appendingPathComponent("sandbox")).prepare(
            name: "lingerer", from: folder.strategies.appendingPathComponent("lingerer"), user: user)
        try FileManager.default.createDirectory(at: folder.logs, withIntermediateDirectories: true)
        let earlierLog = StrategyLog(path: folder.logs.appendingPathComponent("earlier.log").path)
        let earlier = try await ProcessBackend(plan: plan).launch(
            LaunchSpec(
                name: "lingerer", member: "lingerer",
                program: ["/usr/bin/python3", "-s", "-u", stage.app.appendingPathComponent("strategy.py").path],
                workingDirectory: stage.app, environment: ["PATH": "/usr/bin:/bin"], limits: StrategyLimits(),
                log: earlierLog, user: user, home: stage.home, hiddenPaths: [folder.strategies.path]))
        #expect(await eventually { folder.log("earlier").contains("READY") })
        let supervisor = Supervisor(
            configuration: folder.configuration(sandbox: Self.sandbox(base: 63_500)),
            feed: FeedHub(source: nil, logger: testLogger()), credentials: RecordingCredentials(),
            store: InMemoryStrategyStore(), users: users, logger: testLogger())
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await supervisor.run() }
            _ = await supervisor.start(["lingerer"])
            #expect(await eventually { folder.log("lingerer").contains("READY") })
            #expect(await eventually(within: 5) { !isAlive(earlier.pid) })
            #expect(folder.log("lingerer").contains("left running as uid \(uid)"))
            group.cancelAll()
        }
        await earlier.stop(grace: .zero)
    }

    @Test(
        "a strategy filling HOME, /tmp, /var/tmp, /dev/shm and stdout stops at its own disk; the desk and a neighbour go on"
    )
    func diskFiller() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add(
            "filler",
            script: """
                import os, signal, sys
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                chunk = b"x" * (1 << 20)
                for place in (os.environ["HOME"], "/tmp", "/var/tmp", "/dev/shm"):
                    written = 0
                    try:
                        with open(os.path.join(place, "fill"), "wb", buffering=0) as f:
                            while written < (64 << 20):
                                written += f.write(chunk)
                        print("WROTE", place, written, flush=True)
                    except OSError as error:
                        print("STOPPED", place, written, error.errno, flush=True)
                print("DONE", flush=True)
                for _ in range(12):
                    sys.stdout.write("y" * (1 << 20))
                sys.stdout.flush()
                print("\\nFLOODED", flush=True)
                sys.stdin.read()
                """, config: #"{"user_id": "mallory", "limits": {"disk": "8m"}}"#)
        try folder.add("neighbour", script: echoStrategy, config: #"{"user_id": "bob"}"#)
        let feed = FeedHub(source: nil, logger: testLogger())
        var configuration = folder.configuration(sandbox: Self.sandbox(base: 64_100))
        configuration.logMaxBytes = 4 << 20
        configuration.logKeep = 5
        /// Every line of its log files, the rotated ones included (without the flood).
        @Sendable func lines() -> String {
            let files = ["", ".5", ".4", ".3", ".2", ".1"].reversed().map {
                folder.logs.appendingPathComponent("filler.log\($0)")
            }
            let text = files.compactMap { try? String(contentsOf: $0, encoding: .utf8) }.joined()
            return text.split(separator: "\n").filter { !$0.hasPrefix("yyyy") }.joined(separator: "\n")
        }
        try await withSupervisor(configuration, feed: feed) { supervisor in
            try #require(supervisor.sandboxReport.problem == nil, "\(supervisor.sandboxReport.problem ?? "")")
            _ = await supervisor.start(["neighbour", "filler"])
            #expect(await eventually(within: 60) { lines().contains("FLOODED") }, "\(lines().prefix(2000))")
            let stopped = Self.values(lines(), "STOPPED")
            #expect(stopped.count == 4, "every place ends at the limit: \(lines().prefix(2000))")
            let total = stopped.compactMap { Int($0.split(separator: " ")[1]) }.reduce(0, +)
            #expect(total <= 8 << 20, "all four places share one 8 MiB disk: \(stopped)")
            // Nothing of it reached the desk's own disk.
            let home = folder.folder.url.appendingPathComponent("sandbox/filler/home")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: home.path)) == [])
            feed.publish(Tick(symbol: "AAPL", price: 7, at: Date()))
            #expect(await eventually { folder.log("neighbour").contains("GOT AAPL 7") })
            let states = await supervisor.status()
            #expect(states.allSatisfy { $0.state == .running }, "\(states)")
        }
        let logs = try FileManager.default.contentsOfDirectory(atPath: folder.logs.path).filter {
            $0.hasPrefix("filler")
        }
        for name in logs {
            let size =
                try FileManager.default.attributesOfItem(atPath: folder.logs.appendingPathComponent(name).path)[
                    .size] as? Int ?? 0
            #expect(size <= (4 << 20) + (1 << 20), "\(name): \(size) bytes")
        }
    }

    @Test(
        "only an allow-list of the host is shown: no host socket (under /run, /tmp, /var) is reachable and no folder is shared"
    )
    func hostPaths() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        let tag = UUID().uuidString.prefix(8)
        let baitFolders = ["/run", "/var/tmp", "/tmp", "/var/lib"].map { "\($0)/desk-bait-\(tag)" }
        let sockets = baitFolders.map { "\($0)/bait.sock" }
        for bait in baitFolders {
            try FileManager.default.createDirectory(
                atPath: bait, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        defer { for bait in baitFolders { try? FileManager.default.removeItem(atPath: bait) } }
        // The bait: 0666 sockets on the host, listening (a connect succeeds without an accept).
        var listeners: [Int32] = []
        defer { for fd in listeners { close(fd) } }
        for path in sockets {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            try #require(bound == 0 && listen(fd, 8) == 0 && chmod(path, 0o666) == 0, "bait \(path)")
            listeners.append(fd)
        }
        let shared = ["/run/lock", "/var/lock", "/dev/shm", "/tmp", "/var/tmp", "/run/user", "/run", "/dev/mqueue"]
        let probe = """
            import os, socket, sys
            for path in \(sockets):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.settimeout(2)
                    s.connect(path)
                    print("REACHED", path, flush=True)
                except OSError as error:
                    print("BLOCKED", path, type(error).__name__, flush=True)
            mine = os.environ["STRATEGY_NAME"]
            for place in \(shared):
                try:
                    with open(os.path.join(place, "note-" + mine), "w") as f: f.write(mine)
                    print("WROTE", place, flush=True)
                except OSError as error:
                    print("COULD-NOT", place, type(error).__name__, flush=True)
                try:
                    found = sorted(n for n in os.listdir(place) if n.startswith("note-") and n != "note-" + mine)
                    if found: print("FOUND", place, found, flush=True)
                except OSError:
                    pass
            for place in ("/run", "/var", "/home", "/mnt", "/srv", "/opt", "/sys"):
                try: print("LISTS", place, sorted(os.listdir(place)), flush=True)
                except OSError as error: print("LISTS", place, type(error).__name__, flush=True)
            print("DONE", flush=True)
            sys.stdin.read()
            """
        try folder.add("alice_probe", script: probe, config: #"{"user_id": "alice"}"#)
        try folder.add("bob_probe", script: probe, config: #"{"user_id": "bob"}"#)
        try await withSupervisor(
            folder.configuration(sandbox: Self.sandbox(base: 64_200)), feed: FeedHub(source: nil, logger: testLogger())
        ) { supervisor in
            try #require(supervisor.sandboxReport.problem == nil, "\(supervisor.sandboxReport.problem ?? "")")
            _ = await supervisor.start(["alice_probe"])
            #expect(await eventually { folder.log("alice_probe").contains("DONE") }, "\(folder.log("alice_probe"))")
            _ = await supervisor.start(["bob_probe"])
            #expect(await eventually { folder.log("bob_probe").contains("DONE") }, "\(folder.log("bob_probe"))")
            for name in ["alice_probe", "bob_probe"] {
                let log = folder.log(name)
                #expect(Self.values(log, "REACHED").isEmpty, "\(log)")
                #expect(Self.values(log, "BLOCKED").count == sockets.count, "\(log)")
                #expect(Self.values(log, "FOUND").isEmpty, "another member's file: \(log)")
                // The host's folders are empty covers (its /var only holds the private /var/tmp).
                #expect(
                    Self.values(log, "LISTS") == [
                        "/run []", "/var ['tmp']", "/home []", "/mnt []", "/srv []", "/opt []", "/sys []",
                    ], "\(log)")
            }
        }
        // Nothing written inside reached the host.
        for place in shared {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: place)) ?? []
            #expect(!names.contains { $0.hasPrefix("note-alice_probe") || $0.hasPrefix("note-bob_probe") }, "\(place)")
        }
    }

    @Test("a process of a strategy's uid that the desk did not start survives the strategy's starts and stops")
    func strangerOfTheSameUID() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add(
            "tenant", script: "import os, sys\nprint('UID', os.getuid(), flush=True)\nsys.stdin.read()\n",
            config: #"{"user_id": "alice"}"#)
        try await withSupervisor(
            folder.configuration(sandbox: Self.sandbox(base: 64_300)), feed: FeedHub(source: nil, logger: testLogger())
        ) { supervisor in
            try #require(supervisor.sandboxReport.problem == nil, "\(supervisor.sandboxReport.problem ?? "")")
            _ = await supervisor.start(["tenant"])
            #expect(await eventually { !Self.values(folder.log("tenant"), "UID").isEmpty })
            let uid = try #require(Self.values(folder.log("tenant"), "UID").first)
            _ = await supervisor.stop(["tenant"])
            // Someone else's process that happens to run as that uid (a host service, another tool).
            let stranger = Process()
            stranger.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            stranger.arguments = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--", "/bin/sleep", "60"]
            try stranger.run()
            defer {
                kill(stranger.processIdentifier, SIGKILL)
                stranger.waitUntilExit()
            }
            #expect(await eventually { ProcessBackendProbe.uid(of: stranger.processIdentifier) == uid })
            _ = await supervisor.start(["tenant"])
            #expect(await eventually { Self.values(folder.log("tenant"), "UID").count == 2 })
            _ = await supervisor.stop(["tenant"])
            #expect(isAlive(stranger.processIdentifier), "the desk killed a process it did not start")
        }
    }

    @Test("a deploy/start/delete loop reuses uids; a range runs out with a clear refusal, never into system ids")
    func uidsAreReused() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        let script = "import os, sys\nprint('UID', os.getuid(), flush=True)\nsys.stdin.read()\n"
        var options = Self.sandbox(base: 64_400)
        options.uidCount = 2
        // Claims of this test's own (an earlier run's claims of these two uids would look like another desk's).
        let claims = UIDClaims(folder: folder.folder.url.appendingPathComponent("claims"))
        try await withSupervisor(
            folder.configuration(sandbox: options), feed: FeedHub(source: nil, logger: testLogger()),
            users: InMemoryStrategyUserStore(claims: claims)
        ) { supervisor in
            try #require(supervisor.sandboxReport.problem == nil, "\(supervisor.sandboxReport.problem ?? "")")
            var uids: [String] = []
            for round in 0..<12 {
                let name = "tenant_\(round)"
                try folder.add(name, script: script, config: #"{"user_id": "alice"}"#)
                _ = await supervisor.start([name])
                #expect(await eventually { !Self.values(folder.log(name), "UID").isEmpty }, "\(folder.log(name))")
                uids += Self.values(folder.log(name), "UID")
                _ = await supervisor.stop([name])
                try FileManager.default.removeItem(at: folder.strategies.appendingPathComponent(name))
                await supervisor.forgetDeleted()  // forgets it, and gives its uid back
            }
            #expect(uids.count == 12)
            #expect(Set(uids).count == 1, "a deleted strategy's uid is given again: \(Set(uids).sorted())")
            // Two uids for three strategies: the third is refused, saying why.
            for name in ["one", "two", "three"] {
                try folder.add(name, script: script, config: #"{"user_id": "alice"}"#)
                _ = await supervisor.start([name])
                #expect(
                    await eventually {
                        let state = await supervisor.status().first { $0.name == name }?.state
                        return state == .running || state == .failed
                    })
            }
            let states = await supervisor.status()
            #expect(states.filter { $0.state == .running }.count == 2, "\(states)")
            let refused = try #require(states.first { $0.state == .failed })
            #expect(refused.failure?.contains("every strategy uid from 64400 to 64401 is taken") == true, "\(refused)")
        }
    }
}

@Suite("The supervisor's answers about strategies that are not there or cannot run", .serialized)
struct SupervisorAnswerTests {
    @Test("start of a missing folder names the folder; a deleted folder leaves status")
    func missingAndDeleted() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("short_lived", script: "print('bye')\n", config: #"{"restart": {"policy": "never"}}"#)
        try await withSupervisor(folder.configuration(), feed: FeedHub(source: nil, logger: testLogger())) {
            supervisor in
            let missing = try #require(await supervisor.start(["nosuch"]).first)
            #expect(!missing.ok)
            #expect(missing.message == "no strategy folder nosuch in \(folder.strategies.path)")
            #expect(await supervisor.start(["short_lived"]).first?.ok == true)
            #expect(
                await eventually { await supervisor.status().first { $0.name == "short_lived" }?.state == .stopped })
            try FileManager.default.removeItem(at: folder.strategies.appendingPathComponent("short_lived"))
            #expect(await supervisor.status().isEmpty, "a deleted strategy that no longer runs is forgotten")
        }
    }

    @Test(
        "when the sandbox cannot be built no strategy starts, never falling back to root, and the reason names what failed",
        arguments: [
            (SandboxOptions(launcher: "/nonexistent/desk-sandbox"), "", "/nonexistent/desk-sandbox"),
            (SandboxOptions(baseUID: 63_700), "/nonexistent/site-packages", "/nonexistent/site-packages"),
        ])
    func noFallback(options: SandboxOptions, pythonPath: String, named: String) async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("hopeful", script: "import os\nprint('RAN AS', os.getuid(), flush=True)\n")
        var configuration = folder.configuration(sandbox: options)
        configuration.pythonPath = pythonPath
        try await withSupervisor(configuration, feed: FeedHub(source: nil, logger: testLogger())) { supervisor in
            let problem = try #require(supervisor.sandboxReport.problem)
            #expect(problem.contains(named), "\(problem)")
            _ = await supervisor.start(["hopeful"])
            #expect(await eventually { await supervisor.status().first?.state == .failed })
            let failure = await supervisor.status().first?.failure ?? ""
            #expect(failure.contains("the sandbox cannot be built") && failure.contains(named), "\(failure)")
            #expect(failure.contains("--no-sandbox"))
            #expect(!folder.log("hopeful").contains("RAN AS"))
        }
    }
}

/// Reads a process's real uid from /proc.
enum ProcessBackendProbe {
    static func uid(of pid: Int32) -> String? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") })
        else { return nil }
        return line.split(whereSeparator: \.isWhitespace).dropFirst().first.map(String.init)
    }
}

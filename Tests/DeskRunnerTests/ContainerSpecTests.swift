import DeskRunner
import Testing

@Suite("The container spec: config → docker run, without an engine")
struct ContainerSpecTests {
    static let socketMode = DockerSettings(
        docker: "/usr/bin/docker", network: .none(deskSocket: "/srv/desk/desk.sock"), instance: "0123456789abcdef",
        clientEnvironment: ["DOCKER_HOST": "unix:///run/other.sock", "DOCKER_CONFIG": "/root/.docker"])
    static let tcpMode = DockerSettings(
        image: "club/strategy:2", network: .named("trading-desk-network", deskURL: "http://desk:8080"),
        instance: "feedfacefeedface", logMaxSize: "5m", logMaxFiles: 2)
    static let environment = [
        "DESK_SERVER_URL": "unix:///srv/desk/desk.sock", "DESK_TOKEN": "secret-token", "USER_ID": "alice",
        "STRATEGY_NAME": "example_alice", "PYTHONPATH": "/work/.venv/strategy-site", "RUN_LENGTH": "3",
    ]

    static func spec(
        _ settings: DockerSettings = socketMode, environment: [String: String] = environment,
        limits: StrategyLimits = StrategyLimits(), folder: String = "/srv/strategies/example_alice"
    ) throws -> ContainerSpec {
        try ContainerSpec.make(
            name: "example_alice", member: "alice", folder: folder, environment: environment, limits: limits,
            settings: settings
        ).get()
    }

    /// The value after each occurrence of `flag`.
    static func values(_ flag: String, in arguments: [String]) -> [String] {
        arguments.indices.filter { arguments[$0] == flag && $0 + 1 < arguments.count }.map { arguments[$0 + 1] }
    }

    @Test("name, image, command, stdin attached, never pulled, run from the read-only folder")
    func shape() throws {
        let spec = try Self.spec()
        #expect(spec.name == "strategy-example_alice")
        #expect(Array(spec.arguments.prefix(2)) == ["run", "--interactive"])
        #expect(Self.values("--name", in: spec.arguments) == ["strategy-example_alice"])
        #expect(Self.values("--pull", in: spec.arguments) == ["never"])
        #expect(
            Array(spec.arguments.suffix(5)) == [
                "trading-desk-strategy", "python", "-s", "-u", "/app/strategy/strategy.py",
            ])
        #expect(Self.values("--workdir", in: spec.arguments) == ["/app/strategy"])
        #expect(
            Self.values("--mount", in: spec.arguments).first
                == "type=bind,source=/srv/strategies/example_alice,target=/app/strategy,readonly")
        #expect(!spec.arguments.contains("--rm"), "the backend removes it after reading its exit (out of memory)")
        #expect(!spec.arguments.contains("--privileged"))
        #expect(Self.values("--cap-drop", in: spec.arguments) == ["ALL"])
        #expect(spec.arguments.contains("--read-only"))
        #expect(spec.arguments.contains("--init"))
    }

    @Test("its own user and socket group, a private HOME of its own, no user site-packages")
    func userAndHome() throws {
        let spec = try ContainerSpec.make(
            name: "example_alice", member: "alice", folder: "/srv/sandbox/example_alice/app",
            environment: Self.environment, limits: StrategyLimits(), settings: Self.socketMode,
            user: StrategyUser(uid: 61_004, gid: 61_004, groups: [60_999])
        ).get()
        #expect(Self.values("--user", in: spec.arguments) == ["61004:61004"])
        #expect(Self.values("--group-add", in: spec.arguments) == ["60999"])
        // HOME is a tmpfs of the strategy's disk (256 MiB by default), its user's alone; no host folder.
        #expect(
            Self.values("--tmpfs", in: spec.arguments).contains(
                "/home/strategy:rw,nosuid,nodev,size=268435456,uid=61004,gid=61004,mode=0700"))
        #expect(!Self.values("--mount", in: spec.arguments).contains { $0.contains("/home/strategy") })
        let small = try ContainerSpec.make(
            name: "example_alice", member: "alice", folder: "/srv/sandbox/example_alice/app",
            environment: Self.environment, limits: StrategyLimits(diskBytes: 8 << 20), settings: Self.socketMode,
            user: StrategyUser(uid: 61_004, gid: 61_004)
        ).get()
        #expect(
            Self.values("--tmpfs", in: small.arguments).contains(
                "/home/strategy:rw,nosuid,nodev,size=8388608,uid=61004,gid=61004,mode=0700"))
        #expect(spec.containerEnvironment["HOME"] == "/home/strategy")
        #expect(spec.containerEnvironment["TMPDIR"] == "/tmp")
        #expect(spec.containerEnvironment["PYTHONNOUSERSITE"] == "1")
        let imageUser = try Self.spec()
        #expect(Self.values("--user", in: imageUser.arguments).isEmpty, "the image's own user (10001)")
        #expect(imageUser.containerEnvironment["HOME"] == "/tmp", "HOME in the container's private /tmp")
    }

    @Test(
        "network mode: none with the desk's socket mounted, or a named network with the desk's TCP URL",
        arguments: [
            (
                socketMode, "none", "unix:///run/desk/desk.sock",
                ["type=bind,source=/srv/desk/desk.sock,target=/run/desk/desk.sock,readonly"]
            ),
            (tcpMode, "trading-desk-network", "http://desk:8080", []),
        ] as [(DockerSettings, String, String, [String])])
    func network(settings: DockerSettings, network: String, url: String, socketMounts: [String]) throws {
        let spec = try Self.spec(settings)
        #expect(Self.values("--network", in: spec.arguments) == [network])
        #expect(spec.containerEnvironment["DESK_SERVER_URL"] == url)
        #expect(Array(Self.values("--mount", in: spec.arguments).dropFirst()) == socketMounts)
    }

    @Test("labels name the strategy, its member and the desk that started it")
    func labels() throws {
        #expect(
            Self.values("--label", in: try Self.spec().arguments) == [
                "desk.strategy=example_alice", "desk.member=alice", "desk.instance=0123456789abcdef",
            ])
        #expect(
            Self.values("--label", in: try Self.spec(Self.tcpMode).arguments).last == "desk.instance=feedfacefeedface")
    }

    @Test(
        "limits: config.json's, else 512m and half a CPU; no swap beyond the memory limit",
        arguments: [
            (
                StrategyLimits(), ["536870912"], ["0.5"], ["64"],
                ["nofile=256:256", "cpu=86400:86400"]
            ),
            (
                StrategyLimits(memoryBytes: 64 << 20, cpuSeconds: 30, maxProcesses: 8, openFiles: 32, cpus: 2),
                ["67108864"], ["2"], ["8"], ["nofile=32:32", "cpu=30:30"]
            ),
            (StrategyLimits(cpus: 1.25), ["536870912"], ["1.25"], ["64"], ["nofile=256:256", "cpu=86400:86400"]),
        ] as [(StrategyLimits, [String], [String], [String], [String])])
    func limits(limits: StrategyLimits, memory: [String], cpus: [String], pids: [String], ulimits: [String]) throws {
        let arguments = try Self.spec(limits: limits).arguments
        #expect(Self.values("--memory", in: arguments) == memory)
        #expect(Self.values("--memory-swap", in: arguments) == memory)
        #expect(Self.values("--cpus", in: arguments) == cpus)
        #expect(Self.values("--pids-limit", in: arguments) == pids)
        #expect(Self.values("--ulimit", in: arguments) == ulimits)
    }

    @Test("log rotation in the engine: json-file with the settings' size and count")
    func logOptions() throws {
        #expect(Self.values("--log-driver", in: try Self.spec().arguments) == ["json-file"])
        #expect(Self.values("--log-opt", in: try Self.spec().arguments) == ["max-size=10m", "max-file=3"])
        #expect(Self.values("--log-opt", in: try Self.spec(Self.tcpMode).arguments) == ["max-size=5m", "max-file=2"])
    }

    @Test("env: passed by name only; values reach the docker CLI's environment, host-only variables stay out")
    func environment() throws {
        let spec = try Self.spec()
        #expect(
            Self.values("--env", in: spec.arguments) == [
                "DESK_SERVER_URL", "DESK_TOKEN", "HOME", "PYTHONNOUSERSITE", "RUN_LENGTH", "STRATEGY_NAME", "TMPDIR",
                "USER_ID",
            ])
        #expect(!spec.arguments.contains { $0.contains("secret-token") }, "a token in argv is visible in ps")
        #expect(spec.containerEnvironment["PYTHONPATH"] == nil)
        #expect(spec.containerEnvironment["DESK_TOKEN"] == "secret-token")
        #expect(spec.clientEnvironment["DESK_TOKEN"] == "secret-token")
        #expect(spec.clientEnvironment["DESK_SERVER_URL"] == "unix:///run/desk/desk.sock")
        #expect(spec.clientEnvironment["DOCKER_HOST"] == "unix:///run/other.sock")
        #expect(spec.containerEnvironment["DOCKER_HOST"] == nil)
    }

    @Test("a DOCKER_* variable in config env is refused: it would steer the desk's docker CLI")
    func dockerVariablesRefused() {
        let result = ContainerSpec.make(
            name: "x", member: "m", folder: "/s/x", environment: ["DOCKER_HOST": "tcp://evil:2375"],
            limits: StrategyLimits(), settings: Self.socketMode)
        guard case .failure(let problem) = result else {
            Issue.record("expected a problem")
            return
        }
        #expect(problem.message.contains("DOCKER_HOST"))
        #expect(problem.message.contains("rename"))
    }

    @Test(
        "mount sources with commas or quotes are quoted for --mount's CSV syntax",
        arguments: [
            ("/srv/a,b/x", "type=bind,\"source=/srv/a,b/x\",target=/app/strategy,readonly"),
            ("/srv/\"q\"/x", "type=bind,\"source=/srv/\"\"q\"\"/x\",target=/app/strategy,readonly"),
        ])
    func mountQuoting(folder: String, mount: String) throws {
        #expect(Self.values("--mount", in: try Self.spec(folder: folder).arguments).first == mount)
    }

    @Test("the docker CLI's settings come from the desk's environment; broker keys never do")
    func clientEnvironment() {
        let desk = [
            "DOCKER_HOST": "unix:///tmp/e2e/docker.sock", "HOME": "/home/desk", "APCA_API_KEY_ID": "PK",
            "APCA_API_SECRET_KEY": "sk", "PATH": "/usr/bin",
        ]
        #expect(
            DockerSettings.clientEnvironment(from: desk) == [
                "DOCKER_HOST": "unix:///tmp/e2e/docker.sock", "DOCKER_CONFIG": "/home/desk/.docker",
            ])
        #expect(
            DockerSettings.clientEnvironment(from: ["DOCKER_CONFIG": "/etc/docker-cli"]) == [
                "DOCKER_CONFIG": "/etc/docker-cli"
            ])
    }

    @Test("the instance label is stable per ledger path and differs between ledgers")
    func instance() {
        let one = DockerSettings.instance(forLedgerPath: "/srv/desk/desk.db")
        #expect(one == DockerSettings.instance(forLedgerPath: "/srv/desk/desk.db"))
        #expect(one != DockerSettings.instance(forLedgerPath: "/srv/other/desk.db"))
        #expect(one.count == 16)
    }

    @Test(
        "how a container ended: the engine's state when it has one, else docker run's exit",
        arguments: [
            (StrategyExit.exited(137), "137 true\n", StrategyExit.outOfMemory),
            (.exited(137), "137 false\n", .signaled(9)),
            (.exited(143), "143 false", .signaled(15)),
            (.exited(0), "0 false\n", .exited(0)),
            (.exited(3), "3 false\n", .exited(3)),
            (.exited(125), nil, .exited(125)),
            (.exited(1), "garbage", .exited(1)),
        ] as [(StrategyExit, String?, StrategyExit)])
    func exits(cli: StrategyExit, state: String?, expected: StrategyExit) {
        #expect(ContainerCommands.exit(cli: cli, state: state) == expected)
    }

    @Test("the other docker commands")
    func commands() {
        #expect(
            ContainerCommands.ownContainers(instance: "abc") == [
                "ps", "--all", "--filter", "label=desk.instance=abc", "--format", "{{.Names}}",
            ])
        #expect(
            ContainerCommands.owner(of: "strategy-a") == [
                "ps", "--all", "--filter", "name=^strategy-a$", "--format", "{{.Label \"desk.instance\"}}",
            ])
        #expect(ContainerCommands.stop("strategy-a", grace: .seconds(5)) == ["stop", "--time", "5", "strategy-a"])
        #expect(
            ContainerCommands.stop("strategy-a", grace: .milliseconds(1500)) == ["stop", "--time", "2", "strategy-a"])
        #expect(ContainerCommands.remove(["a", "b"]) == ["rm", "--force", "a", "b"])
        #expect(ContainerCommands.lines(" a\n\nb \n") == ["a", "b"])
    }
}

import DeskApp
import DeskAppTestSupport
import DeskRunner
import Testing

@Suite("Choosing the strategy runtime and Docker settings")
struct RuntimeSettingsTests {
    static func resolve(_ arguments: [String], _ environment: [String: String]) -> Result<
        SupervisorConfiguration?, ServeRefusal
    > {
        serveConfiguration(
            ["--strategies-dir", "/srv/strategies", "--db", "/srv/desk/desk.db"] + arguments, environment
        )
        .map(\.runtime)
    }

    @Test(
        "--runtime / DESK_RUNTIME, --docker-network / NETWORK_NAME and the desk URL containers use",
        arguments: [
            ([], [:], StrategyRuntime.process, ContainerNetwork.none(deskSocket: "/srv/desk/desk.sock")),
            (["--runtime", "docker"], [:], .docker, .none(deskSocket: "/srv/desk/desk.sock")),
            ([], ["DESK_RUNTIME": "docker"], .docker, .none(deskSocket: "/srv/desk/desk.sock")),
            (["--runtime", "process"], ["DESK_RUNTIME": "docker"], .process, .none(deskSocket: "/srv/desk/desk.sock")),
            (["--unix-socket", "/run/d.sock"], [:], .process, .none(deskSocket: "/run/d.sock")),
            ([], ["NETWORK_NAME": "none"], .process, .none(deskSocket: "/srv/desk/desk.sock")),
            (
                ["--docker-network", "trading-desk-network", "--docker-desk-url", "http://desk:8080"], [:], .process,
                .named("trading-desk-network", deskURL: "http://desk:8080")
            ),
            (
                [], ["NETWORK_NAME": "club", "DESK_CONTAINER_URL": "https://10.0.0.5:8443"], .process,
                .named("club", deskURL: "https://10.0.0.5:8443")
            ),
        ] as [([String], [String: String], StrategyRuntime, ContainerNetwork)])
    func resolved(
        arguments: [String], environment: [String: String], runtime: StrategyRuntime, network: ContainerNetwork
    )
        throws
    {
        let resolved = try #require(try Self.resolve(arguments, environment).get())
        #expect(resolved.defaultRuntime == runtime)
        #expect(resolved.docker?.network == network)
        #expect(resolved.docker?.image == "trading-desk-strategy")
        #expect(resolved.docker?.instance == DockerSettings.instance(forLedgerPath: "/srv/desk/desk.db"))
        #expect(resolved.sandboxDirectory.path == "/srv/desk/sandbox")
        #expect(resolved.logsDirectory.path == "/srv/desk/logs")
    }

    @Test(
        "bad runtime and Docker settings say what is wrong and what is allowed",
        arguments: [
            (
                ["--runtime", "vm"], [:],
                "The value 'vm' is invalid for '--runtime <runtime>'. Please provide one of 'process' and 'docker'."
            ),
            ([], ["DESK_RUNTIME": "k8s"], "DESK_RUNTIME=k8s is not a valid --runtime: use process, docker"),
            (["--docker-network", "club"], [:], "--docker-network club needs --docker-desk-url"),
            (
                ["--docker-network", "club", "--docker-desk-url", "desk:8080"], [:],
                "--docker-desk-url desk:8080 must start with http://"
            ),
            (["--docker-network", "a b"], [:], "docker network \"a b\" is not a network name"),
            (["--docker-image=-x"], [:], "docker image \"-x\" is not an image name"),
            (["--stop-grace", "4000"], [:], "--stop-grace 4000.0 must be 0 to 3600 seconds"),
            (["--strategy-uids", "61000"], [:], "--strategy-uids: strategy uids \"61000\" are not FIRST-LAST"),
            (["--strategy-uids", "900-2000"], [:], "--strategy-uids: strategy uids 900-2000 reach system ids"),
            (["--strategy-uids", "61000-65534"], [:], "--strategy-uids: strategy uids 61000-65534 reach system ids"),
            (["--strategy-uids", "62000-61000"], [:], "--strategy-uids: strategy uids \"62000-61000\" are not"),
        ] as [([String], [String: String], String)])
    func problems(arguments: [String], environment: [String: String], message: String) {
        switch Self.resolve(arguments, environment) {
        case .success: Issue.record("expected a problem")
        case .failure(let problem): #expect(problem.message.hasPrefix(message), "\(problem.message)")
        }
    }

    @Test(
        "--strategy-uids sets the range strategies' uids come from (the probe runs just below it)",
        arguments: [
            ([], UInt32(61_000)...64_999, UInt32(60_998)),
            (["--strategy-uids", "20000-20009"], 20_000...20_009, 19_998),
            (["--strategy-uids", "1002-1002"], 1_002...1_002, 1_000),
        ] as [([String], ClosedRange<UInt32>, UInt32)])
    func strategyUIDs(arguments: [String], uids: ClosedRange<UInt32>, probe: UInt32) throws {
        let resolved = try #require(try Self.resolve(arguments, [:]).get())
        #expect(resolved.sandbox.uids == uids)
        #expect(resolved.sandbox.probeUID == probe)
    }

    @Test("DOCKER_IMAGE picks the image; the CLI gets DOCKER_* from the desk, never the broker keys")
    func imageAndClient() throws {
        let environment = [
            "DOCKER_IMAGE": "club/strategy:2", "DOCKER_HOST": "unix:///tmp/d.sock", "HOME": "/home/desk",
            "APCA_API_KEY_ID": "PK", "APCA_API_SECRET_KEY": "secret-value",
        ]
        let docker = try #require(try Self.resolve([], environment).get()?.docker)
        #expect(docker.image == "club/strategy:2")
        #expect(
            docker.clientEnvironment == ["DOCKER_HOST": "unix:///tmp/d.sock", "DOCKER_CONFIG": "/home/desk/.docker"])
        #expect(!"\(docker)".contains("secret-value"))
    }
}

@Suite("Where an alpaca-py strategy reaches the desk")
struct AlpacaURLSettingsTests {
    @Test(
        "--strategy-loopback-port, --no-sandbox and the Alpaca URL strategies get",
        arguments: [
            ([], UInt16?.some(8080), "http://127.0.0.1:8080"),
            (["--strategy-loopback-port", "9000"], 9000, "http://127.0.0.1:9000"),
            (["--strategy-loopback-port", "0"], nil, nil),
            (["--no-sandbox", "--port", "8123"], nil, "http://127.0.0.1:8123"),
            (["--no-sandbox", "--host", "10.0.0.5", "--port", "8123"], nil, "http://10.0.0.5:8123"),
        ] as [([String], UInt16?, String?)])
    func alpacaURL(arguments: [String], port: UInt16?, url: String?) throws {
        let resolved = try #require(try RuntimeSettingsTests.resolve(arguments, [:]).get())
        #expect(resolved.sandbox.loopbackPort == port)
        #expect(resolved.alpacaURL == url)
    }

    @Test("a container reaches the Alpaca API only on a named Docker network")
    func docker() throws {
        let named = try #require(
            try RuntimeSettingsTests.resolve(
                ["--docker-network", "club", "--docker-desk-url", "http://desk:8080"], [:]
            )
            .get())
        #expect(named.alpacaURL(runtime: .docker) == "http://desk:8080")
        #expect(named.alpacaURL(runtime: .process) == "http://127.0.0.1:8080")
        let none = try #require(try RuntimeSettingsTests.resolve([], [:]).get())
        #expect(none.alpacaURL(runtime: .docker) == nil)
    }

    @Test("a strategy's Alpaca variables: its member and its own token, the URL for REST, data and streams")
    func environment() {
        #expect(
            Supervisor.alpacaEnvironment(url: "http://127.0.0.1:8080", member: "carol", token: "dsk_x") == [
                "APCA_API_BASE_URL": "http://127.0.0.1:8080", "APCA_API_DATA_URL": "http://127.0.0.1:8080",
                "APCA_API_STREAM_URL": "ws://127.0.0.1:8080", "APCA_API_KEY_ID": "carol",
                "APCA_API_SECRET_KEY": "dsk_x",
            ])
    }
}

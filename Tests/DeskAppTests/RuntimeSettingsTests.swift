import DeskApp
import DeskAppTestSupport
import DeskHTTP
import DeskIdentity
import DeskRunner
import Testing

@Suite("Choosing the strategy runtime and Docker settings")
struct RuntimeSettingsTests {
    static func resolve(_ settings: ServeSettings, _ environment: [String: String]) -> Result<
        RuntimeSettings?, ServeSettings.Problem
    > {
        var settings = settings
        settings.strategiesDirectory = "/srv/strategies"
        settings.databasePath = "/srv/desk/desk.db"
        return settings.resolve(environment: environment).map(\.runtime)
    }

    @Test(
        "--runtime / DESK_RUNTIME, --docker-network / NETWORK_NAME and the desk URL containers use",
        arguments: [
            (ServeSettings(), [:], StrategyRuntime.process, ContainerNetwork.none(deskSocket: "/srv/desk/desk.sock")),
            (ServeSettings(runtime: "docker"), [:], .docker, .none(deskSocket: "/srv/desk/desk.sock")),
            (ServeSettings(), ["DESK_RUNTIME": "docker"], .docker, .none(deskSocket: "/srv/desk/desk.sock")),
            (
                ServeSettings(runtime: "process"), ["DESK_RUNTIME": "docker"], .process,
                .none(deskSocket: "/srv/desk/desk.sock")
            ),
            (ServeSettings(unixSocket: "/run/d.sock"), [:], .process, .none(deskSocket: "/run/d.sock")),
            (ServeSettings(), ["NETWORK_NAME": "none"], .process, .none(deskSocket: "/srv/desk/desk.sock")),
            (
                ServeSettings(dockerNetwork: "trading-desk-network", dockerDeskURL: "http://desk:8080"), [:], .process,
                .named("trading-desk-network", deskURL: "http://desk:8080")
            ),
            (
                ServeSettings(), ["NETWORK_NAME": "club", "DESK_CONTAINER_URL": "https://10.0.0.5:8443"], .process,
                .named("club", deskURL: "https://10.0.0.5:8443")
            ),
        ] as [(ServeSettings, [String: String], StrategyRuntime, ContainerNetwork)])
    func resolved(
        settings: ServeSettings, environment: [String: String], runtime: StrategyRuntime, network: ContainerNetwork
    )
        throws
    {
        let resolved = try #require(try Self.resolve(settings, environment).get())
        #expect(resolved.defaultRuntime == runtime)
        #expect(resolved.docker?.network == network)
        #expect(resolved.docker?.image == "trading-desk-strategy")
        #expect(resolved.docker?.instance == DockerSettings.instance(forLedgerPath: "/srv/desk/desk.db"))
    }

    @Test(
        "bad runtime and Docker settings say what is wrong and what is allowed",
        arguments: [
            (ServeSettings(runtime: "vm"), [:], "--runtime vm is not a strategy runtime: use process or docker"),
            (ServeSettings(), ["DESK_RUNTIME": "k8s"], "--runtime k8s is not a strategy runtime"),
            (ServeSettings(dockerNetwork: "club"), [:], "--docker-network club needs --docker-desk-url"),
            (
                ServeSettings(dockerNetwork: "club", dockerDeskURL: "desk:8080"), [:],
                "--docker-desk-url desk:8080 must start with http://"
            ),
            (ServeSettings(dockerNetwork: "a b"), [:], "docker network \"a b\" is not a network name"),
            (ServeSettings(dockerImage: "-x"), [:], "docker image \"-x\" is not an image name"),
        ] as [(ServeSettings, [String: String], String)])
    func problems(settings: ServeSettings, environment: [String: String], message: String) {
        switch Self.resolve(settings, environment) {
        case .success: Issue.record("expected a problem")
        case .failure(let problem): #expect(problem.message.hasPrefix(message), "\(problem.message)")
        }
    }

    @Test("DOCKER_IMAGE picks the image; the CLI gets DOCKER_* from the desk, never the broker keys")
    func imageAndClient() throws {
        let environment = [
            "DOCKER_IMAGE": "club/strategy:2", "DOCKER_HOST": "unix:///tmp/d.sock", "HOME": "/home/desk",
            "APCA_API_KEY_ID": "PK", "APCA_API_SECRET_KEY": "secret-value",
        ]
        let docker = try #require(try Self.resolve(ServeSettings(), environment).get()?.docker)
        #expect(docker.image == "club/strategy:2")
        #expect(
            docker.clientEnvironment == ["DOCKER_HOST": "unix:///tmp/d.sock", "DOCKER_CONFIG": "/home/desk/.docker"])
        #expect(!"\(docker)".contains("secret-value"))
    }
}

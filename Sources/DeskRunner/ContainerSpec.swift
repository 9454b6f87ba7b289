import Foundation

/// How strategy containers reach the desk.
public enum ContainerNetwork: Sendable, Equatable {
    /// No network at all (`--network none`): the desk's unix socket, at this host
    /// path, is mounted into the container, and is its only way out.
    case none(deskSocket: String)
    /// A named Docker network (`trading-desk-network`): the container reaches the
    /// desk over TCP at `deskURL`, and whatever else that network reaches.
    case named(String, deskURL: String)
}

/// The desk's settings for strategies that run in Docker containers.
public struct DockerSettings: Sendable, Equatable {
    /// The docker CLI.
    public var docker: String
    /// The strategy image (`trading-desk-strategy`, see docker/Dockerfile).
    public var image: String
    public var network: ContainerNetwork
    /// Identifies this desk among others on one Docker host (label `desk.instance`).
    public var instance: String
    /// The docker CLI's own settings from the desk's environment (`DOCKER_HOST`,
    /// `DOCKER_CONFIG`, …): they choose the engine, and never reach a container.
    public var clientEnvironment: [String: String]
    /// json-file log rotation in the engine (`docker logs`); the desk keeps its own log too.
    public var logMaxSize: String
    public var logMaxFiles: Int
    /// The desk socket's group, added to a container that runs as the image's user
    /// (one that runs as the strategy's own uid has it among its groups already).
    public var socketGroup: UInt32?

    public init(
        docker: String = "docker", image: String = DockerSettings.defaultImage, network: ContainerNetwork,
        instance: String, clientEnvironment: [String: String] = [:], logMaxSize: String = "10m", logMaxFiles: Int = 3
    ) {
        self.docker = docker
        self.image = image
        self.network = network
        self.instance = instance
        self.clientEnvironment = clientEnvironment
        self.logMaxSize = logMaxSize
        self.logMaxFiles = logMaxFiles
    }

    public static let defaultImage = "trading-desk-strategy"
    /// The seed's network for TCP mode.
    public static let defaultNetworkName = "trading-desk-network"
    /// Variables of the desk's environment that configure the docker CLI.
    public static let clientVariables = [
        "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION",
    ]

    /// The docker CLI's settings taken from the desk's environment. `DOCKER_CONFIG`
    /// is always set (default `$HOME/.docker`), so that the CLI never reads a
    /// config from the strategy's `HOME`.
    public static func clientEnvironment(from environment: [String: String]) -> [String: String] {
        var client = environment.filter { clientVariables.contains($0.key) && !$0.value.isEmpty }
        if client["DOCKER_CONFIG"] == nil {
            client["DOCKER_CONFIG"] = (environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/root") + "/.docker"
        }
        return client
    }

    /// A short stable name for the desk that owns the ledger at `path`.
    public static func instance(forLedgerPath path: String) -> String {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// A `docker run` for one strategy, built from its launch spec and the desk's
/// Docker settings without touching an engine.
public struct ContainerSpec: Sendable, Equatable {
    /// `strategy-<folder>`.
    public var name: String
    /// Everything after `docker`: `run --interactive … IMAGE python -u /app/strategy/strategy.py`.
    public var arguments: [String]
    /// The docker CLI's environment: the strategy's variables (passed on by name
    /// with `--env NAME`, so their values never appear in a command line) and the
    /// CLI's own settings.
    public var clientEnvironment: [String: String]
    /// The environment the strategy sees inside the container.
    public var containerEnvironment: [String: String]

    /// Where the strategy folder is mounted, read-only.
    public static let strategyFolder = "/app/strategy"
    /// Where the desk's unix socket is mounted in network mode `none`.
    public static let deskSocket = "/run/desk/desk.sock"
    /// Where the strategy's own HOME is: a private tmpfs of its disk's size (read-write).
    public static let homeFolder = "/home/strategy"
    /// A strategy's HOME when its limits name no disk (as the process sandbox's).
    public static let defaultDiskBytes: UInt64 = 256 << 20
    public static let defaultMemoryBytes: UInt64 = 512 << 20
    public static let defaultCPUs = 0.5
    /// Label keys: which strategy, whose, and which desk started the container.
    public static let strategyLabel = "desk.strategy"
    public static let memberLabel = "desk.member"
    public static let instanceLabel = "desk.instance"
    /// Variables the host's Python setup needs and a container must not get.
    static let hostOnlyVariables: Set<String> = ["PYTHONPATH", "HOME"]

    /// The container name for a strategy folder.
    public static func containerName(for strategy: String) -> String { "strategy-\(strategy)" }

    /// Builds the container for `launch`, or says why it cannot run in one.
    public static func make(for launch: LaunchSpec, settings: DockerSettings) -> Result<ContainerSpec, ContainerProblem>
    {
        make(
            name: launch.name, member: launch.member, folder: launch.workingDirectory.path,
            environment: launch.environment, limits: launch.limits, settings: settings, user: launch.user)
    }

    /// Builds the container for strategy `name` of `member` from `folder` (a host
    /// path: its staged copy), running as `user` with a HOME of its own: a tmpfs of
    /// `limits.diskBytes` owned by that user (never a host folder: a full HOME cannot
    /// fill the desk's disk, and nothing is left on the host); without a user, as the
    /// image's user with HOME in its private /tmp.
    public static func make(
        name: String, member: String, folder: String, environment: [String: String], limits: StrategyLimits,
        settings: DockerSettings, user: StrategyUser? = nil
    ) -> Result<ContainerSpec, ContainerProblem> {
        if let variable = environment.keys.sorted().first(where: { $0.hasPrefix("DOCKER_") }) {
            return .failure(
                ContainerProblem(
                    message:
                        "env \(variable) cannot be passed into a container: DOCKER_* variables configure the desk's docker CLI; rename it"
                ))
        }
        let container = containerName(for: name)
        var inside = environment.filter { !hostOnlyVariables.contains($0.key) }
        var arguments = [
            "run", "--interactive", "--pull", "never", "--init", "--name", container,
            "--label", "\(strategyLabel)=\(name)", "--label", "\(memberLabel)=\(member)",
            "--label", "\(instanceLabel)=\(settings.instance)",
            "--mount", mount(source: folder, target: strategyFolder, readOnly: true),
            "--workdir", strategyFolder,
        ]
        if let user {
            arguments += ["--user", "\(user.uid):\(user.gid)"]
            for group in user.groups { arguments += ["--group-add", "\(group)"] }
        } else if let group = settings.socketGroup {
            arguments += ["--group-add", "\(group)"]
        }
        if let user {
            let disk = limits.diskBytes ?? defaultDiskBytes
            arguments += [
                "--tmpfs", "\(homeFolder):rw,nosuid,nodev,size=\(disk),uid=\(user.uid),gid=\(user.gid),mode=0700",
            ]
            inside["HOME"] = homeFolder
        } else {
            inside["HOME"] = "/tmp"
        }
        inside["TMPDIR"] = "/tmp"
        inside["PYTHONNOUSERSITE"] = "1"
        switch settings.network {
        case .none(let socket):
            arguments += ["--network", "none", "--mount", mount(source: socket, target: deskSocket, readOnly: true)]
            inside["DESK_SERVER_URL"] = "unix://\(deskSocket)"
        case .named(let network, let deskURL):
            arguments += ["--network", network]
            inside["DESK_SERVER_URL"] = deskURL
        }
        let memory = limits.memoryBytes ?? defaultMemoryBytes
        arguments += [
            "--memory", "\(memory)", "--memory-swap", "\(memory)", "--cpus", decimal(limits.cpus ?? defaultCPUs),
            "--pids-limit", "\(limits.maxProcesses)",
            "--ulimit", "nofile=\(limits.openFiles):\(limits.openFiles)",
            "--ulimit", "cpu=\(limits.cpuSeconds):\(limits.cpuSeconds)",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--read-only",
            "--tmpfs", "/tmp:rw,nosuid,nodev,size=64m",
            "--log-driver", "json-file", "--log-opt", "max-size=\(settings.logMaxSize)",
            "--log-opt", "max-file=\(settings.logMaxFiles)",
        ]
        for variable in inside.keys.sorted() { arguments += ["--env", variable] }
        arguments += [settings.image, "python", "-s", "-u", "\(strategyFolder)/strategy.py"]
        let client = inside.merging(settings.clientEnvironment) { _, desk in desk }
        return .success(
            ContainerSpec(
                name: container, arguments: arguments, clientEnvironment: client, containerEnvironment: inside))
    }

    /// A `--mount` value; fields with a comma or quote are quoted, as its CSV syntax requires.
    static func mount(source: String, target: String, readOnly: Bool) -> String {
        func field(_ text: String) -> String {
            guard text.contains(",") || text.contains("\"") else { return text }
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return ["type=bind", field("source=\(source)"), field("target=\(target)")].joined(separator: ",")
            + (readOnly ? ",readonly" : "")
    }

    /// `0.5`, `2`: a CPU share as docker reads it.
    static func decimal(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// A strategy that cannot run in a container, and why.
public struct ContainerProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The other docker commands the backend runs, as arguments, and how their
/// output is read: pure, so that tests need no engine.
public enum ContainerCommands {
    /// Containers of this desk (running or not): one name per line.
    public static func ownContainers(instance: String) -> [String] {
        ["ps", "--all", "--filter", "label=\(ContainerSpec.instanceLabel)=\(instance)", "--format", "{{.Names}}"]
    }

    /// The `desk.instance` label of the container named exactly `name` (no line when there is none).
    public static func owner(of name: String) -> [String] {
        [
            "ps", "--all", "--filter", "name=^\(name)$", "--format",
            "{{.Label \"\(ContainerSpec.instanceLabel)\"}}",
        ]
    }

    /// Removes containers, running or not.
    public static func remove(_ names: [String]) -> [String] { ["rm", "--force"] + names }

    /// SIGTERM to the container's processes, SIGKILL after `grace` (whole seconds, rounded up).
    public static func stop(_ name: String, grace: Duration) -> [String] {
        let seconds = grace.components.seconds + (grace.components.attoseconds > 0 ? 1 : 0)
        return ["stop", "--time", "\(seconds)", name]
    }

    /// `<exit code> <oom killed>` of an ended container.
    public static func state(of name: String) -> [String] {
        ["inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}", name]
    }

    /// How a container ended, from `docker run`'s own exit and, when the engine
    /// could still say, the container's state (`state(of:)`'s output). The init
    /// process reports a strategy killed by signal N as 128+N.
    public static func exit(cli: StrategyExit, state: String?) -> StrategyExit {
        let fields = (state ?? "").split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, let code = Int32(fields[0]) else { return cli }
        if fields[1] == "true" { return .outOfMemory }
        return code > 128 && code < 160 ? .signaled(code - 128) : .exited(code)
    }

    /// The non-empty lines of a command's output.
    public static func lines(_ output: String) -> [String] {
        output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
    }
}

import Foundation
import SandboxSpec
import Synchronization

/// Runs each strategy in a Docker container through the docker CLI:
/// `docker run --interactive` is a child process whose stdin (a non-blocking
/// pipe, as in `ProcessBackend`) is the container's stdin and whose output is the
/// container's, written to the strategy's log. The CLI rather than the Engine
/// API: attaching stdin over the API needs a hijacked HTTP connection and the
/// engine's multiplexed stream framing, which the CLI already does; a container
/// then looks to the supervisor like any other child process.
public struct DockerBackend: StrategyBackend {
    public let settings: DockerSettings
    /// The sandbox launcher, which starts the docker CLI with a clean signal mask
    /// (the desk blocks SIGTERM, SIGINT and SIGHUP in its own threads); nil: started directly.
    public let launcher: String?
    public var name: String { "docker" }

    public init(settings: DockerSettings, launcher: String? = nil) {
        self.settings = settings
        self.launcher = launcher
        signal(SIGPIPE, SIG_IGN)
    }

    private var cli: DockerCLI { DockerCLI(settings: settings) }

    public func launch(_ spec: LaunchSpec) async throws -> any RunningStrategy {
        if spec.readiness != nil {
            throw ContainerProblem(
                message:
                    "the docker runtime cannot report a strategy's reads of stdin, which backtests need: run it with \"runtime\": \"process\""
            )
        }
        let container = try ContainerSpec.make(for: spec, settings: settings).get()
        let docker = try cli.executable()
        try await removeLeftover(container.name)
        let child: ChildProcess
        if let launcher {
            child = try ChildProcess.spawn(
                [launcher, spec.name], environment: [:], workingDirectory: URL(fileURLWithPath: "/"), log: spec.log)
            let plain = SandboxSpec(
                program: [docker] + container.arguments,
                environment: container.clientEnvironment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
            guard await child.write(plain.encoded()) else {
                await child.stop(grace: .zero)
                throw ContainerProblem(message: "the sandbox launcher ended before it started the docker CLI")
            }
        } else {
            child = try ChildProcess.spawn(
                [docker] + container.arguments, environment: container.clientEnvironment, workingDirectory: nil,
                log: spec.log)
        }
        return RunningContainer(child: child, container: container.name, cli: cli)
    }

    /// Removes every container this desk left behind (a desk that was killed
    /// leaves its ended containers); returns their names.
    public func removeLeftovers() async -> [String] {
        guard (try? cli.executable()) != nil,
            let listed = await cli.run(ContainerCommands.ownContainers(instance: settings.instance)), listed.ok
        else { return [] }
        let names = ContainerCommands.lines(listed.output)
        if !names.isEmpty { _ = await cli.run(ContainerCommands.remove(names)) }
        return names
    }

    /// A container with the strategy's name from an earlier run of this desk is
    /// removed; one that another desk (or someone else) started is left alone.
    private func removeLeftover(_ name: String) async throws {
        guard let owner = await cli.run(ContainerCommands.owner(of: name)) else { return }
        guard owner.ok else {
            throw ContainerProblem(message: "docker cannot list containers: \(owner.output.trimmed)")
        }
        guard let label = ContainerCommands.lines(owner.output).first else { return }
        guard label == settings.instance else {
            throw ContainerProblem(
                message:
                    "a container named \(name) already exists and this desk did not start it (desk.instance=\(label.isEmpty ? "none" : label)); remove it with `docker rm -f \(name)` or rename the strategy folder"
            )
        }
        _ = await cli.run(ContainerCommands.remove([name]))
    }
}

/// A strategy's container, seen through its attached `docker run`.
final class RunningContainer: RunningStrategy {
    private let child: ChildProcess
    let container: String?
    private let cli: DockerCLI
    private let ended = ExitSignal()
    private let finishing = Mutex(false)

    init(child: ChildProcess, container: String, cli: DockerCLI) {
        self.child = child
        self.container = container
        self.cli = cli
    }

    var pid: Int32 { child.pid }
    func write(_ bytes: [UInt8]) async -> Bool { await child.write(bytes) }
    func closeInput() { child.closeInput() }

    /// Closes its stdin, then `docker stop` (SIGTERM, SIGKILL after `grace`);
    /// the container is removed once it has ended.
    func stop(grace: Duration) async {
        closeInput()
        if !child.hasExited, let name = container {
            _ = await cli.run(ContainerCommands.stop(name, grace: grace))
        }
        if !child.hasExited { await child.stop(grace: grace) }
        _ = await exitStatus()
    }

    /// The container's exit (out of memory included), after it has been removed.
    func exitStatus() async -> StrategyExit {
        let first = finishing.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
        if first, let name = container {
            let cliExit = await child.exitStatus()
            let state = await cli.run(ContainerCommands.state(of: name))
            _ = await cli.run(ContainerCommands.remove([name]))
            ended.fire(ContainerCommands.exit(cli: cliExit, state: state?.ok == true ? state?.output : nil))
        }
        return await ended.wait()
    }
}

/// Runs short docker commands (list, stop, inspect, remove) and collects their output.
struct DockerCLI: Sendable {
    let settings: DockerSettings

    struct Outcome {
        var status: Int32
        var output: String
        var ok: Bool { status == 0 }
    }

    /// The docker CLI's path, or why there is none.
    func executable() throws -> String {
        if settings.docker.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: settings.docker) else {
                throw ContainerProblem(message: "the docker CLI \(settings.docker) is not an executable file")
            }
            return settings.docker
        }
        guard let found = Self.which(settings.docker) else {
            throw ContainerProblem(
                message:
                    "the docker CLI (\(settings.docker)) is not installed: install docker.io, or set DESK_DOCKER to its path"
            )
        }
        return found
    }

    /// `tool` in the usual binary folders.
    static func which(_ tool: String) -> String? {
        ["/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/", "/usr/local/bin/"].map { $0 + tool }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// Runs `docker arguments…`; nil when it could not be started at all.
    func run(_ arguments: [String]) async -> Outcome? {
        guard let docker = try? executable() else { return nil }
        let run = CommandRun(
            command: [docker] + arguments,
            environment: settings.clientEnvironment.merging(["PATH": "/usr/local/bin:/usr/bin:/bin"]) { a, _ in a },
            outputLimit: Self.outputLimit)
        guard case .exited(let status, let output)? = try? await run.run() else { return nil }
        return Outcome(status: status, output: output)
    }

    /// The most of a docker CLI call's output kept (its answers are a few lines).
    static let outputLimit = 1 << 20
}

extension String {
    fileprivate var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

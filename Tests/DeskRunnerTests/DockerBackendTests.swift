import DeskMarketData
import DeskRunner
import DeskTestSupport
import Foundation
import Testing

/// A stand-in for the docker CLI: records every call (arguments and the names
/// in its environment), runs `run`'s strategy as a host process with the
/// variables passed by `--env NAME`, stops it on `stop`, and lists one leftover
/// container of this desk.
struct FakeDocker {
    let folder: TemporaryDirectory
    var path: String { folder.url.appendingPathComponent("docker").path }
    var calls: URL { folder.url.appendingPathComponent("calls.jsonl") }

    init() throws {
        folder = try TemporaryDirectory()
        let script = """
            #!/usr/bin/python3
            import json, os, signal, sys
            folder = \(String(reflecting: folder.url.path))
            args = sys.argv[1:]
            with open(os.path.join(folder, "calls.jsonl"), "a") as calls:
                calls.write(json.dumps({"args": args, "env": dict(os.environ)}) + "\\n")
            def value(flag):
                return [args[i + 1] for i in range(len(args) - 1) if args[i] == flag]
            if args[0] == "ps" and any(a.startswith("label=desk.instance=") for a in args):
                print("strategy-left_behind")
            elif args[0] == "stop":
                with open(os.path.join(folder, args[-1] + ".pid")) as f:
                    os.kill(int(f.read()), signal.SIGTERM)
            elif args[0] == "inspect":
                print("0 false")
            elif args[0] == "run":
                name = value("--name")[0]
                with open(os.path.join(folder, name + ".pid"), "w") as f:
                    f.write(str(os.getpid()))
                source = value("--mount")[0].split(",")[1].split("=", 1)[1]
                env = {n: os.environ[n] for n in value("--env") if n in os.environ}
                os.execve("/usr/bin/python3", ["python3", "-u", source + "/strategy.py"], env)
            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    struct Call: Decodable {
        var args: [String]
        var env: [String: String]
    }

    func recorded() -> [Call] {
        let text = (try? String(contentsOf: calls, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Call.self, from: Data($0.utf8)) }
    }
}

@Suite("Docker backend wiring, with a stand-in docker CLI", .serialized, .timeLimit(.minutes(2)))
struct DockerBackendTests {
    @Test("per-strategy runtime; stdin, env by name, labels, stop and removal go through the docker CLI")
    func dockerRuntime() async throws {
        let docker = try FakeDocker()
        defer { docker.folder.remove() }
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("boxed", script: echoStrategy, config: #"{"user_id": "alice", "runtime": "docker"}"#)
        try folder.add("plain", script: echoStrategy, config: #"{"user_id": "bob"}"#)
        var configuration = folder.configuration()
        configuration.docker = DockerSettings(
            docker: docker.path, network: .none(deskSocket: "/srv/desk/desk.sock"), instance: "cafe",
            clientEnvironment: ["DOCKER_CONFIG": "/nonexistent/.docker"])
        setenv("APCA_API_SECRET_KEY", "super-secret-broker-key", 1)
        defer { unsetenv("APCA_API_SECRET_KEY") }
        let feed = FeedHub(source: nil, logger: testLogger())
        try await withSupervisor(configuration, feed: feed) { supervisor in
            #expect(await supervisor.start([]).allSatisfy { $0.ok })
            #expect(await eventually { folder.log("boxed").contains("READY") && folder.log("plain").contains("READY") })
            #expect(await eventually { feed.statistics.subscribers.count == 2 })
            feed.publish(Tick(symbol: "AAPL", price: 7, at: Date()))
            #expect(await eventually { folder.log("boxed").contains("GOT AAPL 7") })

            let status = await supervisor.status()
            #expect(status.first { $0.name == "boxed" }?.runtime == .docker)
            #expect(status.first { $0.name == "boxed" }?.container == "strategy-boxed")
            #expect(status.first { $0.name == "plain" }?.runtime == .process)
            #expect(status.first { $0.name == "plain" }?.container == nil)

            let calls = docker.recorded()
            #expect(
                calls.first?.args == ["ps", "--all", "--filter", "label=desk.instance=cafe", "--format", "{{.Names}}"])
            #expect(calls.contains { $0.args == ["rm", "--force", "strategy-left_behind"] })
            let runs = calls.filter { $0.args.first == "run" }
            #expect(runs.count == 1)
            let run = try #require(runs.first)
            #expect(run.args.contains("--name") && run.args.contains("strategy-boxed"))
            #expect(run.args.contains("desk.member=alice"))
            #expect(!run.args.joined(separator: " ").contains("token-"))
            #expect(run.env["DESK_TOKEN"]?.hasPrefix("token-alice-boxed") == true)
            #expect(run.env["DESK_SERVER_URL"] == "unix:///run/desk/desk.sock")
            #expect(run.env["DOCKER_CONFIG"] == "/nonexistent/.docker")
            #expect(!run.env.values.contains("super-secret-broker-key"))

            #expect(await supervisor.stop(["boxed"]).first?.message == "stopped")
            #expect(folder.log("boxed").contains("EOF") || folder.log("boxed").contains("killed by signal 15"))
            let after = docker.recorded().map(\.args)
            #expect(after.contains(["rm", "--force", "strategy-boxed"]))
            #expect(await supervisor.status().first { $0.name == "boxed" }?.state == .stopped)
        }
    }

    @Test("a strategy that asks for docker in a desk without it is refused, saying what to use")
    func dockerUnavailable() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("boxed", script: echoStrategy, config: #"{"runtime": "docker"}"#)
        try await withSupervisor(folder.configuration(), feed: FeedHub(source: nil, logger: testLogger())) {
            supervisor in
            let result = await supervisor.start(["boxed"])
            #expect(result.first?.ok == false)
            #expect(result.first?.message.contains("runtime \"docker\" is not available") == true)
        }
    }

    @Test("a container in the way that this desk did not start is left alone and named in the failure")
    func foreignContainer() async throws {
        let docker = try FakeDocker()
        defer { docker.folder.remove() }
        // This stand-in answers a lookup by name with a container of another desk.
        try """
        #!/bin/sh
        echo "$@" >> \(docker.calls.path)
        case "$*" in *name=*) echo other-desk ;; esac
        exit 0
        """.write(toFile: docker.path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: docker.path)
        let backend = DockerBackend(
            settings: DockerSettings(docker: docker.path, network: .none(deskSocket: "/s.sock"), instance: "mine"))
        let folder = try StrategyFolder()
        defer { folder.remove() }
        try folder.add("boxed", script: echoStrategy)
        var configuration = folder.configuration(restart: RestartSettings(policy: .never))
        configuration.defaultRuntime = .docker
        try await withSupervisor(configuration, feed: FeedHub(source: nil, logger: testLogger()), backend: backend) {
            supervisor in
            _ = await supervisor.start(["boxed"])
            #expect(await eventually { await supervisor.status().first?.state == .failed })
            let failure = await supervisor.status().first?.failure ?? ""
            #expect(failure.contains("strategy-boxed already exists"), "\(failure)")
            #expect(failure.contains("desk.instance=other-desk"))
            let calls = ((try? String(contentsOf: docker.calls, encoding: .utf8)) ?? "").split(separator: "\n")
            #expect(calls.contains { $0.hasPrefix("ps --all --filter name=^strategy-boxed$") })
            #expect(!calls.contains { $0.hasPrefix("rm ") || $0.hasPrefix("run ") })
        }
    }
}

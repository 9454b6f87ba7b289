import DeskMarketData
import DeskRunner
import DeskTestSupport
import Foundation
import Synchronization
import Testing

/// A runtime no desk ships, the way a Kubernetes backend would plug in: it runs
/// strategies as plain child processes and remembers what it launched.
final class StubClusterBackend: StrategyBackend, Sendable {
    let inner: ProcessBackend
    let launched = Mutex<[String]>([])
    var name: String { "stub-cluster" }

    init(plan: SandboxPlan) { inner = ProcessBackend(plan: plan) }

    func launch(_ spec: LaunchSpec) async throws -> any RunningStrategy {
        launched.withLock { $0.append(spec.name) }
        return try await inner.launch(spec)
    }
}

@Suite("The runtime registry", .timeLimit(.minutes(1)))
struct RuntimeRegistryTests {
    @Test(
        "runtime names: lowercase words; the standard registry offers process and docker",
        arguments: [
            ("process", true), ("docker", true), ("stub-cluster", true), ("k8s_pods", true), ("Docker", false),
            ("", false), ("9lives", false), ("a b", false), ("vm;rm", false),
        ])
    func names(name: String, valid: Bool) {
        #expect((StrategyRuntime(rawValue: name) != nil) == valid)
        #expect(StrategyRuntimes.standard.names == ["process", "docker"])
    }

    @Test("config.json may name a registered runtime only")
    func configNames() throws {
        let text = Array(#"{"runtime": "stub-cluster"}"#.utf8)
        let stub = try #require(StrategyRuntime(rawValue: "stub-cluster"))
        let runtimes = StrategyRuntimes.standard.registering(RuntimeRegistration(stub) { _ in nil })
        guard case .failure(let problem) = StrategyConfig.parse(text, folder: "s", path: "config.json") else {
            Issue.record("a runtime nobody registered was accepted")
            return
        }
        #expect(problem.description.contains(#"must be one of "process", "docker""#), "\(problem)")
        let parsed = try StrategyConfig.parse(text, folder: "s", path: "config.json", runtimes: runtimes).get()
        #expect(parsed.runtime == stub)
    }

    @Test("docker is offered only with its settings; registering a runtime again replaces it")
    func standardBackends() throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        let configuration = folder.configuration()
        let plan = SandboxPlan.probe(options: .none, python: configuration.python, pythonPath: "")
        let backends = StrategyRuntimes.standard.backends(RuntimeContext(configuration: configuration, plan: plan))
        #expect(backends.keys.map(\.rawValue).sorted() == ["process"], "no docker settings: no docker runtime")
        let replaced = StrategyRuntimes.standard.registering(RuntimeRegistration(.process) { _ in nil })
        #expect(replaced.names == ["docker", "process"])
        #expect(replaced.backends(RuntimeContext(configuration: configuration, plan: plan)).isEmpty)
    }

    @Test("a runtime registered by a test alone runs the strategies that name it; the others keep theirs")
    func stubRuntime() async throws {
        let folder = try StrategyFolder()
        defer { folder.remove() }
        let stub = try #require(StrategyRuntime(rawValue: "stub-cluster"))
        try folder.add("on_stub", script: echoStrategy, config: #"{"user_id": "alice", "runtime": "stub-cluster"}"#)
        try folder.add("on_process", script: echoStrategy, config: #"{"user_id": "alice"}"#)
        try folder.add("on_nothing", script: echoStrategy, config: #"{"user_id": "alice", "runtime": "k8s"}"#)
        let backend = Mutex<StubClusterBackend?>(nil)
        let configuration = folder.configuration()
        let runtimes = StrategyRuntimes.standard.registering(
            RuntimeRegistration(stub, alpacaURL: { _ in "http://desk.cluster:8080" }) { context in
                let made = StubClusterBackend(plan: context.plan)
                backend.withLock { $0 = made }
                return made
            })
        #expect(configuration.alpacaURL(runtime: stub, runtimes: runtimes) == "http://desk.cluster:8080")
        #expect(configuration.alpacaURL(runtime: stub) == nil, "the standard runtimes do not know it")
        let feed = FeedHub(source: nil, logger: testLogger())
        try await withSupervisor(configuration, feed: feed, runtimes: runtimes) { supervisor in
            let results = await supervisor.start(["on_stub", "on_process", "on_nothing"])
            #expect(results.map(\.ok) == [true, true, false], "\(results)")
            #expect(
                results.last?.message.contains(#""runtime": must be one of "process", "docker", "stub-cluster""#)
                    == true,
                "\(results)")
            #expect(await eventually { folder.log("on_stub").contains("READY") })
            #expect(await eventually { folder.log("on_process").contains("READY") })
            #expect(backend.withLock { $0?.launched.withLock { $0 } } == ["on_stub"])
            let status = await supervisor.status()
            #expect(status.first { $0.name == "on_stub" }?.runtime?.rawValue == "stub-cluster")
            #expect(status.first { $0.name == "on_process" }?.runtime?.rawValue == "process")
        }
    }
}

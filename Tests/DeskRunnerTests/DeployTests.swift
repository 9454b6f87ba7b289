import DeskTestSupport
import Foundation
import Logging
import Testing

@testable import DeskRunner

/// A tar entry header written by hand, as a hostile member's tool would.
private func entry(_ name: String, type: Character = "0", contents: [UInt8] = []) -> [UInt8] {
    StrategyArchive.header(
        name: name, size: contents.count, type: UInt8(ascii: type.unicodeScalars.first!), mode: 0o644)
        + StrategyArchive.padded(contents)
}

private let end = [UInt8](repeating: 0, count: 1024)
/// The sandbox deploys compile in, as a desk's would be (its probe uid from 63,198).
private let compileSandbox = SandboxPlan.probe(
    options: SandboxOptions(baseUID: 63_200), python: "/usr/bin/python3", pythonPath: "")
private let script = Array("print('ready')\n".utf8)

@Suite("Deployed strategies: archives, names, caps, the deployer")
struct DeployTests {
    @Test(
        "hostile archives are refused with what is allowed",
        arguments: [
            (entry("../x", contents: script) + end, "climbs out"),
            (entry("a/../../x", contents: script) + end, "climbs out"),
            (entry("/etc/cron.d/x", contents: script) + end, "absolute path"),
            (entry("strategy.py", contents: script) + entry("link", type: "2") + end, "symbolic link"),
            (entry("strategy.py", contents: script) + entry("hard", type: "1") + end, "hard link"),
            (entry("strategy.py", contents: script) + entry("tty", type: "3") + end, "device or FIFO"),
            (entry("strategy.py", contents: script) + entry("fifo", type: "6") + end, "device or FIFO"),
            (entry("strategy.py", contents: script) + entry("strategy.py", contents: script) + end, "twice"),
            ([0x1f, 0x8b, 8, 0] + end, "gzip"),
            ([0x50, 0x4b, 3, 4] + end, "zip"),
            (Array("not a tar at all".utf8), "not a tar file"),
            (end, "empty"),
        ] as [([UInt8], String)])
    func hostile(archive: [UInt8], message: String) {
        #expect(throws: DeployProblem.self) { try StrategyArchive.read(archive, limits: ArchiveLimits()) }
        do {
            _ = try StrategyArchive.read(archive, limits: ArchiveLimits())
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test("limits: too many entries, too many bytes")
    func limits() throws {
        let many = (0..<11).flatMap { entry("f\($0).py", contents: script) } + end
        #expect(throws: DeployProblem(.tooLarge, "the archive holds more than 10 files and folders, the most allowed"))
        {
            try StrategyArchive.read(many, limits: ArchiveLimits(maxEntries: 10))
        }
        let big = entry("strategy.py", contents: [UInt8](repeating: 0x20, count: 4096)) + end
        #expect(throws: DeployProblem.self) { try StrategyArchive.read(big, limits: ArchiveLimits(maxBytes: 4096)) }
    }

    @Test("what the CLI writes reads back, long paths and a top folder included")
    func roundTrip() throws {
        let long = String(repeating: "d", count: 90) + "/" + String(repeating: "e", count: 60) + ".py"
        let entries = [
            ArchiveEntry(path: "mine", kind: .folder),
            ArchiveEntry(path: "mine/strategy.py", kind: .file, contents: script),
            ArchiveEntry(path: "mine/" + long, kind: .file, contents: [1, 2, 3]),
        ]
        let read = try StrategyArchive.read(StrategyArchive.write(entries), limits: ArchiveLimits())
        #expect(read.map(\.path).contains("strategy.py"))
        #expect(read.first { $0.path == long }?.contents == [1, 2, 3])
    }

    @Test(
        "folder names cannot collide between members",
        arguments: [
            ("alice", "trend", "alice--trend"), ("alice", "alice--trend", "alice--trend"),
            ("bob", "trend", "bob--trend"),
        ])
    func folders(member: String, name: String, folder: String) throws {
        #expect(try StrategyDeployer.folder(member: member, name: name) == folder)
    }

    @Test(
        "names that could reach another member's folder are refused",
        arguments: ["bob--trend", "../x", "a/b", "", "-x", "x--", "my.strat"])
    func badNames(name: String) {
        #expect(throws: DeployProblem.self) { try StrategyDeployer.folder(member: "alice", name: name) }
    }

    @Test("caps: a config asking for more than the member may have, and the clamp at start")
    func caps() {
        let policy = MemberCapsPolicy(
            defaults: MemberCaps(maxStrategies: 2, memoryBytes: 256 << 20),
            members: ["alice": MemberCaps(memoryBytes: 1 << 30)])
        var limits = StrategyLimits()
        limits.memoryBytes = 512 << 20
        #expect(policy.caps(for: "bob").problem(with: limits, member: "bob")?.contains("at most 256m") == true)
        #expect(policy.caps(for: "alice").problem(with: limits, member: "alice") == nil)
        #expect(policy.caps(for: "alice").maxStrategies == 2)
        #expect(policy.caps(for: "bob").clamp(StrategyLimits()).memoryBytes == 256 << 20)
    }

    @Test("a refused deploy leaves nothing behind; a new version keeps the old one; rollback swaps them")
    func deployer() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let strategies = folder.url.appendingPathComponent("strategies")
        try FileManager.default.createDirectory(at: strategies, withIntermediateDirectories: true)
        let deployer = StrategyDeployer(
            strategiesDirectory: strategies, python: "/usr/bin/python3", sandbox: compileSandbox,
            caps: MemberCapsPolicy(defaults: MemberCaps(maxStrategies: 1)), logger: Logger(label: "test"))
        func tar(_ files: [String: String]) -> [UInt8] {
            StrategyArchive.write(
                files.sorted { $0.key < $1.key }.map {
                    ArchiveEntry(path: $0.key, kind: .file, contents: Array($0.value.utf8))
                })
        }
        func listing() throws -> [String] {
            (FileManager.default.enumerator(atPath: strategies.path)?.allObjects as? [String] ?? []).sorted()
        }
        for (files, message) in [
            (["strategy.py": "def broken(:\n"], "does not compile"),
            (["strategy.py": "print(1)\n", "config.json": #"{"user_id": "bob"}"#], "names member \"bob\""),
            (["strategy.py": "print(1)\n", "config.json": #"{"membr": "alice"}"#], "membr"),
            (["main.py": "print(1)\n"], "no strategy.py"),
        ] {
            await #expect {
                try await deployer.deploy(archive: tar(files), member: "alice", name: "trend", replacing: true)
            } throws: { error in
                (error as? DeployProblem)?.message.contains(message) == true
            }
            let left = try listing()
            #expect(left.allSatisfy { $0 == ".deploys" || $0 == ".deploys/previous" }, "\(left)")
        }
        let first = try await deployer.deploy(
            archive: tar(["strategy.py": "print('v1')\n"]), member: "alice", name: "trend", replacing: false)
        #expect(first.folder == "alice--trend" && !first.previousKept)
        let config = try String(
            contentsOf: strategies.appendingPathComponent("alice--trend/config.json"), encoding: .utf8)
        #expect(config.contains(#""member": "alice""#))
        await #expect(throws: DeployProblem.self) {
            try await deployer.deploy(
                archive: tar(["strategy.py": "print('v1')\n"]), member: "alice", name: "trend", replacing: false)
        }
        await #expect {
            try await deployer.deploy(
                archive: tar(["strategy.py": "print(2)\n"]), member: "alice", name: "other", replacing: false)
        } throws: { ($0 as? DeployProblem)?.kind == .forbidden }
        let second = try await deployer.deploy(
            archive: tar(["strategy.py": "print('v2')\n"]), member: "alice", name: "trend", replacing: true)
        #expect(second.previousKept)
        let current = strategies.appendingPathComponent("alice--trend/strategy.py")
        #expect(try String(contentsOf: current, encoding: .utf8).contains("v2"))
        _ = try await deployer.rollback(folder: "alice--trend", member: "alice")
        #expect(try String(contentsOf: current, encoding: .utf8).contains("v1"))
        try await deployer.delete(folder: "alice--trend")
        #expect(!FileManager.default.fileExists(atPath: current.path))
    }

    @Test(
        "compile slots: one per member, at most the width desk-wide, the rest in order",
        arguments: [
            // (width, steps: "+m" enters m, "-m" leaves m; expected: who runs after each step)
            (2, ["+a", "+a", "+b", "+c", "-a"], [["a"], ["a"], ["a", "b"], ["a", "b"], ["a", "b"]]),
            (2, ["+a", "+b", "+c", "-b"], [["a"], ["a", "b"], ["a", "b"], ["a", "c"]]),
            (1, ["+a", "+b", "+a", "-a", "-b"], [["a"], ["a"], ["a"], ["b"], ["a"]]),
        ] as [(Int, [String], [[String]])])
    func compileSlots(width: Int, steps: [String], running: [[String]]) {
        var slots = CompileSlots<String>(width: width)
        for (step, expected) in zip(steps, running) {
            let member = String(step.dropFirst())
            if step.hasPrefix("+") {
                if !slots.admit(member) { slots.wait(member, member) }
            } else {
                _ = slots.leave(member)
            }
            #expect(slots.running.sorted() == expected, "after \(step)")
        }
    }

    @Test("concurrent deploys of one member never pass max_strategies, and leave nothing half-written")
    func concurrentDeploysKeepTheCap() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let strategies = folder.url.appendingPathComponent("strategies")
        try FileManager.default.createDirectory(at: strategies, withIntermediateDirectories: true)
        let deployer = StrategyDeployer(
            strategiesDirectory: strategies, python: "/usr/bin/python3", sandbox: compileSandbox,
            caps: MemberCapsPolicy(defaults: MemberCaps(maxStrategies: 2)), logger: Logger(label: "test"))
        let archive = StrategyArchive.write([
            ArchiveEntry(path: "strategy.py", kind: .file, contents: Array("print(1)\n".utf8))
        ])
        let outcomes = await withTaskGroup(of: Result<String, DeployProblem>.self) { group in
            for index in 0..<8 {
                group.addTask {
                    do throws(DeployProblem) {
                        return .success(
                            try await deployer.deploy(
                                archive: archive, member: "carol", name: "race\(index)", replacing: false
                            ).folder)
                    } catch { return .failure(error) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let deployed = outcomes.compactMap { try? $0.get() }
        #expect(deployed.count == 2, "\(outcomes)")
        for case .failure(let problem) in outcomes {
            #expect(problem.kind == .forbidden && problem.message.contains("at most 2 strategies"), "\(problem)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: strategies.path).sorted()
        #expect(left == [".deploys"] + deployed.sorted(), "\(left)")
        let scratch = try FileManager.default.contentsOfDirectory(
            atPath: strategies.appendingPathComponent(".deploys").path)
        #expect(scratch.allSatisfy { $0 == "previous" }, "\(scratch)")
    }

    @Test(
        "strategy.py compiles in the sandbox with the member's memory limit and a deadline",
        arguments: [
            ("x = [" + String(repeating: "1,", count: 4 << 20) + "]\n", Duration.seconds(20), "memory limit (256m"),
            ("x = " + String(repeating: "-", count: 1 << 20) + "1\n", .seconds(20), "too large or too deeply nested"),
            (
                "x = " + String(repeating: "(", count: 1000) + "1" + String(repeating: ")", count: 1000), .seconds(20),
                "too many nested parentheses"
            ),
            // Within the memory, but past a 1 ms deadline on any machine: starting the sandbox and
            // Python alone takes longer (a deadline the compile's own speed decides would be flaky).
            (String(repeating: "x = 1\n", count: 100_000), .milliseconds(1), "took longer than"),
        ] as [(String, Duration, String)])
    func compileLimits(source: String, timeout: Duration, message: String) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let strategies = folder.url.appendingPathComponent("strategies")
        try FileManager.default.createDirectory(at: strategies, withIntermediateDirectories: true)
        let deployer = StrategyDeployer(
            strategiesDirectory: strategies, python: "/usr/bin/python3", sandbox: compileSandbox,
            limits: ArchiveLimits(maxBytes: 32 << 20),
            caps: MemberCapsPolicy(defaults: MemberCaps(memoryBytes: 256 << 20)), compileTimeout: timeout,
            logger: Logger(label: "test"))
        let archive = StrategyArchive.write([
            ArchiveEntry(path: "strategy.py", kind: .file, contents: Array(source.utf8))
        ])
        await #expect {
            try await deployer.deploy(archive: archive, member: "mallory", name: "bomb", replacing: true)
        } throws: { error in
            (error as? DeployProblem)?.message.contains(message) == true
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: strategies.path)
        #expect(left == [".deploys"], "\(left)")
    }
}

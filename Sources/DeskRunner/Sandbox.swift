import Foundation
import SandboxSpec

/// How the process backend isolates strategies.
public struct SandboxOptions: Sendable, Equatable {
    /// Off only with `desk serve --no-sandbox`: strategies then run as the desk's
    /// user with no namespaces or limits (still a clean signal mask and an
    /// environment built from nothing).
    public var enabled: Bool
    /// Own network namespace with only loopback: the desk's unix socket is the only way out.
    public var isolateNetwork: Bool
    /// When the desk runs as root, each strategy gets its own uid from here up
    /// (allocated once per strategy and remembered in the ledger); `baseUID - 1` is
    /// the desk socket's default group, `baseUID - 2` the start-up probe's uid.
    public var baseUID: UInt32
    /// The desk socket's group, given to every strategy as a supplementary group.
    public var clientGroup: UInt32?
    /// The launcher; nil: `desk-sandbox` beside the running executable.
    public var launcher: String?
    /// The desk's own paths no strategy may see (the ledger's folder, the config
    /// file), besides the strategies, logs and sandbox folders, which are always hidden.
    public var protectedPaths: [String]
    /// Each strategy's disk when its limits name none, bytes: one tmpfs that holds
    /// its HOME, `/tmp`, `/var/tmp` and `/dev/shm` together (also the largest file it may write).
    public var privateFolderBytes: UInt64
    /// In each strategy's own network namespace, `127.0.0.1:<port>` leads to the
    /// desk's unix socket (for clients that speak only TCP); nil: only the socket.
    public var loopbackPort: UInt16?

    public init(
        enabled: Bool = true, isolateNetwork: Bool = true, baseUID: UInt32 = 61_000, clientGroup: UInt32? = nil,
        launcher: String? = nil, protectedPaths: [String] = [], privateFolderBytes: UInt64 = 256 << 20,
        loopbackPort: UInt16? = nil
    ) {
        self.loopbackPort = loopbackPort
        self.enabled = enabled
        self.isolateNetwork = isolateNetwork
        self.baseUID = baseUID
        self.clientGroup = clientGroup
        self.launcher = launcher
        self.protectedPaths = protectedPaths
        self.privateFolderBytes = privateFolderBytes
    }

    /// No protection (`--no-sandbox`, and tests of things other than the sandbox).
    public static let none = SandboxOptions(enabled: false)

    /// How many uids strategies may have, from `baseUID` up (all of them below
    /// 65534, `nobody`, with the default base).
    public var uidCount: UInt32 = 4_000
    /// The uids strategies are given (released ones again): `baseUID` and the `uidCount - 1` after it.
    public var uids: ClosedRange<UInt32> { baseUID...(baseUID + max(uidCount, 1) - 1) }

    /// `FIRST-LAST` (e.g. `61000-64999`) as a uid range, or why it is not one:
    /// system and reserved ids (below 1000, 65534 and up) are never strategies'.
    public static func parseUIDRange(_ text: String) -> Result<ClosedRange<UInt32>, UIDClaimProblem> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = UInt32(parts[0]), let last = UInt32(parts[1]), first <= last else {
            return .failure(
                UIDClaimProblem(message: "strategy uids \"\(text)\" are not FIRST-LAST, such as 61000-64999"))
        }
        guard first >= 1_002, last < 65_534 else {
            return .failure(
                UIDClaimProblem(
                    message:
                        "strategy uids \(text) reach system ids: they must lie from 1002 to 65533 (the two below the first are the desk socket's group and the probe's uid)"
                ))
        }
        return .success(first...last)
    }

    /// The uid the start-up probe runs as.
    public var probeUID: UInt32 { baseUID - 2 }
    /// The desk socket's default group when the desk runs as root.
    public static let defaultClientGroup: UInt32 = 60_999

    /// Folders every strategy has its own of, besides its HOME (see `privateFolderBytes`).
    public static let privateFolders = ["/tmp", "/var/tmp", "/dev/shm"]
}

/// Which protections apply on this machine, and why strategies cannot start when they cannot.
public struct SandboxReport: Sendable, Equatable {
    /// What applies, one line each.
    public var applied: [String]
    /// Why no strategy can start (the sandbox cannot be built here); nil when it can.
    public var problem: String?

    public init(applied: [String] = [], problem: String? = nil) {
        self.applied = applied
        self.problem = problem
    }
}

/// A strategy that cannot start because its sandbox cannot be built.
public struct SandboxUnavailable: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public var description: String {
        "the sandbox cannot be built on this machine: \(reason). Fix that, or start the desk with --no-sandbox (strategies then run as the desk's own user, unisolated)"
    }
}

/// What the process backend needs to put strategies into their sandbox:
/// the launcher, and the interpreter's folders to show inside it. Probed once,
/// at start, by running the launcher for real.
public struct SandboxPlan: Sendable, Equatable {
    public let options: SandboxOptions
    /// The `desk-sandbox` executable.
    public let launcher: String
    /// The interpreter's own folders (its prefix, a venv), shown read-only to strategies.
    public let interpreterPaths: [String]
    public let report: SandboxReport
    /// Whether the desk is root, so each strategy gets its own uid.
    public let switchesUser: Bool

    /// `desk-sandbox` beside the running executable (the desk, or a test bundle).
    public static func defaultLauncher() -> String {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return executable.deletingLastPathComponent().appendingPathComponent("desk-sandbox").path
    }

    /// Finds the launcher and the interpreter's folders and, with the sandbox
    /// enabled, runs a probe strategy in a full sandbox as an unprivileged user
    /// that checks the interpreter and every `PYTHONPATH` entry: what fails is
    /// named in the report, and then no strategy starts.
    public static func probe(options: SandboxOptions, python: String, pythonPath: String) -> SandboxPlan {
        let launcher = options.launcher ?? defaultLauncher()
        let root = getuid() == 0
        func plan(_ interpreter: [String], _ applied: [String], _ problem: String?) -> SandboxPlan {
            SandboxPlan(
                options: options, launcher: launcher, interpreterPaths: interpreter,
                report: SandboxReport(applied: applied, problem: problem), switchesUser: root && options.enabled)
        }
        guard FileManager.default.isExecutableFile(atPath: launcher) else {
            return plan(
                [], [],
                "the sandbox launcher \(launcher) is missing or not executable (it is built with the desk: swift build)"
            )
        }
        guard options.enabled else {
            return plan([], ["none (--no-sandbox): strategies run as the desk's own user, unisolated"], nil)
        }
        let interpreter: [String]
        switch interpreterFolders(python) {
        case .success(let folders): interpreter = folders
        case .failure(let problem): return plan([], [], problem.reason)
        }
        var applied = [
            "a private /proc (own pid namespace); HOME, /tmp, /var/tmp and /dev/shm on one tmpfs per strategy (its disk, \(options.privateFolderBytes >> 20) MiB unless its limits say otherwise)",
            "files: only /usr, /etc, the interpreter, the client library, its own copy of its folder and the desk's socket are shown; every other folder of the root and the desk's folders are hidden",
            "limits: address space, CPU seconds, open files, processes and file size (rlimits)",
        ]
        applied.append(
            options.isolateNetwork
                ? "network: own namespace with only loopback; the desk is reached through its unix socket"
                : "network: shared with the host")
        applied.append(
            root
                ? "user: each strategy its own uid, from \(options.baseUID), remembered in the ledger"
                : "user: the desk's own (uid \(getuid())) in a user namespace: the desk is not root")
        let probe = SandboxProbe(options: options, launcher: launcher, python: python, pythonPath: pythonPath)
        let entries = pythonPath.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        let spec = SandboxSpec(
            program: [
                python, "-s", "-c",
                "import os, sys\nbad = [p for p in sys.argv[1:] if not os.access(p, os.R_OK | os.X_OK)]\nif bad: print('not readable by uid', os.getuid(), 'in the sandbox:', *bad)\nsys.exit(3 if bad else 0)\n",
            ] + entries,
            environment: ["PATH=/usr/bin:/bin", "PYTHONPATH=\(pythonPath)", "PYTHONNOUSERSITE=1"],
            workingDirectory: "/",
            user: root ? SandboxSpec.User(uid: options.probeUID, gid: options.probeUID) : nil, isolate: true,
            isolateNetwork: options.isolateNetwork, limits: [.init(.coreSize, 0)], hidden: options.protectedPaths,
            exposed: (interpreter + entries).map { SandboxSpec.Exposure($0) },
            privateFolders: SandboxOptions.privateFolders, privateFolderBytes: 1 << 20)
        if let failure = probe.run(spec) { return plan(interpreter, applied, failure) }
        return plan(interpreter, applied, nil)
    }

    /// The folders the interpreter runs from (its prefixes; the venv it belongs to).
    static func interpreterFolders(_ python: String) -> Result<[String], SandboxUnavailable> {
        let script =
            "import os, sys\nfor p in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))): print(p)\n"
        guard let output = SandboxProbe.capture([python, "-I", "-c", script]), output.status == 0 else {
            return .failure(
                SandboxUnavailable(
                    reason:
                        "the strategy interpreter \(python) does not run (set --python or DESK_PYTHON to a python3)"))
        }
        var folders = output.text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("/") }
        let configured = URL(fileURLWithPath: python).deletingLastPathComponent().deletingLastPathComponent()
        if FileManager.default.fileExists(atPath: configured.appendingPathComponent("pyvenv.cfg").path) {
            folders.append(configured.path)
        }
        var seen: Set<String> = []
        return .success(folders.filter { seen.insert($0).inserted })
    }

    /// The launcher's spec for one strategy.
    public func spec(for launch: LaunchSpec) -> SandboxSpec {
        let environment = launch.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        guard options.enabled else {
            return SandboxSpec(
                program: launch.program, environment: environment, workingDirectory: launch.workingDirectory.path)
        }
        let disk = launch.limits.diskBytes ?? options.privateFolderBytes
        let limits: [SandboxSpec.Limit] = [
            .init(.addressSpace, launch.limits.memoryBytes ?? StrategyLimits.defaultAddressSpace),
            .init(.cpuSeconds, launch.limits.cpuSeconds), .init(.openFiles, launch.limits.openFiles),
            .init(.processes, launch.limits.maxProcesses), .init(.coreSize, 0), .init(.fileSize, disk),
        ]
        var exposed = [SandboxSpec.Exposure(launch.workingDirectory.path)]
        exposed += interpreterPaths.map { SandboxSpec.Exposure($0) }
        exposed += (launch.environment["PYTHONPATH"] ?? "").split(separator: ":").map {
            SandboxSpec.Exposure(String($0))
        }
        var forward: SandboxSpec.Forward?
        if let url = launch.environment["DESK_SERVER_URL"], url.hasPrefix("unix://") {
            let socket = String(url.dropFirst("unix://".count))
            exposed.append(SandboxSpec.Exposure(socket))
            if let port = options.loopbackPort, options.isolateNetwork {
                forward = SandboxSpec.Forward(port: port, socket: socket)
            }
        }
        return SandboxSpec(
            program: launch.program, environment: environment, workingDirectory: launch.workingDirectory.path,
            user: launch.user, isolate: true, isolateNetwork: options.isolateNetwork, limits: limits,
            hidden: options.protectedPaths + launch.hiddenPaths, exposed: exposed,
            privateFolders: SandboxOptions.privateFolders + [launch.home.path], privateFolderBytes: disk,
            readiness: launch.readiness, packetThreshold: launch.packetThreshold, forward: forward)
    }
}

/// Runs the launcher once at start, as a strategy would run, and reports what failed.
struct SandboxProbe {
    let options: SandboxOptions
    let launcher: String
    let python: String
    let pythonPath: String

    /// nil when the probe ran; else what it printed (or why it did not run).
    func run(_ spec: SandboxSpec) -> String? {
        guard let output = Self.capture([launcher, "probe"], input: spec.encoded()) else {
            return "the sandbox launcher \(launcher) could not be started"
        }
        guard output.status != 0 else { return nil }
        let text = output.text.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "the sandbox probe ended with status \(output.status)" : text
    }

    /// Runs `command` with `input` on stdin and an empty environment; its output and status.
    static func capture(_ command: [String], input: [UInt8] = []) -> (text: String, status: Int32)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = ["PATH": "/usr/bin:/bin"]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        do { try process.run() } catch { return nil }
        try? stdin.fileHandleForWriting.write(contentsOf: Data(input))
        try? stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), process.terminationStatus)
    }
}

import Foundation

/// What the process backend tries to apply to each strategy.
public struct SandboxOptions: Sendable, Equatable {
    /// Own network namespace with only loopback (down): the desk's unix socket is the only way out.
    public var isolateNetwork: Bool
    /// rlimits: address space, CPU time, open files, processes.
    public var applyLimits: Bool
    /// When the desk runs as root: run each strategy as its own unprivileged uid
    /// (`baseUID` + a number derived from its name).
    public var dropPrivileges: Bool
    public var baseUID: UInt32

    public init(
        isolateNetwork: Bool = true, applyLimits: Bool = true, dropPrivileges: Bool = true, baseUID: UInt32 = 61_000
    ) {
        self.isolateNetwork = isolateNetwork
        self.applyLimits = applyLimits
        self.dropPrivileges = dropPrivileges
        self.baseUID = baseUID
    }

    /// No protection at all (tests of things other than the sandbox).
    public static let none = SandboxOptions(isolateNetwork: false, applyLimits: false, dropPrivileges: false)
}

/// Which protections apply on this machine, and why the others do not.
public struct SandboxReport: Sendable, Equatable {
    public var networkIsolation: String?
    public var limits: String?
    public var privileges: String?
    /// Protection → why it could not be applied.
    public var missing: [String: String]

    /// Lines for the log at start.
    public var summary: [String] {
        var lines: [String] = []
        if let networkIsolation { lines.append("network: \(networkIsolation)") }
        if let limits { lines.append("limits: \(limits)") }
        if let privileges { lines.append("user: \(privileges)") }
        return lines
    }
}

/// The wrapper commands that put a strategy into its sandbox (each execs the
/// next, so the strategy keeps the first one's pid): `unshare --net`, `prlimit`,
/// `setpriv`. No `setsid`: the child already leads its own process group (see
/// `ProcessBackend`), and `setsid` would then fork, leaving the desk watching a
/// wrapper that exits at once.
public struct SandboxPlan: Sendable, Equatable {
    var unshare: String?
    var prlimit: String?
    var setpriv: String?
    public let report: SandboxReport

    /// Probes the machine once: which tools exist and which protections work.
    public static func probe(options: SandboxOptions, python: String, readablePaths: [String]) -> SandboxPlan {
        var report = SandboxReport(missing: [:])
        var unshare: String?
        if options.isolateNetwork {
            if let tool = which("unshare") {
                let asRoot = getuid() == 0
                let arguments =
                    asRoot ? ["--net", "--", "/bin/true"] : ["--user", "--map-root-user", "--net", "--", "/bin/true"]
                if run(tool, arguments) == 0 {
                    unshare = tool
                    report.networkIsolation =
                        "own network namespace (loopback only, down); the desk is reached through its unix socket"
                } else {
                    report.missing["network"] =
                        "unshare --net failed (\(asRoot ? "the kernel refused a network namespace" : "unprivileged user namespaces are disabled")): strategies share the host network"
                }
            } else {
                report.missing["network"] = "unshare (util-linux) is not installed: strategies share the host network"
            }
        } else {
            report.missing["network"] = "disabled by configuration: strategies share the host network"
        }
        var prlimit: String?
        if options.applyLimits {
            if let tool = which("prlimit") {
                prlimit = tool
                report.limits = "address space, CPU seconds, open files and processes per strategy (rlimits)"
            } else {
                report.missing["limits"] = "prlimit (util-linux) is not installed: no resource limits"
            }
        } else {
            report.missing["limits"] = "disabled by configuration"
        }
        var setpriv: String?
        if getuid() == 0 {
            if options.dropPrivileges, let tool = which("setpriv") {
                let probeUID = String(options.baseUID)
                let check =
                    [
                        "--reuid=\(probeUID)", "--regid=\(probeUID)", "--clear-groups", "--", python, "-c",
                        "import os, sys; sys.exit(0 if all(os.access(p, os.R_OK) for p in sys.argv[1:]) else 3)",
                    ] + readablePaths
                if run(tool, check) == 0 {
                    setpriv = tool
                    report.privileges = "each strategy runs as its own unprivileged uid (from \(options.baseUID))"
                } else {
                    report.missing["user"] =
                        "\(python) or the strategy files are not usable by an unprivileged user: strategies run as root (and the process limit is not enforced for root)"
                }
            } else {
                report.missing["user"] =
                    options.dropPrivileges
                    ? "setpriv (util-linux) is not installed: strategies run as root"
                    : "disabled by configuration: strategies run as root"
            }
        } else {
            report.privileges = "strategies run as the desk's own user (uid \(getuid()))"
        }
        return SandboxPlan(unshare: unshare, prlimit: prlimit, setpriv: setpriv, report: report)
    }

    /// The full command line for a strategy.
    public func command(_ program: [String], name: String, limits: StrategyLimits, baseUID: UInt32) -> [String] {
        var command: [String] = []
        if let unshare {
            command +=
                getuid() == 0 ? [unshare, "--net", "--"] : [unshare, "--user", "--map-root-user", "--net", "--"]
        }
        if let prlimit {
            command += [
                prlimit, "--as=\(limits.memoryBytes ?? StrategyLimits.defaultAddressSpace)",
                "--cpu=\(limits.cpuSeconds)", "--nofile=\(limits.openFiles)",
                "--nproc=\(limits.maxProcesses)", "--",
            ]
        }
        if let setpriv {
            let uid = Self.uid(for: name, base: baseUID)
            command += [setpriv, "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--"]
        }
        return command + program
    }

    /// A stable uid per strategy name, so that process limits and signals stay per strategy.
    public static func uid(for name: String, base: UInt32) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return base + hash % 4_000
    }

    static func which(_ tool: String) -> String? {
        ["/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/", "/usr/local/bin/"].map { $0 + tool }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.environment = ["PATH": "/usr/bin:/bin"]
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

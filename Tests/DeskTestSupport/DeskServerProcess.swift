import Foundation

/// A running `desk serve` child process on a free loopback port.
public final class DeskServerProcess: Sendable {
    public let process: Process
    /// The TCP port it listens on.
    public let port: Int
    /// Its combined stdout and stderr.
    public let output: URL

    /// The unix socket, when it listens on one.
    public let unixSocket: String?

    /// Starts `desk serve --port 0 --db database` plus `arguments`, and waits until it listens.
    /// - Parameters:
    ///   - environment: added to the child's minimal environment (`LOG_LEVEL` defaults to warning).
    ///   - umask: when given, the desk starts under this umask (through `sh -c 'umask …; exec …'`).
    public init(
        database: String, folder: TemporaryDirectory, arguments: [String] = [], environment: [String: String] = [:],
        umask: String? = nil
    ) throws {
        process = Process()
        let serve = ["serve", "--port", "0", "--db", database, "--feed", "none"] + arguments
        if let umask {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "umask \(umask); exec \"$0\" \"$@\"", deskExecutable().path] + serve
        } else {
            process.executableURL = deskExecutable()
            process.arguments = serve
        }
        process.environment = ["PATH": "/usr/bin:/bin", "LOG_LEVEL": "warning"].merging(environment) { $1 }
        output = folder.url.appendingPathComponent("serve-\(UUID().uuidString.prefix(4)).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        var found: Int?
        let deadline = Date().addingTimeInterval(30)
        while found == nil && Date() < deadline && process.isRunning {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let range = text.range(of: "desk listening on http://127.0.0.1:") {
                found = Int(text[range.upperBound...].prefix { $0.isNumber })
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        guard let found else {
            process.terminate()
            throw DeskServerProcessError(log: (try? String(contentsOf: output, encoding: .utf8)) ?? "")
        }
        port = found
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        unixSocket = text.range(of: "desk listening on unix://").map {
            String(text[$0.upperBound...].prefix { $0 != "\n" })
        }
    }

    /// The desk's pid.
    public var pid: Int32 { process.processIdentifier }

    /// How many file descriptors the desk has open now (Linux).
    public var openDescriptors: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// What the process wrote so far.
    public var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// SIGKILL, and wait for it to die.
    public func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM (graceful shutdown), and wait.
    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// `desk serve` did not come up; its output says why.
public struct DeskServerProcessError: Error, CustomStringConvertible {
    public var log: String
    public var description: String { "desk serve did not start:\n\(log)" }
}

/// A command run to its end: exit status and combined output.
public struct CommandResult: Sendable {
    public var status: Int32
    public var output: String
}

/// Runs `executable` with `arguments` (environment: PATH plus `environment`) and
/// waits for it, at most `timeout` (then it is killed and the status is -9).
public func runCommand(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil,
    timeout: Duration = .seconds(60)
) async throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
    if let directory { process.currentDirectoryURL = directory }
    let output = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("cmd-\(UUID().uuidString).out")
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: output) }
    let handle = try FileHandle(forWritingTo: output)
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? handle.close()
        return CommandResult(status: -9, output: (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }
    process.waitUntilExit()
    try? handle.close()
    return CommandResult(
        status: process.terminationStatus, output: (try? String(contentsOf: output, encoding: .utf8)) ?? "")
}

/// Runs the `desk` executable with `arguments`.
public func runDesk(
    _ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil,
    timeout: Duration = .seconds(60)
) async throws -> CommandResult {
    try await runCommand(deskExecutable().path, arguments, environment: environment, in: directory, timeout: timeout)
}

/// Runs `arguments` as an unprivileged user through `setpriv` (the tests run as
/// root): uid and gid `uid`, no supplementary groups but `groups`.
public func runAsUnprivileged(
    uid: UInt32 = 61_999, groups: [UInt32] = [], _ arguments: [String], timeout: Duration = .seconds(20)
) async throws -> CommandResult {
    let groupArguments =
        groups.isEmpty ? ["--clear-groups"] : ["--groups=\(groups.map(String.init).joined(separator: ","))"]
    return try await runCommand(
        "/usr/bin/setpriv", ["--reuid=\(uid)", "--regid=\(uid)"] + groupArguments + ["--"] + arguments,
        timeout: timeout)
}

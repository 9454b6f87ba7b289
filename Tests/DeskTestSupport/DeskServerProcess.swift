import Foundation

/// A running `desk serve` child process on a free loopback port.
public final class DeskServerProcess: Sendable {
    public let process: Process
    /// The TCP port it listens on.
    public let port: Int
    /// Its combined stdout and stderr.
    public let output: URL

    /// Starts `desk serve --port 0 --db database` plus `arguments`, and waits until it listens.
    public init(database: String, folder: TemporaryDirectory, arguments: [String] = []) throws {
        process = Process()
        process.executableURL = deskExecutable()
        process.arguments = ["serve", "--port", "0", "--db", database, "--feed", "none"] + arguments
        process.environment = ["PATH": "/usr/bin:/bin", "LOG_LEVEL": "warning"]
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

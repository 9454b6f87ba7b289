import DeskCore
import Foundation

/// One short command run to its end — a docker CLI call, the sandboxed compile
/// check: an environment of its own, a small input on stdin, its output (stdout
/// and stderr) kept up to a limit, and optionally killed, with its process group,
/// at a deadline. Its end is awaited as an event (the termination handler), never
/// polled, and no thread waits for it. A strategy's own process is not one of
/// these: it runs for long, with a non-blocking stdin and its output in its log
/// (`ChildProcess`).
struct CommandRun: Sendable {
    /// The program (a path) and its arguments.
    var command: [String]
    /// Its whole environment: nothing is inherited.
    var environment: [String: String]
    /// Written to its stdin, which is then closed; at most `inputLimit` bytes (a pipe takes it without waiting).
    var input: [UInt8] = []
    var workingDirectory: URL?
    /// Past it the command and its process group are killed; nil: no deadline.
    var timeout: Duration?
    /// The most output kept.
    var outputLimit = 64 << 10

    /// Largest input written: far below a pipe's capacity, so the write never waits.
    static let inputLimit = 16 << 10

    /// How a command ended.
    enum Outcome: Equatable, Sendable {
        /// Its exit status (128 + N when signal N ended it) and its output.
        case exited(Int32, String)
        /// Killed at the deadline.
        case timedOut
    }

    /// The command could not be run.
    struct Problem: Error, LocalizedError {
        var message: String
        var errorDescription: String? { message }
    }

    /// Runs it to its end.
    func run() async throws -> Outcome {
        guard input.count <= Self.inputLimit else {
            throw Problem(message: "the input of \(command[0]) is over \(Self.inputLimit) bytes")
        }
        // Output goes to a file of our own, so a talkative command never waits on a full pipe.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("desk-command-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let sink = try? FileHandle(forWritingTo: file)
        else { throw Problem(message: "cannot make a file for the output of \(command[0])") }
        defer {
            try? sink.close()
            try? FileManager.default.removeItem(at: file)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = environment
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = sink
        process.standardError = sink
        let exited = OneShot<Int32>()
        process.terminationHandler = { ended in
            exited.fire(
                ended.terminationReason == .uncaughtSignal ? 128 + ended.terminationStatus : ended.terminationStatus)
        }
        let started = ContinuousClock.now
        try process.run()
        try? stdin.fileHandleForWriting.write(contentsOf: Data(input))
        try? stdin.fileHandleForWriting.close()
        let pid = process.processIdentifier
        let status: Int32?
        if let timeout {
            status = await withTaskGroup(of: Int32?.self) { group in
                group.addTask { await exited.wait() }
                group.addTask {
                    do { try await Task.sleep(for: timeout) } catch { return nil }
                    // It leads its process group (Foundation's `Process`): what it started dies with it.
                    kill(-pid, SIGKILL)
                    kill(pid, SIGKILL)
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            // Past the deadline is past it, even when the exit was seen first (a busy desk
            // resumes the deadline's timer late).
            guard ContinuousClock.now - started <= timeout else { return .timedOut }
        } else {
            status = await exited.wait()
        }
        guard let status else { return .timedOut }
        let output = (try? FileHandle(forReadingFrom: file)).map { handle in
            defer { try? handle.close() }
            return (try? handle.read(upToCount: outputLimit)) ?? nil
        }
        return .exited(status, String(decoding: (output ?? nil) ?? Data(), as: UTF8.self))
    }
}

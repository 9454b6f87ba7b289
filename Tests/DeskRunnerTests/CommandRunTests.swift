import DeskTestSupport
import Foundation
import Testing

@testable import DeskRunner

/// The one runner of short commands (docker CLI calls, the compile check), with real processes.
@Suite("Short commands: run to their end, output kept, killed at a deadline", .timeLimit(.minutes(1)))
struct CommandRunTests {
    static func shell(_ script: String, input: String = "", timeout: Duration? = nil, limit: Int = 64 << 10)
        -> CommandRun
    {
        CommandRun(
            command: ["/bin/sh", "-c", script], environment: ["PATH": "/usr/bin:/bin"], input: Array(input.utf8),
            timeout: timeout, outputLimit: limit)
    }

    @Test(
        "status and output (stdout and stderr together, up to the limit), its input on stdin, its environment only",
        arguments: [
            ("echo out; echo err >&2; exit 3", "", 64 << 10, CommandRun.Outcome.exited(3, "out\nerr\n")),
            ("cat; echo", "from stdin", 64 << 10, .exited(0, "from stdin\n")),
            ("printf 0123456789", "", 4, .exited(0, "0123")),
            ("echo ${HOME:-none} $PATH", "", 64 << 10, .exited(0, "none /usr/bin:/bin\n")),
            ("kill -KILL $$", "", 64 << 10, .exited(128 + SIGKILL, "")),
        ] as [(String, String, Int, CommandRun.Outcome)])
    func outcomes(script: String, input: String, limit: Int, expected: CommandRun.Outcome) async throws {
        #expect(try await Self.shell(script, input: input, limit: limit).run() == expected)
    }

    @Test("past its deadline it is killed with what it started, and says so")
    func deadline() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pidFile = folder.path("child.pid")
        let run = Self.shell("sleep 60 & echo $! > \(pidFile); wait", timeout: .milliseconds(300))
        #expect(try await run.run() == .timedOut)
        let child = try #require(
            Int32(
                try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines)))
        #expect(await eventually { !isAlive(child) }, "the command's own child died with it")
    }

    @Test("an input over the limit is refused before anything runs, saying so")
    func inputTooLarge() async {
        let run = Self.shell("cat", input: String(repeating: "x", count: CommandRun.inputLimit + 1))
        await #expect {
            try await run.run()
        } throws: { error in
            "\(error.localizedDescription)".contains("over \(CommandRun.inputLimit) bytes")
        }
    }
}

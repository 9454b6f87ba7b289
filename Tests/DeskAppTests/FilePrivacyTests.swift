import DeskApp
import DeskAppTestSupport
import DeskCore
import DeskHTTP
import DeskIdentity
import DeskLedger
import DeskTestSupport
import Foundation
import Testing

/// What another local user (a sandboxed strategy has its own uid) can read of
/// the desk's files: nothing. The tests run as root and try as uid 61999.
@Suite("The desk's files are private", .serialized)
struct FilePrivacyTests {
    static func mode(_ path: String) -> UInt16? { PrivateFiles.mode(path) }

    /// Whether uid 61999 (no groups) can read `path` (`cat` for files, `ls` for folders).
    static func readableByAnotherUser(_ path: String, folder: Bool = false) async throws -> CommandResult {
        try await runAsUnprivileged(folder ? ["/bin/ls", path] : ["/bin/cat", path])
    }

    @Test("a desk started on a ledger others could read narrows every desk file to 0600 (logs 0700) and says so")
    func narrowsExistingFiles() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let strategies = folder.path("strategies")
        try FileManager.default.createDirectory(atPath: strategies, withIntermediateDirectories: true)
        let logs = folder.path("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try "an older strategy's log\n".write(toFile: folder.path("logs/old.log"), atomically: false, encoding: .utf8)
        // A ledger left by a desk killed mid-run: the database, its WAL and shared memory, the admin token, the lock.
        let first = try DeskServerProcess(database: database, folder: folder)
        first.kill9()
        let desk = [
            database, database + "-wal", database + "-shm", folder.path("desk-admin.token"), database + ".lock",
        ]
        for path in desk + [folder.path("logs/old.log")] {
            #expect(FileManager.default.fileExists(atPath: path), "\(path) is missing")
            chmod(path, 0o644)
        }
        chmod(logs, 0o755)
        #expect(
            try await Self.readableByAnotherUser(database).status == 0,
            "the test's own setup failed: uid 61999 cannot read a 0644 file")

        let second = try DeskServerProcess(
            database: database, folder: folder, arguments: ["--strategies-dir", strategies],
            environment: ["LOG_LEVEL": "info"])
        defer { second.stop() }
        for path in desk + [folder.path("logs/old.log")] {
            #expect(Self.mode(path) == 0o600, "\(path) is \(String(Self.mode(path) ?? 0, radix: 8))")
            #expect(second.log.contains("path=\(path)"), "no log line names \(path)")
            let attempt = try await Self.readableByAnotherUser(path)
            #expect(attempt.status != 0, "uid 61999 read \(path)")
            #expect(attempt.output.contains("Permission denied"), "\(attempt.output)")
        }
        #expect(Self.mode(logs) == 0o700)
        #expect(
            try await Self.readableByAnotherUser(logs, folder: true).status != 0, "uid 61999 listed the logs folder")
        #expect(second.log.contains("narrowed the permissions of a desk file that other users could read"))
        #expect(second.log.contains("new_mode=0600 old_mode=0644 path=\(database)"), "\(second.log)")
        #expect(second.log.contains("new_mode=0700 old_mode=0755 path=\(logs)"), "\(second.log)")
    }

    @Test("a new ledger is private from its first byte, whatever the umask")
    func newFilesArePrivate() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let strategy = try TokenLeakingStrategy(folder: folder)
        let desk = try DeskServerProcess(
            database: database, folder: folder,
            arguments: strategy.serveArguments + ["--unix-socket", folder.path("desk.sock")], umask: "000")
        defer { desk.stop() }
        #expect(try await runDesk(["strategies", "start", TokenLeakingStrategy.name, "--db", database]).status == 0)
        _ = try await strategy.waitForTokens(1)
        #expect(Self.mode(strategy.log) == 0o600, "a strategy log is \(String(Self.mode(strategy.log) ?? 0, radix: 8))")
        #expect(try await Self.readableByAnotherUser(strategy.log).status != 0, "uid 61999 read a strategy's log")
        for path in [
            database, database + "-wal", database + "-shm", folder.path("desk-admin.token"), database + ".lock",
        ] {
            #expect(Self.mode(path) == 0o600, "\(path) is \(String(Self.mode(path) ?? 0, radix: 8))")
            #expect(try await Self.readableByAnotherUser(path).status != 0, "uid 61999 read \(path)")
        }
        #expect(Self.mode(folder.path("logs")) == 0o700)
        // The socket: the desk's user and its group only (60999 by default when the desk runs as root).
        var status = stat()
        #expect(stat(folder.path("desk.sock"), &status) == 0)
        #expect(status.st_mode & 0o777 == 0o660)
        #expect(status.st_gid == DeskConfiguration.defaultSocketGroup)
    }

    @Test("desk tokens issue creates a missing ledger 0600 too, and says which ledger it wrote to")
    func cliCreatesPrivateLedger() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("new/desk.db")
        let result = try await runCommand(
            "/bin/sh", ["-c", "umask 000; exec \"$0\" tokens issue alice --db \"$1\"", deskExecutable().path, database])
        #expect(result.status == 0, "\(result.output)")
        #expect(Self.mode(database) == 0o600)
        #expect(result.output.contains("written to the ledger \(database) (a new, empty ledger)"), "\(result.output)")
        #expect(result.output.contains("no desk is running on it now"))
    }
}

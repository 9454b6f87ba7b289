import DeskApp
import DeskAppTestSupport
import DeskCore
import DeskHTTP
import DeskIdentity
import DeskLedger
import DeskTestSupport
import Foundation
import Testing

/// Status of `GET path` with `token` on the desk's TCP port.
func status(_ desk: DeskServerProcess, _ path: String, token: String) async throws -> Int {
    let connection = try RawConnection.tcp(port: desk.port)
    return await connection.request("GET", path, headers: ["Authorization": "Bearer \(token)"])?.status ?? -1
}

@Suite("One ledger, one desk; strategy tokens end with their desk", .serialized)
struct SingleDeskTests {
    @Test(
        "a strategy's token from a desk killed with SIGKILL is refused once the desk starts again; hand-issued tokens live on"
    )
    func tokensDoNotOutliveKill() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let strategy = try TokenLeakingStrategy(folder: folder)
        let byHand = try await Ledger(path: database).issueToken(member: "alice", strategy: TokenLeakingStrategy.name)
            .secret

        let first = try DeskServerProcess(database: database, folder: folder, arguments: strategy.serveArguments)
        let started = try await runDesk([
            "strategies", "start", TokenLeakingStrategy.name, "--db", database, "--server",
            "http://127.0.0.1:\(first.port)",
        ])
        #expect(started.status == 0, "\(started.output)")
        let leaked = try #require(try await strategy.waitForTokens(1).first)
        #expect(try await status(first, "/orders", token: leaked) == 200, "the strategy's token works while it runs")
        first.kill9()

        let second = try DeskServerProcess(
            database: database, folder: folder, arguments: strategy.serveArguments, environment: ["LOG_LEVEL": "info"])
        defer { second.stop() }
        #expect(
            try await status(second, "/orders", token: leaked) == 401, "a token of a killed desk's strategy still works"
        )
        #expect(try await status(second, "/orders", token: byHand) == 200, "a hand-issued strategy token was revoked")
        #expect(second.log.contains("revoked strategy tokens an earlier run left live"), "\(second.log)")
        #expect(second.log.contains("count=1"), "\(second.log)")
        // The strategy was running, so it runs again, with a new token.
        let tokens = try await strategy.waitForTokens(2)
        #expect(tokens[1] != leaked)
        #expect(try await status(second, "/orders", token: tokens[1]) == 200)
    }

    @Test("a second desk on a live ledger refuses to start, names the running desk and its lock, and changes nothing")
    func secondDeskRefused() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let strategy = try TokenLeakingStrategy(folder: folder)
        let first = try DeskServerProcess(
            database: database, folder: folder,
            arguments: strategy.serveArguments + ["--unix-socket", folder.path("first.sock")])
        defer { first.stop() }
        #expect(
            try await runDesk(["strategies", "start", TokenLeakingStrategy.name, "--db", database]).status == 0,
            "the CLI finds the running desk through the ledger's lock file")
        let token = try #require(try await strategy.waitForTokens(1).first)
        let ledger = try Ledger(readingExisting: database)
        let tokensBefore = try await ledger.tokens()
        let auditBefore = try ledger.count("audit_events")
        let adminBefore = try String(contentsOfFile: folder.path("desk-admin.token"), encoding: .utf8)

        let second = try await runDesk(
            [
                "serve", "--port", "0", "--db", database, "--feed", "none", "--unix-socket", folder.path("second.sock"),
            ] + strategy.serveArguments, environment: ["LOG_LEVEL": "info"], timeout: .seconds(20))
        #expect(second.status == 1, "\(second.output)")
        #expect(second.output.contains("already running on this ledger"), "\(second.output)")
        #expect(second.output.contains("pid \(first.pid)"), "\(second.output)")
        #expect(second.output.contains("http://127.0.0.1:\(first.port)"), "\(second.output)")
        #expect(second.output.contains("unix://\(folder.path("first.sock"))"), "\(second.output)")
        #expect(second.output.contains("lock file \(database).lock"), "\(second.output)")
        #expect(!second.output.contains("Usage:"), "a runtime failure prints no usage text")
        #expect(!second.output.contains("revoked strategy tokens"), "the second desk touched tokens")

        #expect(try await ledger.tokens() == tokensBefore, "the second desk changed the tokens")
        #expect(try ledger.count("audit_events") == auditBefore)
        #expect(try String(contentsOfFile: folder.path("desk-admin.token"), encoding: .utf8) == adminBefore)
        #expect(!FileManager.default.fileExists(atPath: folder.path("second.sock")))
        #expect(
            try await status(first, "/orders", token: token) == 200, "the first desk's strategy token stopped working")
        #expect(strategy.tokens().count == 1, "the strategy was started twice")
    }

    @Test("the lock of a desk killed with SIGKILL is taken over, and the log says so")
    func staleLockTakenOver() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let first = try DeskServerProcess(database: database, folder: folder)
        let firstPid = first.pid
        first.kill9()
        #expect(FileManager.default.fileExists(atPath: database + ".lock"))
        let second = try DeskServerProcess(database: database, folder: folder, environment: ["LOG_LEVEL": "info"])
        defer { second.stop() }
        #expect(second.log.contains("took over the ledger's lock"), "\(second.log)")
        #expect(second.log.contains("previous_pid=\(firstPid)"), "\(second.log)")
        let lock = try String(contentsOfFile: database + ".lock", encoding: .utf8)
        #expect(lock.contains("\"pid\":\(second.pid)"), "\(lock)")
        #expect(lock.contains("http://127.0.0.1:\(second.port)"), "\(lock)")
    }

    @Test("a port in use fails with a plain message naming the port and --port, before the ledger exists")
    func portInUse() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let other = try DeskServerProcess(database: folder.path("other.db"), folder: folder)
        defer { other.stop() }
        let database = folder.path("fresh/desk.db")
        let result = try await runDesk(
            ["serve", "--port", "\(other.port)", "--db", database, "--feed", "none"], timeout: .seconds(20))
        #expect(result.status == 1, "\(result.output)")
        #expect(
            result.output.contains("port \(other.port) on 127.0.0.1 is already in use by another program"),
            "\(result.output)")
        #expect(result.output.contains("--port N (or PORT=N); --port 0 picks any free port"))
        #expect(!result.output.contains("errno"), "\(result.output)")
        #expect(!result.output.contains("Usage:"))
        #expect(!FileManager.default.fileExists(atPath: database), "the ledger was created anyway")

        let taken = try DeskServerProcess(
            database: folder.path("third.db"), folder: folder, arguments: ["--unix-socket", folder.path("shared.sock")])
        defer { taken.stop() }
        let clash = try await runDesk(
            ["serve", "--port", "0", "--db", database, "--feed", "none", "--unix-socket", folder.path("shared.sock")],
            timeout: .seconds(20))
        #expect(clash.status == 1, "\(clash.output)")
        #expect(clash.output.contains("unix socket \(folder.path("shared.sock")) is in use"), "\(clash.output)")
        #expect(!FileManager.default.fileExists(atPath: database))
        #expect(
            try await RawConnection.unix(path: folder.path("shared.sock")).request("GET", "/healthz")?.status == 200)
    }
}

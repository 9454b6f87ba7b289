import DeskApp
import DeskAppTestSupport
import DeskCore
import DeskHTTP
import DeskIdentity
import DeskLedger
import DeskTestSupport
import Foundation
import Testing

/// The `desk` command as a new user meets it: real processes, real ledgers.
@Suite("The desk command", .serialized)
struct DeskCLITests {
    @Test(
        "read commands never create a ledger and fail with the path they tried",
        arguments: [["orders"], ["positions"], ["tokens", "list"], ["tokens", "revoke", "1"]])
    func missingLedger(command: [String]) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("demo-work/desk.db")
        let result = try await runDesk(command + ["--db", database])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("no ledger at \(database)"), "\(result.output)")
        #expect(!result.output.contains("Usage:"))
        #expect(!FileManager.default.fileExists(atPath: database), "an empty ledger was created")
        #expect(!FileManager.default.fileExists(atPath: folder.path("demo-work")), "its folder was created")
    }

    @Test("runtime failures exit 1 with a plain message, no usage text; bad arguments keep ArgumentParser's 64")
    func exitCodes() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let unreachable = try await runDesk([
            "strategies", "status", "--server", "http://127.0.0.1:1", "--token", "desk_x", "--db", folder.path("d.db"),
        ])
        #expect(unreachable.status == 1, "\(unreachable.output)")
        #expect(unreachable.output.contains("no desk is answering at http://127.0.0.1:1"))
        #expect(!unreachable.output.contains("Usage:"))
        let noToken = try await runDesk(["halt", "--db", folder.path("d.db")])
        #expect(noToken.status == 1 && !noToken.output.contains("Usage:"), "\(noToken.output)")
        let badFlag = try await runDesk(["orders", "--limit", "0", "--db", folder.path("d.db")])
        #expect(badFlag.status == 64, "\(badFlag.output)")
        let help = try await runDesk(["orders", "--help"])
        #expect(help.output.contains("--member") && !help.output.contains("--user"), "\(help.output)")
        let badChoice = try await runDesk(["serve", "--broker", "ib", "--db", folder.path("d.db")])
        #expect(badChoice.status == 64 && badChoice.output.contains("'paper'"), "\(badChoice.output)")
        let badVariable = try await runDesk(
            ["serve", "--db", folder.path("d.db")], environment: ["DESK_FEED": "polygon"])
        #expect(badVariable.status == 1, "\(badVariable.output)")
        #expect(
            badVariable.output.contains("DESK_FEED=polygon is not a valid --feed: use synthetic, replay, alpaca, none"))
        #expect(!badVariable.output.contains("Usage:"))
        #expect(
            !FileManager.default.fileExists(atPath: folder.path("d.db")), "a refused configuration touched the ledger")
    }

    @Test("strategies: failures exit non-zero, folder paths name strategies, unknown names are said to be unknown")
    func strategies() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let strategy = try TokenLeakingStrategy(folder: folder)
        let desk = try DeskServerProcess(database: database, folder: folder, arguments: strategy.serveArguments)
        defer { desk.stop() }
        let several = try await runDesk(["strategies", "start", "x", "y", "z", "--db", database])
        #expect(several.status == 1, "\(several.output)")
        #expect(several.output.components(separatedBy: "FAIL").count == 4, "\(several.output)")
        #expect(several.output.contains("could not start x, y, z"))
        #expect(!several.output.contains("Usage:"))

        let path = strategy.strategies + "/" + TokenLeakingStrategy.name + "/"
        let started = try await runDesk(["strategies", "start", path, "--db", database])
        #expect(started.status == 0, "\(started.output)")
        _ = try await strategy.waitForTokens(1)
        let logs = try await runDesk([
            "strategies", "logs", "strategies/\(TokenLeakingStrategy.name)/", "--db", database,
        ])
        #expect(logs.status == 0, "\(logs.output)")
        #expect(logs.output.contains("TOKEN desk_"), "\(logs.output)")
        let status = try await runDesk(["strategies", "status", path, "--db", database])
        #expect(status.status == 0 && status.output.contains(TokenLeakingStrategy.name), "\(status.output)")
        let unknownLogs = try await runDesk(["strategies", "logs", "nosuch", "--db", database])
        #expect(unknownLogs.status == 1, "\(unknownLogs.output)")
        #expect(unknownLogs.output.contains(#"no strategy "nosuch""#), "\(unknownLogs.output)")
        #expect(unknownLogs.output.contains("strategies: \(TokenLeakingStrategy.name)"), "\(unknownLogs.output)")
        let unknownStatus = try await runDesk(["strategies", "status", "nosuch", "--db", database])
        #expect(unknownStatus.status == 1, "\(unknownStatus.output)")
        let stopped = try await runDesk(["strategies", "stop", TokenLeakingStrategy.name, "--db", database])
        #expect(stopped.status == 0, "\(stopped.output)")
    }

    @Test("orders say when they are truncated; positions show prices and P&L as money, exact in --json")
    func reports() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let token = try await Ledger(path: database).issueToken(member: "alice").secret
        let desk = try DeskServerProcess(database: database, folder: folder)
        defer { desk.stop() }
        let admin = try #require(AdminTokenFile.read(path: folder.path("desk-admin.token")))
        let connection = try RawConnection.tcp(port: desk.port)
        let json = ["Content-Type": "application/json"]
        for (price, qty, side) in [("100.01", "3", "buy"), ("100.02", "3", "buy"), ("100.04", "2", "sell")] {
            #expect(
                await connection.request(
                    "POST", "/admin/prices", headers: json.merging(["Authorization": "Bearer \(admin)"]) { $1 },
                    body: #"{"symbol":"AAPL","price":"\#(price)"}"#)?.status == 200)
            #expect(
                await connection.request(
                    "POST", "/order", headers: json.merging(["Authorization": "Bearer \(token)"]) { $1 },
                    body: #"{"symbol":"AAPL","qty":"\#(qty)","side":"\#(side)"}"#)?.status == 201)
        }
        let orders = try await runDesk(["orders", "--limit", "2", "--db", database])
        #expect(orders.status == 0, "\(orders.output)")
        #expect(orders.output.contains("2 of 3 orders shown (newest first); --limit N shows more"), "\(orders.output)")
        for flag in ["--member", "--user"] {
            let mine = try await runDesk(["orders", flag, "alice", "--status", "filled", "--db", database])
            #expect(mine.status == 0 && mine.output.contains("3 order(s)"), "\(flag): \(mine.output)")
            let nobody = try await runDesk(["orders", flag, "bob", "--db", database])
            #expect(nobody.output.contains("0 order(s)"), "\(flag): \(nobody.output)")
        }
        let both = try await runDesk(["orders", "--member", "a", "--user", "b", "--db", database])
        #expect(both.status == 64 && both.output.contains("--user is the older name of --member"), "\(both.output)")
        let badStatus = try await runDesk(["orders", "--status", "bogus", "--db", database])
        #expect(badStatus.status == 64 && badStatus.output.contains("partially_filled"), "\(badStatus.output)")
        #expect(orders.output.contains("100.04"), "prices keep their precision: \(orders.output)")

        // Average entry 100.015; realized (100.04 - 100.015) × 2 = 0.05; unrealized (100.04 - 100.015) × 4 = 0.1.
        let positions = try await runDesk(["positions", "--db", database])
        #expect(positions.status == 0, "\(positions.output)")
        let row = try #require(positions.output.split(separator: "\n").first { $0.hasPrefix("alice") })
        let cells = row.split(separator: " ").map(String.init)
        #expect(
            cells == ["alice", "paper", "AAPL", "4", "100.015", "100.04", "400.06", "400.16", "+0.05", "+0.10"],
            "\(row)")
        let exact = try await runDesk(["positions", "--json", "--db", database])
        let object = try JSONSerialization.jsonObject(with: Data(exact.output.utf8)) as? [String: [[String: Any]]]
        let position = try #require(object?["positions"]?.first)
        #expect(position["unrealized_pnl"] as? String == "0.1")
        #expect(position["market_price"] as? String == "100.04")
        #expect(position["avg_entry_price"] as? String == "100.015")
        desk.stop()
        let offline = try await runDesk(["positions", "--db", database])
        #expect(
            offline.output.contains("market prices unknown (no desk is running on this ledger)"), "\(offline.output)")
    }

    @Test("desk tokens issue --metrics makes a token for Prometheus: /metrics yes, orders and reads no")
    func metricsToken() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let member = try await Ledger(path: database).issueToken(member: "alice").secret
        let desk = try DeskServerProcess(database: database, folder: folder)
        defer { desk.stop() }
        let issued = try await runDesk(["tokens", "issue", "prometheus", "--metrics", "--db", database])
        #expect(issued.status == 0, "\(issued.output)")
        #expect(issued.output.contains("the desk running on it (pid \(desk.pid)"), "\(issued.output)")
        let metrics = String(issued.output.split(separator: "\n")[0])
        let connection = try RawConnection.tcp(port: desk.port)
        #expect(await connection.request("GET", "/metrics")?.status == 401)
        #expect(
            await connection.request("GET", "/metrics", headers: ["Authorization": "Bearer \(member)"])?.status == 403)
        let scraped = await connection.request("GET", "/metrics", headers: ["Authorization": "Bearer \(metrics)"])
        #expect(scraped?.status == 200)
        #expect(scraped?.body.contains("desk_orders_total") == true)
        #expect(
            await connection.request("GET", "/orders", headers: ["Authorization": "Bearer \(metrics)"])?.status == 403)
        let order = await connection.request(
            "POST", "/order", headers: ["Authorization": "Bearer \(metrics)", "Content-Type": "application/json"],
            body: #"{"symbol":"AAPL","qty":"1","side":"buy"}"#)
        #expect(order?.status == 403)
        #expect(try Ledger(readingExisting: database).count("orders") == 0)
        let list = try await runDesk(["tokens", "list", "--db", database])
        #expect(list.output.contains("metrics"), "\(list.output)")
    }

    @Test("desk demo from another folder finds its checkout's Python path; with a broken one it shows why and exits 1")
    func demo() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let checkout = try #require(DeskCheckout.root(searchingUpFrom: deskExecutable().deletingLastPathComponent()))
        let strategies = folder.path("strategies")
        let one = URL(fileURLWithPath: strategies).appendingPathComponent("needs_client")
        try FileManager.default.createDirectory(at: one, withIntermediateDirectories: true)
        try "import desk_client_that_is_not_there\n".write(
            to: one.appendingPathComponent("strategy.py"), atomically: true, encoding: .utf8)
        let result = try await runDesk(
            ["demo", "--duration", "6", "--work", folder.path("work"), "--strategies", strategies, "--feed-rate", "5"],
            in: folder.url, timeout: .seconds(60))
        #expect(result.status == 1, "\(result.output)")
        let pythonPath = DeskCheckout.defaultPythonPath(checkout: checkout).pythonPath
        #expect(pythonPath.hasPrefix("\(checkout.path)/.venv/strategy-site:\(checkout.path)/clients/python"))
        #expect(
            result.output.contains("python path: \(pythonPath) (from the desk's checkout at \(checkout.path)"),
            "\(result.output)")
        #expect(result.output.contains("strategy needs_client FAILED"), "\(result.output)")
        #expect(result.output.contains("ModuleNotFoundError"), "the strategy's own error is shown: \(result.output)")
        #expect(result.output.contains("no strategy could run"), "\(result.output)")
        #expect(!result.output.contains("Usage:"))
    }

    @Test("a second desk demo keeps the last run's ledger and logs in <work>/previous and says so")
    func demoKeepsTheLastRun() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let strategies = URL(fileURLWithPath: folder.path("strategies")).appendingPathComponent("quiet")
        try FileManager.default.createDirectory(at: strategies, withIntermediateDirectories: true)
        try "import sys\nfor line in sys.stdin:\n    pass\n".write(
            to: strategies.appendingPathComponent("strategy.py"), atomically: true, encoding: .utf8)
        let arguments = [
            "demo", "--duration", "1", "--work", folder.path("work"), "--strategies", folder.path("strategies"),
        ]
        let first = try await runDesk(arguments, in: folder.url, timeout: .seconds(60))
        #expect(first.status == 0, "\(first.output)")
        #expect(!first.output.contains("kept in"), "\(first.output)")
        let second = try await runDesk(arguments, in: folder.url, timeout: .seconds(60))
        #expect(second.status == 0, "\(second.output)")
        #expect(
            second.output.contains("the last demo's ledger and logs are kept in \(folder.path("work/previous"))"),
            "\(second.output)")
        #expect(FileManager.default.fileExists(atPath: folder.path("work/previous/trading_desk.db")))
        #expect(FileManager.default.fileExists(atPath: folder.path("work/previous/logs/quiet.log")))
        #expect(FileManager.default.fileExists(atPath: folder.path("work/trading_desk.db")))
    }
}

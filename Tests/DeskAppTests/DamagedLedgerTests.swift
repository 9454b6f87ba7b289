import AsyncHTTPClient
import DeskCore
import DeskLedger
import DeskTestSupport
import Foundation
import NIOCore
import Testing

/// A real `desk serve` on a ledger with one 4 KiB page overwritten behind its back:
/// it must refuse to start, naming the file and what to do, rather than answer
/// 201 to orders it cannot read back; on the intact ledger it starts and trades.
@Suite("A damaged ledger")
struct DamagedLedgerTests {
    @Test("one page overwritten: desk serve exits non-zero with the file and the way out; the intact copy serves")
    func overwrittenPage() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let pristine = folder.path("pristine/desk.db")
        try FileManager.default.createDirectory(
            atPath: folder.path("pristine"), withIntermediateDirectories: true)
        let config = folder.path("desk.json")
        try Data(#"{"risk": {"defaults": {"orders_per_second": 100000, "order_burst": 100000}}}"#.utf8).write(
            to: URL(fileURLWithPath: config))
        let setup = try Ledger(path: pristine)
        let admin = try await setup.issueToken(member: "root", isAdmin: true).secret
        let token = try await setup.issueToken(member: "alice").secret
        // A real desk writes a few hundred orders, then stops cleanly (its WAL checkpointed into the file).
        let first = try DeskServerProcess(database: pristine, folder: folder, arguments: ["--config", config])
        #expect(
            try await deskRequest(
                first.port, .POST, "/admin/prices", token: admin, json: #"{"symbol":"AAPL","price":"100"}"#
            ).status
                == 200)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<40 {
                        let status = try await deskRequest(
                            first.port, .POST, "/order", token: token,
                            json: #"{"symbol":"AAPL","qty":"1","side":"buy"}"#
                        ).status
                        #expect(status == 201)
                    }
                }
            }
            try await group.waitForAll()
        }
        first.stop()
        // Everything into the main file, so that the page overwritten there is the one SQLite reads.
        let checkpoint = try await runCommand(
            "/usr/bin/python3",
            [
                "-c",
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()",
                pristine,
            ])
        #expect(checkpoint.status == 0, "\(checkpoint.output)")
        let wal = (try? FileManager.default.attributesOfItem(atPath: pristine + "-wal")[.size] as? Int) ?? 0
        #expect(wal == 0, "the WAL was not checkpointed: \(wal) bytes")
        let size = try FileManager.default.attributesOfItem(atPath: pristine)[.size] as! Int
        let pageSize = 4096
        let count = size / pageSize
        #expect(count > 20, "\(count) pages")
        for page in [count / 4, count / 2, count - 1] {
            let folderName = "damaged-\(page)"
            try FileManager.default.createDirectory(atPath: folder.path(folderName), withIntermediateDirectories: true)
            let damaged = folder.path("\(folderName)/desk.db")
            try FileManager.default.copyItem(atPath: pristine, toPath: damaged)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: damaged))
            try handle.seek(toOffset: UInt64((page - 1) * pageSize))
            handle.write(Data((0..<pageSize).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ page) }))
            try handle.close()
            let result = try await runDesk(
                ["serve", "--port", "0", "--db", damaged, "--feed", "none"], timeout: .seconds(15))
            #expect(result.status == 1, "page \(page) of \(count): status \(result.status)\n\(result.output)")
            #expect(result.output.contains("the ledger \(damaged) is damaged"), "page \(page): \(result.output)")
            #expect(result.output.contains("restore it from a backup"), "page \(page): \(result.output)")
            #expect(!result.output.contains("desk listening"), "page \(page): \(result.output)")
        }
        // The intact ledger starts and takes orders.
        let again = try DeskServerProcess(database: pristine, folder: folder)
        defer { again.stop() }
        #expect(
            try await deskRequest(
                again.port, .POST, "/admin/prices", token: admin, json: #"{"symbol":"AAPL","price":"100"}"#
            ).status
                == 200)
        #expect(
            try await deskRequest(
                again.port, .POST, "/order", token: token, json: #"{"symbol":"AAPL","qty":"1","side":"buy"}"#
            ).status
                == 201)
    }

    @Test("a ledger that does not keep an order as written: 503 and no order, never a 201 for it")
    func orderNotKeptAsWritten() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let setup = try Ledger(path: database)
        let admin = try await setup.issueToken(member: "root", isAdmin: true).secret
        let token = try await setup.issueToken(member: "alice").secret
        // The storage below the desk changes what it was given: every new order is stored with another qty.
        let damage = try await runCommand(
            "/usr/bin/python3",
            [
                "-c",
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(\"CREATE TRIGGER damage AFTER INSERT ON orders BEGIN UPDATE orders SET qty = '999' WHERE order_id = NEW.order_id; END\"); c.commit(); c.close()",
                database,
            ])
        #expect(damage.status == 0, "\(damage.output)")
        let desk = try DeskServerProcess(database: database, folder: folder)
        defer { desk.stop() }
        #expect(
            try await deskRequest(
                desk.port, .POST, "/admin/prices", token: admin, json: #"{"symbol":"AAPL","price":"100"}"#
            ).status
                == 200)
        let reply = try await deskRequest(
            desk.port, .POST, "/order", token: token, json: #"{"symbol":"AAPL","qty":"1","side":"buy"}"#)
        #expect(reply.status == 503, "\(reply.status) \(reply.body)")
        #expect(reply.body.contains("could not record the order"), "\(reply.body)")
        let stored = try await Ledger(readingExisting: database).orders(OrderQuery(member: nil, limit: 10))
        #expect(stored.isEmpty, "\(stored)")
    }
}

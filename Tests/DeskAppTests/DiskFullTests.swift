import AsyncHTTPClient
import DeskCore
import DeskLedger
import DeskTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// A real `desk serve` whose ledger's disk fills up behind its back (a 16 MiB
/// tmpfs, filled by another process): it must refuse orders cleanly (503 with a
/// message), keep answering, never lose an order it acknowledged, and trade again
/// once space returns — never crash.
@Suite("The ledger's disk full")
struct DiskFullTests {
    /// Writes `path` until the filesystem says it is full.
    static func fill(_ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x5A, count: 64 << 10)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    @Test("orders are refused with 503 while the disk is full, none acknowledged is lost, trading resumes after")
    func fullDisk() async throws {
        try #require(getuid() == 0, "mounts a small tmpfs: needs root (CI runs as root)")
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let disk = folder.path("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        try #require(mount("tmpfs", disk, "tmpfs", 0, "size=16m") == 0, "mount a 16 MiB tmpfs")
        defer { umount2(disk, Int32(MNT_DETACH)) }
        let database = disk + "/desk.db"
        let config = folder.path("desk.json")
        try Data(#"{"risk": {"defaults": {"orders_per_second": 100000, "order_burst": 100000}}}"#.utf8).write(
            to: URL(fileURLWithPath: config))
        let setup = try Ledger(path: database)
        let admin = try await setup.issueToken(member: "root", isAdmin: true).secret
        let token = try await setup.issueToken(member: "alice").secret
        setup.close()
        let desk = try DeskServerProcess(database: database, folder: folder, arguments: ["--config", config])
        defer { desk.stop() }
        let order = #"{"symbol":"AAPL","qty":"1","side":"buy"}"#
        #expect(
            try await deskRequest(
                desk.port, .POST, "/admin/prices", token: admin, json: #"{"symbol":"AAPL","price":"100"}"#
            )
            .status == 200)
        var acknowledged = 0
        #expect(try await deskRequest(desk.port, .POST, "/order", token: token, json: order).status == 201)
        acknowledged += 1

        // Another process fills the disk; the desk finds out at its next writes.
        let filler = disk + "/filler"
        Self.fill(filler)
        var refusal: (status: Int, body: String)?
        for _ in 0..<5_000 {
            let answer = try await deskRequest(desk.port, .POST, "/order", token: token, json: order)
            if answer.status == 201 {
                acknowledged += 1
            } else {
                refusal = answer
                break
            }
        }
        let refused = try #require(refusal, "5,000 orders on a full disk were all acknowledged")
        #expect(refused.status == 503, "\(refused.body)")
        #expect(refused.body.contains("disk is full"), "\(refused.body)")
        #expect(try await deskRequest(desk.port, .GET, "/healthz", token: token).status == 200)
        #expect(kill(desk.pid, 0) == 0, "the desk is still running:\n\(desk.log)")

        // Space returns: the desk trades again, and every order it acknowledged is there.
        unlink(filler)
        let resumed = await eventually(within: 20) {
            (try? await deskRequest(desk.port, .POST, "/order", token: token, json: order).status) == 201
        }
        #expect(resumed, "no order was acknowledged after the space returned:\n\(desk.log)")
        if resumed { acknowledged += 1 }
        let orders = try await deskRequest(desk.port, .GET, "/orders?limit=10000", token: token)
        #expect(orders.status == 200)
        let listed = orders.body.components(separatedBy: "\"order_id\"").count - 1
        // Every order acknowledged is there, and none refused is.
        #expect(listed == acknowledged, "\(acknowledged) acknowledged, \(listed) listed")
    }
}

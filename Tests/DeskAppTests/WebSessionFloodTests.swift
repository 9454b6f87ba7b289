import DeskCore
import DeskLedger
import DeskTestSupport
import Foundation
import Testing

/// One member signs in over and over, from many connections at once, against
/// the real desk: only their own oldest sessions end.
@Suite("A member flooding the web desk's sign-in", .serialized)
struct WebSessionFloodTests {
    /// The `desk_session=…` pair of a sign-in's answer, if it set one.
    static func signIn(_ client: RawConnection, token: String) async -> String? {
        let body = #"{"token":"\#(token)"}"#
        let head =
            "POST /session HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        guard client.send(head + body) else { return nil }
        var collected = ""
        while !collected.contains("\r\n\r\n") || !collected.hasSuffix("}") {
            guard case .bytes(let bytes) = await client.receive(timeout: .seconds(10)) else { return nil }
            collected += String(decoding: bytes, as: UTF8.self)
        }
        guard collected.hasPrefix("HTTP/1.1 200"), let range = collected.range(of: "desk_session=") else { return nil }
        return "desk_session=" + collected[range.upperBound...].prefix { $0 != ";" }
    }

    static func status(_ port: Int, cookie: String) async throws -> Int? {
        try await RawConnection.tcp(port: port).request("GET", "/session", headers: ["Cookie": cookie])?.status
    }

    @Test("400 sign-ins by one member on 8 connections at once end only that member's oldest sessions")
    func flood() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let ledger = try Ledger(path: database)
        let alice = try await ledger.issueToken(member: "alice").secret
        let bob = try await ledger.issueToken(member: "bob").secret
        let root = try await ledger.issueToken(member: "root", isAdmin: true).secret
        let config = folder.path("desk.json")
        try #"{"web": {"sessions_per_member": 3, "max_sessions": 50}}"#.write(
            toFile: config, atomically: true, encoding: .utf8)
        let desk = try DeskServerProcess(database: database, folder: folder, arguments: ["--config", config])
        defer { desk.stop() }
        let admin = try #require(await Self.signIn(try RawConnection.tcp(port: desk.port), token: root))
        let other = try #require(await Self.signIn(try RawConnection.tcp(port: desk.port), token: bob))
        let first = try #require(await Self.signIn(try RawConnection.tcp(port: desk.port), token: alice))

        let port = desk.port
        let signedIn = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let client = try RawConnection.tcp(port: port)
                    var count = 0
                    for _ in 0..<50 where await Self.signIn(client, token: alice) != nil { count += 1 }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(signedIn == 400, "alice's own sign-ins were refused")
        let last = try #require(await Self.signIn(try RawConnection.tcp(port: desk.port), token: alice))
        #expect(try await Self.status(desk.port, cookie: admin) == 200, "the admin was signed out")
        #expect(try await Self.status(desk.port, cookie: other) == 200, "bob was signed out")
        #expect(try await Self.status(desk.port, cookie: first) == 401, "alice's oldest session outlived her cap")
        #expect(try await Self.status(desk.port, cookie: last) == 200)
    }
}

import DeskCore
import DeskIdentity
import DeskLedger
import DeskTestSupport
import Foundation
import Testing

/// Far more live pages, streams and token checks at once than the machine has
/// cores, against the real desk: no request handler may block one of the
/// concurrency pool's threads (on the ledger or anything else), or the few
/// threads there are wait on each other and the desk stops answering for good.
@Suite("A crowd of live pages, streams and token checks", .serialized)
struct CrowdTests {
    @Test(
        "48 live pages from 12 members opened at once, with streams, orders and bad tokens: /healthz answers, SIGTERM stops the desk"
    )
    func crowd() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let members = (0..<12).map { "member\($0)" }
        var tokens: [String] = []
        let ledger = try Ledger(path: database)
        for member in members { tokens.append(try await ledger.issueToken(member: member).secret) }
        let desk = try DeskServerProcess(database: database, folder: folder, arguments: ["--max-connections", "1000"])
        defer { desk.kill9() }
        let admin = try #require(AdminTokenFile.read(path: folder.path("desk-admin.token")))
        let setup = try RawConnection.tcp(port: desk.port)
        let price = await setup.request(
            "POST", "/admin/prices", headers: ["Authorization": "Bearer \(admin)", "Content-Type": "application/json"],
            body: #"{"symbol":"AAPL","price":"100"}"#)
        #expect(price?.status == 200)

        // Every member's browser opens four live pages at the same moment (a desk restart).
        var pages: [RawConnection] = []
        for _ in 0..<4 {
            for _ in tokens { pages.append(try RawConnection.tcp(port: desk.port)) }
        }
        for (index, page) in pages.enumerated() {
            page.send(
                "GET /events HTTP/1.1\r\nHost: desk\r\nAuthorization: Bearer \(tokens[index % tokens.count])\r\n\r\n")
        }
        // Each member's trade_updates stream authenticates.
        var streams: [WebSocketPeer] = []
        for token in tokens {
            if let stream = try await WebSocketPeer.open(port: desk.port, path: "/stream") {
                stream.send(text: #"{"action":"authenticate","data":{"oauth_token":"\#(token)"}}"#)
                streams.append(stream)
            }
        }
        #expect(streams.count == tokens.count)

        let port = desk.port
        let slowest = try await withThrowingTaskGroup(of: Duration.self) { group in
            // Orders from every member, and token checks with tokens that are no one's (never cached).
            for (index, token) in tokens.enumerated() {
                group.addTask {
                    let client = try RawConnection.tcp(port: port)
                    for _ in 0..<10 {
                        let order = await client.request(
                            "POST", "/order",
                            headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
                            body: #"{"symbol":"AAPL","qty":"1","side":"buy"}"#, timeout: .seconds(5))
                        let refused = await client.request(
                            "GET", "/orders", headers: ["Authorization": "Bearer desk_nobody\(index)"],
                            timeout: .seconds(5))
                        guard order?.status == 201, refused?.status == 401 else { break }
                    }
                    return .zero
                }
            }
            // /healthz, asked again and again while the crowd is in: the slowest answer.
            group.addTask {
                var slowest = Duration.zero
                let started = ContinuousClock.now
                while ContinuousClock.now - started < .seconds(8) {
                    let asked = ContinuousClock.now
                    let client = try RawConnection.tcp(port: port)
                    let health = await client.request("GET", "/healthz", timeout: .seconds(5))
                    let took = health?.status == 200 ? ContinuousClock.now - asked : .seconds(999)
                    slowest = max(slowest, took)
                    if took > .seconds(5) { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return slowest
            }
            return try await group.reduce(Duration.zero) { max($0, $1) }
        }
        #expect(slowest < .seconds(3), "/healthz took \(slowest) (999 s: no answer within 5 s)")
        // The pages still receive their sections.
        let reading = await pages[0].receive(timeout: .seconds(5))
        #expect(reading != .timedOut && reading != .closed)

        // SIGTERM still stops the desk, with the pages and streams open.
        kill(desk.pid, SIGTERM)
        let stopping = ContinuousClock.now
        while desk.process.isRunning && ContinuousClock.now - stopping < .seconds(20) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!desk.process.isRunning, "the desk did not stop within 20 s of SIGTERM")
        _ = streams
    }
}

import DeskCore
import DeskLedger
import DeskTestSupport
import Foundation
import Testing

/// Live pages (`GET /events`) whose clients give up abruptly, against the real desk.
@Suite("Live pages reset by their clients", .serialized)
struct LivePageTests {
    @Test("40 live pages reset (RST) right after their request do not lock the member out of live pages")
    func resets() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let token = try await Ledger(path: database).issueToken(member: "alice").secret
        let desk = try DeskServerProcess(database: database, folder: folder)
        defer { desk.stop() }
        let request = "GET /events HTTP/1.1\r\nHost: desk\r\nAuthorization: Bearer \(token)\r\n\r\n"
        // Ten at a time, four times: each sends its request and resets at once, before any answer.
        for _ in 0..<4 {
            var clients: [RawConnection] = []
            for _ in 0..<10 {
                let client = try RawConnection.tcp(port: desk.port)
                client.resetOnClose()
                clients.append(client)
            }
            for client in clients { client.send(request) }
            clients.removeAll()
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(500))
        // The member opens as many live pages as allowed (8): each is served (a reset
        // request the desk is still working through holds its place a moment longer:
        // a page refused with 429 asks again, for up to 60 s on a loaded machine; a leaked place never returns).
        var pages: [RawConnection] = []
        let deadline = ContinuousClock.now + .seconds(60)
        var last = ""
        while pages.count < 8 && ContinuousClock.now < deadline {
            let page = try RawConnection.tcp(port: desk.port)
            page.send(request)
            guard case .bytes(let bytes) = await page.receive(timeout: .seconds(10)) else { continue }
            last = String(decoding: bytes, as: UTF8.self)
            if last.hasPrefix("HTTP/1.1 200") {
                pages.append(page)
            } else {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(pages.count == 8, "\(pages.count) live pages served; the last answer: \(last.prefix(200))")
    }
}

import DeskApp
import DeskRunner
import DeskTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The backtests routes through the desk's router, over a desk whose queue does not
/// run (so what is submitted stays queued): submit, list, get, cancel, the files,
/// who sees what, the caps and the refusals of bad data names.
@Suite("Backtests API: submit, list, get, cancel, 404 for another member, 429 over caps, 400 for bad names")
struct BacktestsAPITests {
    static func withDesk(
        uploadBytes: Int = 16 << 20, _ body: @escaping @Sendable (DeskHarness, TemporaryDirectory) async throws -> Void
    ) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let strategies = folder.url.appendingPathComponent("strategies")
        let trend = strategies.appendingPathComponent("alice--trend")
        try FileManager.default.createDirectory(at: trend, withIntermediateDirectories: true)
        try Data("import sys\nfor line in sys.stdin: pass\n".utf8).write(
            to: trend.appendingPathComponent("strategy.py"))
        try Data(#"{"member": "alice"}"#.utf8).write(to: trend.appendingPathComponent("config.json"))
        let research = folder.url.appendingPathComponent("research")
        try FileManager.default.createDirectory(at: research, withIntermediateDirectories: true)
        try Data(#"{"symbol": "AAPL", "price": "1"}"#.utf8).write(to: research.appendingPathComponent("ticks.jsonl"))
        try await DeskHarness.run(configure: { configuration in
            configuration.runtime = SupervisorConfiguration(
                strategiesDirectory: strategies, logsDirectory: folder.url.appendingPathComponent("logs"),
                deskURL: "http://127.0.0.1:1", python: "python3", pythonPath: "")
            configuration.research.dataFolder = research.path
            configuration.research.memberQueued = 2
            configuration.upload = ArchiveLimits(maxBytes: uploadBytes)
        }) { desk in try await body(desk, folder) }
    }

    static let submission = #"{"strategy": "trend", "data": [{"file": "ticks.jsonl"}]}"#

    @Test("a member submits, lists, sees and cancels their own; another member gets 404; a third is 429")
    func lifecycle() async throws {
        try await Self.withDesk { desk, _ in
            let alice = try await desk.token("alice")
            let bob = try await desk.token("bob")
            let officer = try await desk.app.ledger.issueToken(member: "olga", isOfficer: true).secret
            let (status, first) = try await desk.json(.post, "/backtests", token: alice, body: Self.submission)
            #expect(status == .accepted)
            let id = try #require(first["id"] as? String)
            #expect(id.hasPrefix("bt-") && first["status"] as? String == "queued")
            #expect(first["member"] as? String == "alice" && first["strategy"] as? String == "trend")
            #expect((first["progress"] as? [String: Int]) == ["runs_done": 0, "runs_total": 1])
            let (secondStatus, _) = try await desk.json(.post, "/backtests", token: alice, body: Self.submission)
            #expect(secondStatus == .accepted)
            let (capped, refusal) = try await desk.json(.post, "/backtests", token: alice, body: Self.submission)
            #expect(capped == .tooManyRequests)
            #expect(
                (refusal["message"] as? String)?.hasPrefix(
                    "you have 2 backtests queued or running (research.member_queued is 2)") == true)

            let (listed, list) = try await desk.json(.get, "/backtests", token: alice)
            #expect(listed == .ok && (list["backtests"] as? [Any])?.count == 2)
            let (bobList, bobs) = try await desk.json(.get, "/backtests", token: bob)
            #expect(bobList == .ok && (bobs["backtests"] as? [Any])?.count == 0)
            let (officerList, all) = try await desk.json(.get, "/backtests", token: officer)
            #expect(officerList == .ok && (all["backtests"] as? [Any])?.count == 2)

            for (method, path) in [
                (HTTPRequest.Method.get, "/backtests/\(id)"), (.post, "/backtests/\(id)/cancel"),
                (.get, "/backtests/\(id)/files/report.html"), (.get, "/backtests/\(id)/runs/0001/report.html"),
            ] {
                let (code, reply) = try await desk.json(method, path, token: bob)
                #expect(code == .notFound, "\(path)")
                #expect((reply["message"] as? String)?.contains(id) == true)
            }
            let (got, view) = try await desk.json(.get, "/backtests/\(id)", token: alice)
            #expect(got == .ok && view["status"] as? String == "queued")
            let (noFile, missing) = try await desk.json(.get, "/backtests/\(id)/files/desk.db", token: alice)
            #expect(noFile == .notFound && (missing["message"] as? String)?.contains("has no file") == true)
            let (canceled, after) = try await desk.json(.post, "/backtests/\(id)/cancel", token: alice)
            #expect(canceled == .ok && after["status"] as? String == "canceled")
            // A place in the queue again.
            let (again, _) = try await desk.json(.post, "/backtests", token: alice, body: Self.submission)
            #expect(again == .accepted)
            let (unknown, _) = try await desk.json(.get, "/backtests/bt-nothing", token: alice)
            #expect(unknown == .notFound)
            #expect(try desk.app.ledger.count("backtests") == 3)
        }
    }

    @Test("the web desk's Backtests section: the member's own, with Cancel while queued; not another member's")
    func page() async throws {
        try await Self.withDesk { desk, _ in
            let alice = try await desk.token("alice")
            let (status, submitted) = try await desk.json(.post, "/backtests", token: alice, body: Self.submission)
            #expect(status == .accepted)
            let id = try #require(submitted["id"] as? String)
            func page(_ token: String) async throws -> String {
                let session = try await desk.client.execute(
                    uri: "/session", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"token": "\#(token)"}"#))
                let cookie = String((session.headers[.setCookie] ?? "").split(separator: ";")[0])
                let response = try await desk.client.execute(
                    uri: "/", method: .get, headers: [.cookie: cookie], body: nil)
                return String(buffer: response.body)
            }
            let mine = try await page(alice)
            #expect(mine.contains("<h2 id=\"h-backtests\">Backtests</h2>"))
            #expect(mine.contains("data-backtest-status=\"\(id)\">queued</span>"))
            #expect(mine.contains("data-path=\"/backtests/\(id)/cancel\""))
            let theirs = try await page(try await desk.token("bob"))
            #expect(theirs.contains("No backtests yet") && !theirs.contains(id))
        }
    }

    @Test("submissions at once: no two pass member_queued together (decided in one step of the queue)")
    func concurrentSubmissions() async throws {
        try await Self.withDesk { desk, _ in
            let alice = try await desk.token("alice")
            let codes = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        Int(try await desk.json(.post, "/backtests", token: alice, body: Self.submission).0.code)
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(codes.sorted() == [202, 202, 429, 429, 429, 429, 429, 429])
            #expect(try desk.app.ledger.count("backtests") == 2)
        }
    }

    @Test("an uploaded data file over the upload limit: 413 naming the limit; a body far over it: 413 unread")
    func uploadLimit() async throws {
        try await Self.withDesk(uploadBytes: 1000) { desk, _ in
            let alice = try await desk.token("alice")
            let content = Data(repeating: UInt8(ascii: "x"), count: 1001).base64EncodedString()
            let body = #"{"strategy": "trend", "data": [{"upload": {"name": "big.jsonl", "content": "\#(content)"}}]}"#
            let (status, reply) = try await desk.json(.post, "/backtests", token: alice, body: body)
            #expect(status == .contentTooLarge)
            #expect((reply["message"] as? String)?.contains("at most 1000 bytes (strategies.upload.max_bytes)") == true)
            let huge = String(repeating: "A", count: 300 * 1024)
            let (tooLarge, _) = try await desk.json(
                .post, "/backtests", token: alice,
                body: #"{"strategy": "trend", "data": [{"upload": {"name": "a.csv", "content": "\#(huge)"}}]}"#)
            #expect(tooLarge == .contentTooLarge)
            #expect(try desk.app.ledger.count("backtests") == 0)
        }
    }

    @Test(
        "bad submissions: 400 saying what was wrong, 404 for another member's strategy",
        arguments: [
            (
                #"{"strategy": "trend", "data": [{"file": "../x.jsonl"}]}"#, 400,
                "data file \"../x.jsonl\" is not allowed"
            ),
            (#"{"strategy": "trend", "data": [{"file": "/etc/passwd"}]}"#, 400, "is not allowed: a file name"),
            (#"{"strategy": "trend", "data": [{"file": "nope.jsonl"}]}"#, 400, "no data file \"nope.jsonl\""),
            (#"{"strategy": "trend", "data": []}"#, 400, "\"data\" is empty"),
            (#"{"data": [{"file": "ticks.jsonl"}]}"#, 400, "send exactly one of \"strategy\""),
            (
                #"{"strategy": "trend", "data": [{"file": "ticks.jsonl", "upload": {"name": "a.csv", "content": ""}}]}"#,
                400, "each data set is exactly one"
            ),
            (
                #"{"strategy": "trend", "data": [{"recorded": {"from": "2026-01-05", "to": "2026-01-06"}}]}"#, 400,
                "no recorded feed for 2026-01-05 to 2026-01-06"
            ),
            (
                #"{"strategy": "trend", "data": [{"upload": {"name": "x.jsonl", "content": "!!"}}]}"#, 400,
                "is not base64"
            ),
            (
                #"{"strategy": "bobs", "data": [{"file": "ticks.jsonl"}]}"#, 404,
                "you have no deployed strategy \"bobs\""
            ),
            (#"{"strategy": "trend", "data": [{"file": "ticks.jsonl"}], "jobs": 0}"#, 400, "jobs 0 is not allowed"),
            (#"{"strategy": "trend", "data": [{"file": "ticks.jsonl"}], "from": "yesterday"}"#, 400, "is not a date"),
        ] as [(String, Int, String)])
    func refusals(body: String, code: Int, message: String) async throws {
        try await Self.withDesk { desk, folder in
            let alice = try await desk.token("alice")
            let (status, reply) = try await desk.json(.post, "/backtests", token: alice, body: body)
            #expect(Int(status.code) == code)
            #expect((reply["message"] as? String)?.contains(message) == true, "\(reply)")
            let left =
                (try? FileManager.default.contentsOfDirectory(
                    atPath: folder.url.appendingPathComponent("research/backtests").path)) ?? []
            #expect(left.isEmpty, "a refused submission leaves nothing behind")
            #expect(try desk.app.ledger.count("backtests") == 0)
        }
    }
}

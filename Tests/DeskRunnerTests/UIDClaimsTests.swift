import Foundation
import Testing

@testable import DeskRunner

@Suite("Machine-wide uid claims: a claim whose owner is gone is taken over, a live one never")
struct UIDClaimsTests {
    private static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("uid-claims-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test(
        "whose owner is gone, by the holder a claim names",
        arguments: [
            // A ledger path that exists is a desk that may still run; one deleted is gone.
            ("existing ledger", "EXISTING alice", false),
            ("deleted ledger", "/nonexistent/desk-\(UUID().uuidString)/desk.db alice", true),
            // An in-memory store names its process: this one runs, pid 2^31-2 does not.
            ("memory store of a running process", "memory pid \(getpid()) ID alice", false),
            ("memory store of an ended process", "memory pid 2147483646 ID alice", true),
            // Holders that name no owner that can be checked are kept.
            ("an older desk's memory store", "memory 7F1C614C alice", false),
            ("the floor", "lockstep-floor /tmp/nothing-here", false),
            ("empty", "", false),
        ])
    func gone(_ example: (name: String, holder: String, gone: Bool)) throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ledger = folder.appendingPathComponent("desk.db")
        #expect(FileManager.default.createFile(atPath: ledger.path, contents: Data()))
        let holder = example.holder.replacingOccurrences(of: "EXISTING", with: ledger.path) + "\n"
        #expect(UIDClaims.isGone(holder) == example.gone, "\(example.name)")
    }

    @Test("a deleted desk's claim is taken by the next desk; a live desk's claim is refused to it")
    func takeOver() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let claims = UIDClaims(folder: folder.appendingPathComponent("claims"))
        let first = folder.appendingPathComponent("first.db")
        #expect(FileManager.default.createFile(atPath: first.path, contents: Data()))
        #expect(try claims.claim(61_000, owner: "\(first.path) alice"))
        // The first desk's ledger is there: its uid is not another desk's.
        #expect(try !claims.claim(61_000, owner: "/second/desk.db bob"))
        #expect(try claims.claimFirst(from: 61_000, owner: "/second/desk.db bob") == 61_001)
        // Its folder deleted (a finished test or backtest), its uid is free again.
        try FileManager.default.removeItem(at: first)
        #expect(try claims.claim(61_000, owner: "/third/desk.db carol"))
        let holder = try String(contentsOf: claims.folder.appendingPathComponent("61000"), encoding: .utf8)
        #expect(holder == "/third/desk.db carol\n")
        // Its owner asking again gets it: the same claim.
        #expect(try claims.claim(61_000, owner: "/third/desk.db carol"))
    }

    @Test("an in-memory store's claims name this process and are refused to others while it runs")
    func memoryStore() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let claims = UIDClaims(folder: folder)
        let store = InMemoryStrategyUserStore(claims: claims)
        let uid = try await store.uid(for: "alice", in: 62_000...62_010)
        let holder = try String(contentsOf: folder.appendingPathComponent("\(uid)"), encoding: .utf8)
        #expect(holder.hasPrefix("memory pid \(getpid()) "))
        #expect(try !claims.claim(uid, owner: "/elsewhere/desk.db bob"))
    }
}

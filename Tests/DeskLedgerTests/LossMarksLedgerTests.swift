import DeskCore
import DeskLedger
import DeskTestSupport
import Foundation
import Testing

/// The loss rules' session equity marks in a real SQLite file.
@Suite("Loss session marks in the ledger")
struct LossMarksLedgerTests {
    @Test("a book's mark is read for its session only; a new session's mark replaces it; books are apart")
    func marks() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let today = Date(timeIntervalSince1970: 1_800_000_000)
        let tomorrow = today.addingTimeInterval(86_400)
        do {
            let ledger = try Ledger(path: folder.path("desk.db"))
            defer { ledger.close() }
            for mark in [
                SessionEquityMark(
                    member: "alice", strategy: "trend", venue: "live", sessionEnds: today,
                    equity: Decimal(string: "-12.5")!),
                SessionEquityMark(member: "alice", strategy: "", venue: "live", sessionEnds: today, equity: 40),
                SessionEquityMark(member: "alice", strategy: "trend", venue: "paper", sessionEnds: today, equity: 7),
            ] {
                try await ledger.recordSessionEquity(mark)
            }
            #expect(try await ledger.sessionEquities(sessionEnds: today).count == 3)
            #expect(
                try await ledger.sessionEquities(sessionEnds: tomorrow).isEmpty, "an earlier session's no longer count")
            try await ledger.recordSessionEquity(
                SessionEquityMark(member: "alice", strategy: "trend", venue: "live", sessionEnds: tomorrow, equity: -30)
            )
        }
        // A restart reads what was kept.
        let ledger = try Ledger(path: folder.path("desk.db"))
        defer { ledger.close() }
        #expect(
            try await ledger.sessionEquities(sessionEnds: tomorrow) == [
                SessionEquityMark(member: "alice", strategy: "trend", venue: "live", sessionEnds: tomorrow, equity: -30)
            ])
        let today2 = try await ledger.sessionEquities(sessionEnds: today).sorted {
            $0.venue + $0.strategy < $1.venue + $1.strategy
        }
        #expect(today2.map(\.equity) == [40, 7], "the replaced mark left today's session")
    }
}

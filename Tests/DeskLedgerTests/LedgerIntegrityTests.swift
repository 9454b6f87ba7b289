import DeskCore
import DeskTestSupport
import Foundation
import GRDB
import Testing

@testable import DeskLedger

/// A ledger whose file was damaged behind the desk's back is refused when it is
/// opened for writing, with the file and what to do; an intact one opens.
@Suite("Ledger integrity")
struct LedgerIntegrityTests {
    /// A ledger with `tokens` tokens in it, everything checkpointed into the main file.
    static func populated(_ folder: TemporaryDirectory, tokens: Int = 400) async throws -> String {
        let path = folder.path("desk.db")
        let ledger = try Ledger(path: path, groupCommit: false)
        for index in 0..<tokens { _ = try await ledger.issueToken(member: "member\(index)") }
        ledger.close()
        let queue = try DatabaseQueue(path: path)
        _ = try await queue.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        try queue.close()
        return path
    }

    /// The tokens table's pages: its root and the page count.
    static func pages(_ path: String) throws -> (root: Int, count: Int, size: Int) {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'tokens'")!,
                try Int.fetchOne(db, sql: "PRAGMA page_count")!, try Int.fetchOne(db, sql: "PRAGMA page_size")!
            )
        }
    }

    /// Overwrites page `number` (1-based) with a pattern.
    static func overwrite(_ path: String, page number: Int, size: Int) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64((number - 1) * size))
        handle.write(Data(repeating: 0xA5, count: size))
    }

    @Test("one page overwritten: opening for writing refuses, naming the file, SQLite's finding and the way out")
    func overwrittenPage() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = try await Self.populated(folder)
        let pages = try Self.pages(path)
        // The root of the tokens table (an interior page, with 400 rows) and a page near the end.
        for page in [pages.root, pages.count - 1] {
            let copy = folder.path("damaged-\(page).db")
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            try Self.overwrite(copy, page: page, size: pages.size)
            do {
                _ = try Ledger(path: copy)
                Issue.record("page \(page) of \(pages.count) overwritten: the ledger opened")
            } catch let error as LedgerError {
                guard case .damaged(let named, let problems) = error else {
                    Issue.record("\(error)")
                    continue
                }
                #expect(named == copy && !problems.isEmpty)
                #expect(error.description.contains("the ledger \(copy) is damaged"), "\(error)")
                #expect(error.description.contains("restore it from a backup"), "\(error)")
            }
        }
        // The intact one opens, and keeps its tokens.
        let intact = try Ledger(path: path)
        #expect(try intact.count("tokens") == 400)
    }

    @Test("a file that is not a database at all is refused the same way")
    func notADatabase() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("desk.db")
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try Ledger(path: path)
        } throws: { error in
            guard case .damaged(let named, _)? = error as? LedgerError else { return false }
            return named == path
        }
    }
}

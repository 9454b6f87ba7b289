import DeskCore
import DeskLedger
import DeskTestSupport
import Foundation

/// Runs `body` with a ledger in a temporary folder whose group-commit writer is running.
func withRunningLedger<T: Sendable>(
    groupCommit: Bool = true, _ body: @Sendable (Ledger, TemporaryDirectory) async throws -> T
) async throws -> T {
    let folder = try TemporaryDirectory()
    defer { folder.remove() }
    let ledger = try Ledger(path: folder.path("desk.db"), groupCommit: groupCommit)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await ledger.run() }
        defer { ledger.close() }
        let result = try await body(ledger, folder)
        ledger.close()
        try await group.waitForAll()
        return result
    }
}

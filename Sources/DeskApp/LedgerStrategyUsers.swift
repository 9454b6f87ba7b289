import DeskCore
import DeskLedger
import DeskRunner
import Foundation

/// Strategy uids kept in the ledger's `strategy_users` table, each claimed
/// machine-wide (`UIDClaims`) so no other desk on this machine has it.
struct LedgerStrategyUsers: StrategyUserStore {
    let ledger: Ledger
    var claims = UIDClaims.machine

    func uid(for strategy: String, in range: ClosedRange<UInt32>) async throws -> UInt32 {
        let claims = self.claims
        let owner = self.owner(strategy)
        return try await ledger.strategyUID(for: strategy, base: range.lowerBound, last: range.upperBound) { uid in
            try claims.claim(uid, owner: owner)
        }
    }

    func release(_ strategy: String) async throws {
        if let uid = try await ledger.releaseStrategyUID(for: strategy) { claims.release(uid, owner: owner(strategy)) }
    }

    private func owner(_ strategy: String) -> String {
        "\(URL(fileURLWithPath: ledger.path).standardizedFileURL.path) \(strategy)"
    }
}

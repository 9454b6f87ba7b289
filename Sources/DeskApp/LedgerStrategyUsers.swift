import DeskLedger
import DeskRunner
import Foundation

/// Strategy uids kept in the ledger's `strategy_users` table, each claimed
/// machine-wide (`UIDClaims`) so no other desk on this machine has it.
struct LedgerStrategyUsers: StrategyUserStore {
    let ledger: Ledger
    var claims = UIDClaims.machine

    func uid(for strategy: String, base: UInt32) async throws -> UInt32 {
        let owner = "\(URL(fileURLWithPath: ledger.path).standardizedFileURL.path) \(strategy)"
        let claims = self.claims
        return try await ledger.strategyUID(for: strategy, base: base) { uid in
            try claims.claim(uid, owner: owner)
        }
    }
}

import DeskLedger
import DeskRunner

/// Strategy uids kept in the ledger's `strategy_users` table.
struct LedgerStrategyUsers: StrategyUserStore {
    let ledger: Ledger

    func uid(for strategy: String, base: UInt32) async throws -> UInt32 {
        try await ledger.strategyUID(for: strategy, base: base)
    }
}

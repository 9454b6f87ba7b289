import DeskCore
import DeskLedger
import DeskRunner
import Foundation

/// Strategy state kept in the ledger's `strategies` table.
struct LedgerStrategyStore: StrategyStateStore {
    let ledger: Ledger

    func loadAll() async throws -> [StrategyStateRecord] { try await ledger.strategyStates() }
    func save(_ record: StrategyStateRecord) async throws { try await ledger.saveStrategyState(record) }
    func remove(_ name: String) async throws { try await ledger.removeStrategyState(name: name) }
}

/// Per-start tokens from the ledger, bound to the strategy's member, name and venue
/// (`strategy_venues`, else the desk's default venue) and marked as the supervisor's (`issued_by = supervisor`): revoked when the run
/// ends, and by `DeskLaunch` at the next start when a kill -9 left them live.
/// Tokens a person issued for the same member and strategy are never touched.
struct LedgerCredentials: StrategyCredentials {
    let ledger: Ledger
    /// Where a strategy the ledger has not moved runs.
    let defaultVenue: String

    func venue(member: String, strategy: String) async throws -> String {
        try await ledger.strategyVenue(strategy) ?? defaultVenue
    }

    func issueToken(member: String, strategy: String, venue: String) async throws -> String {
        try await ledger.issueToken(member: member, strategy: strategy, venue: venue, issuer: .supervisor).secret
    }

    func revokeTokens(member: String, strategy: String) async throws {
        try await ledger.revokeTokens(member: member, strategy: strategy, issuedBy: .supervisor)
    }
}

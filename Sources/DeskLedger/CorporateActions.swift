import DeskCore
import Foundation
import GRDB

/// The corporate actions each venue's books have had (migration `v14-corporate-actions`):
/// one row per action and venue, written in the transaction that changed the positions,
/// so an action is applied once however often the desk restarts.
enum CorporateActionsTable {
    static let table = "corporate_actions"

    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v14-corporate-actions") { db in
            try db.create(table: table) { t in
                t.column("action_id", .text).notNull()
                t.column("venue", .text).notNull()
                t.column("type", .text).notNull()
                t.column("symbol", .text).notNull()
                t.column("ex_date", .text).notNull()
                t.column("detail", .text).notNull()
                t.column("applied_at", .datetime).notNull()
                t.primaryKey(["action_id", "venue"])
            }
        }
    }
}

/// What a corporate action did to one book.
public struct CorporateActionChange: Sendable, Equatable {
    public var member: String
    /// The member's netted book (else one strategy's book; a member's own orders have one without a name).
    public var memberBook: Bool
    /// Empty for the member's netted book.
    public var strategy: String
    public var effect: CorporateActionEffect
}

extension Ledger {
    /// Applies `action` to every book (each member's netted book and each strategy's) holding
    /// its symbol on `venue`, with an audit line per member and per named strategy, in one transaction; `price` is the
    /// cash-in-lieu price per new share. Returns nil when the venue's books had it already.
    public func applyCorporateAction(
        _ action: CorporateAction, venue: String, price: Decimal?, at: Date
    ) async throws -> [CorporateActionChange]? {
        let positions = positionBook
        return try await writer.write { db -> [CorporateActionChange]? in
            let seen = try Row.fetchOne(
                db, sql: "SELECT 1 FROM \(CorporateActionsTable.table) WHERE action_id = ? AND venue = ?",
                arguments: [action.id, venue])
            if seen != nil { return nil }
            var changes: [CorporateActionChange] = []
            for byStrategy in [false, true] {
                let records = try PositionBook.fetch(member: nil, venue: venue, byStrategy: byStrategy, db)
                for record in records where record.symbol == action.symbol && record.qty != 0 {
                    let effect = action.effect(on: record.position, price: price)
                    try positions.set(
                        member: record.member, strategy: byStrategy ? record.strategy : nil, venue: venue,
                        symbol: action.symbol, effect.after, at: at, db)
                    changes.append(
                        CorporateActionChange(
                            member: record.member, memberBook: !byStrategy, strategy: byStrategy ? record.strategy : "",
                            effect: effect))
                    // A member's own orders are in a strategy book without a name: its member line says it.
                    if byStrategy && record.strategy.isEmpty { continue }
                    try AuditEvent(
                        at: at, member: record.member, strategy: byStrategy ? record.strategy : "",
                        action: .corporateAction, outcome: .accepted,
                        detail:
                            "\(action.summary) on venue \(venue): \(ExactDecimal.plain(effect.before.qty)) → \(ExactDecimal.plain(effect.after.qty)) shares, cash \(ExactDecimal.plain(effect.cash))"
                    )
                    .insert(db)
                }
            }
            try db.execute(
                sql:
                    "INSERT INTO \(CorporateActionsTable.table) (action_id, venue, type, symbol, ex_date, detail, applied_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    action.id, venue, action.type, action.symbol, action.exDate.description, action.summary,
                    LedgerTime.text(at),
                ])
            return changes
        }
    }
}

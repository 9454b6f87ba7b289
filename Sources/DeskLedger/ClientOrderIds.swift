import Foundation
import GRDB

/// The `/v2` API's `client_order_id`s: each unique among one member's orders. One
/// is reserved before its order is placed (so two requests cannot both take it),
/// bound to the desk's order id once the order is recorded, and released when no
/// order was recorded.
extension Ledger {
    /// Reserves `clientOrderId` for `member`; false when one of their orders has it already.
    public func reserveClientOrderId(_ clientOrderId: String, member: String) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO client_order_ids (member, client_order_id, order_id, reserved_at)
                    VALUES (?, ?, NULL, ?) ON CONFLICT DO NOTHING
                    """, arguments: [member, clientOrderId, Date()])
            return db.changesCount == 1
        }
    }

    /// Binds a reserved `clientOrderId` to the order placed with it.
    public func bindClientOrderId(_ clientOrderId: String, member: String, orderId: String) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE client_order_ids SET order_id = ? WHERE member = ? AND client_order_id = ?",
                arguments: [orderId, member, clientOrderId])
        }
    }

    /// Frees a reservation whose order was never recorded.
    public func releaseClientOrderId(_ clientOrderId: String, member: String) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "DELETE FROM client_order_ids WHERE member = ? AND client_order_id = ? AND order_id IS NULL",
                arguments: [member, clientOrderId])
        }
    }

    /// The order `member` placed under `clientOrderId`, if any.
    public func orderId(clientOrderId: String, member: String) async throws -> String? {
        try await database.read { db in
            try String.fetchOne(
                db, sql: "SELECT order_id FROM client_order_ids WHERE member = ? AND client_order_id = ?",
                arguments: [member, clientOrderId])
        }
    }

    /// The client order ids of `orderIds` that have one.
    public func clientOrderIds(orderIds: [String]) async throws -> [String: String] {
        if orderIds.isEmpty { return [:] }
        return try await database.read { db in
            var found: [String: String] = [:]
            // SQLite takes at most 32766 parameters; the API lists at most 10000 orders.
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT order_id, client_order_id FROM client_order_ids WHERE order_id IN ("
                    + Array(repeating: "?", count: orderIds.count).joined(separator: ",") + ")",
                arguments: StatementArguments(orderIds))
            for row in rows { found[row["order_id"]] = row["client_order_id"] }
            return found
        }
    }
}

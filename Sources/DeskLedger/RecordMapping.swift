import DeskCore
import Foundation
import GRDB

// Row mapping for the order path, written out by hand: the order path runs these
// for every order, and GRDB's Codable mapping and query generation cost several
// times more CPU than the SQL itself. Statements are cached per connection.
// Decimals are stored as plain decimal text (ExactDecimal.plain) and read back
// with the strict parser, so nothing passes through a binary float or a locale.

/// Reads a stored decimal column; a value that is not decimal text is corruption.
func decimal(_ row: Row, _ column: String) throws -> Decimal {
    guard let text: String = row[column], case .success(let value) = ExactDecimal.parse(text) else {
        throw LedgerError.corrupt("\(column) = \(String(describing: row[column] as DatabaseValue))")
    }
    return value
}

/// A column holding the raw value of `Value`.
func stored<Value: RawRepresentable<String>>(_ row: Row, _ column: String) throws -> Value {
    guard let text: String = row[column], let value = Value(rawValue: text) else {
        throw LedgerError.corrupt("\(column) = \(String(describing: row[column] as DatabaseValue))")
    }
    return value
}

func optionalDecimal(_ row: Row, _ column: String) throws -> Decimal? {
    (row[column] as String?) == nil ? nil : try decimal(row, column)
}

func enumeration<Value: RawRepresentable>(_ row: Row, _ column: String) throws -> Value where Value.RawValue == String {
    guard let text: String = row[column], let value = Value(rawValue: text) else {
        throw LedgerError.corrupt("\(column) = \(String(describing: row[column] as DatabaseValue))")
    }
    return value
}

extension OrderRecord {
    /// Every column of `orders`, in the order `insert` binds them.
    static let columns =
        "order_id, member, strategy, symbol, qty, side, order_type, time_in_force, limit_price, stop_price, status, filled_qty, filled_notional, filled_avg_price, status_reason, created_at, updated_at, venue, order_class, parent_id, trail_price, trail_percent, notional, extended_hours, replaces"

    public init(row: Row) throws {
        let qty = try decimal(row, "qty")
        let order = Order(
            id: row["order_id"], member: row["member"], strategy: row["strategy"],
            terms: OrderTerms(
                symbol: row["symbol"], qty: qty, side: try enumeration(row, "side"),
                type: try enumeration(row, "order_type"), timeInForce: try enumeration(row, "time_in_force"),
                limitPrice: try optionalDecimal(row, "limit_price"), stopPrice: try optionalDecimal(row, "stop_price"),
                trailPrice: try optionalDecimal(row, "trail_price"),
                trailPercent: try optionalDecimal(row, "trail_percent"), notional: try optionalDecimal(row, "notional"),
                extendedHours: row["extended_hours"]),
            placedAt: row["created_at"], venue: row["venue"], orderClass: try enumeration(row, "order_class"),
            parentId: row["parent_id"])
        let progress = OrderProgress(
            qty: qty, status: try enumeration(row, "status"), filledQty: try decimal(row, "filled_qty"),
            filledNotional: try decimal(row, "filled_notional"), statusReason: row["status_reason"])
        self.init(order, progress: progress, updatedAt: row["updated_at"])
        filledAvgPrice = try optionalDecimal(row, "filled_avg_price")
        replaces = row["replaces"]
    }

    /// Inserts the order with a cached statement.
    func insert(_ db: Database) throws {
        let statement = try db.cachedStatement(
            sql:
                "INSERT INTO orders (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        try statement.execute(arguments: [
            orderId, member, strategy, symbol, ExactDecimal.plain(qty), side.rawValue, orderType.rawValue,
            timeInForce.rawValue, limitPrice.map(ExactDecimal.plain), stopPrice.map(ExactDecimal.plain),
            status.rawValue, ExactDecimal.plain(filledQty), ExactDecimal.plain(filledNotional),
            filledAvgPrice.map(ExactDecimal.plain), statusReason, LedgerTime.text(createdAt),
            LedgerTime.text(updatedAt), venue, orderClass.rawValue, parentId, trailPrice.map(ExactDecimal.plain),
            trailPercent.map(ExactDecimal.plain), notional.map(ExactDecimal.plain), extendedHours, replaces,
        ])
    }

    /// Inserts the order and its legs (in leg order) with a cached statement.
    func insertWithLegs(_ db: Database) throws {
        try insert(db)
        for leg in legs { try leg.insert(db) }
    }

    /// Writes the order's progress (status, fills, reason, time) with a cached statement.
    func updateProgress(_ db: Database) throws {
        let statement = try db.cachedStatement(
            sql:
                "UPDATE orders SET status = ?, filled_qty = ?, filled_notional = ?, filled_avg_price = ?, status_reason = ?, updated_at = ? WHERE order_id = ?"
        )
        try statement.execute(arguments: [
            status.rawValue, ExactDecimal.plain(filledQty), ExactDecimal.plain(filledNotional),
            filledAvgPrice.map(ExactDecimal.plain), statusReason, LedgerTime.text(updatedAt), orderId,
        ])
    }

    /// The order with this id, read with a cached statement.
    static func find(_ db: Database, id: String) throws -> OrderRecord? {
        let statement = try db.cachedStatement(sql: "SELECT \(columns) FROM orders WHERE order_id = ?")
        return try OrderRecord.fetchOne(statement, arguments: [id])
    }

    /// `records` with their legs filled in (each order's exits, in leg order).
    static func withLegs(_ records: [OrderRecord], _ db: Database) throws -> [OrderRecord] {
        let parents = records.filter { $0.orderClass != .simple && $0.parentId == nil }.map(\.orderId)
        if parents.isEmpty { return records }
        var legs: [String: [OrderRecord]] = [:]
        for start in stride(from: 0, to: parents.count, by: 500) {
            let chunk = Array(parents[start..<min(start + 500, parents.count)])
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
            let rows = try OrderRecord.fetchAll(
                db, sql: "SELECT \(columns) FROM orders WHERE parent_id IN (\(marks)) ORDER BY rowid",
                arguments: StatementArguments(chunk))
            for leg in rows { legs[leg.parentId ?? "", default: []].append(leg) }
        }
        return records.map { record in
            var record = record
            record.legs = legs[record.orderId] ?? []
            return record
        }
    }
}

extension FillRecord {
    public init(row: Row) throws {
        self.init(
            id: row["id"], orderId: row["order_id"], fillId: row["fill_id"], member: row["member"],
            strategy: row["strategy"], symbol: row["symbol"], side: try enumeration(row, "side"),
            qty: try decimal(row, "qty"), price: try decimal(row, "price"), filledAt: row["filled_at"],
            venue: row["venue"])
    }

    /// Inserts the fill with a cached statement.
    func insert(_ db: Database) throws {
        let statement = try db.cachedStatement(
            sql:
                "INSERT INTO fills (order_id, fill_id, member, strategy, symbol, side, qty, price, filled_at, venue) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        try statement.execute(arguments: [
            orderId, fillId, member, strategy, symbol, side.rawValue, ExactDecimal.plain(qty),
            ExactDecimal.plain(price), LedgerTime.text(filledAt), venue,
        ])
    }

    /// True when the fill id is already booked for the order.
    static func exists(_ db: Database, orderId: String, fillId: String) throws -> Bool {
        let statement = try db.cachedStatement(sql: "SELECT 1 FROM fills WHERE order_id = ? AND fill_id = ?")
        return try Int.fetchOne(statement, arguments: [orderId, fillId]) != nil
    }
}

extension PositionRecord {
    public init(row: Row) throws {
        self.init(
            member: row["member"], strategy: row["strategy"], symbol: row["symbol"],
            position: Position(
                qty: try decimal(row, "qty"), costBasis: try decimal(row, "cost_basis"),
                realizedPnL: try decimal(row, "realized_pnl")),
            updatedAt: row["updated_at"], venue: row["venue"])
    }
}

extension AuditEvent {
    public init(row: Row) throws {
        self.init(
            at: row["at"], member: row["member"], strategy: row["strategy"], action: try stored(row, "action"),
            orderId: row["order_id"], outcome: try stored(row, "outcome"), httpStatus: row["http_status"],
            detail: row["detail"])
        id = row["id"]
    }

    /// Appends the line with a cached statement.
    func insert(_ db: Database) throws {
        let statement = try db.cachedStatement(
            sql:
                "INSERT INTO audit_events (at, member, strategy, action, order_id, outcome, http_status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        try statement.execute(arguments: [
            LedgerTime.text(at), member, strategy, action.rawValue, orderId, outcome.rawValue, httpStatus, detail,
        ])
    }
}

extension OrderRecord: TableRecord {
    /// The table: `orders`.
    public static let databaseTableName = "orders"
}

extension FillRecord: TableRecord {
    /// The table: `fills`.
    public static let databaseTableName = "fills"
}

extension AuditEvent: TableRecord {
    /// The table: `audit_events`.
    public static let databaseTableName = "audit_events"
}

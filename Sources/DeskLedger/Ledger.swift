import DeskCore
import Foundation
import GRDB
import ServiceLifecycle

/// The desk's durable record: orders and their lifecycle, fills, positions,
/// tokens, halts and the audit log, in one SQLite file (WAL).
///
/// Order writes go through group commit, so `run()` must be running (it is a
/// service in the server's group). Token and halt writes are rare and commit on
/// their own, so the CLI can use them without the service.
public final class Ledger: Service, Sendable {
    /// Path of the SQLite file.
    public let path: String
    /// Ledger files that other users could read and that opening narrowed to 0600.
    public let narrowedFiles: [FileModeChange]
    let pool: DatabasePool
    let commits: GroupCommit

    /// Opens the ledger at `path`, creating and migrating it as needed. Its files
    /// are private to the desk's user (see `securePrivateFiles(path:)`).
    /// - Parameter groupCommit: batch concurrent order writes into one transaction (on in production).
    public init(path: String, groupCommit: Bool = true) throws {
        self.path = path
        narrowedFiles = try Self.securePrivateFiles(path: path)
        pool = try LedgerDatabase.open(path: path)
        commits = GroupCommit(pool: pool, batching: groupCommit)
    }

    /// Opens an existing ledger for reading only (`desk orders`, `desk positions`,
    /// `desk tokens list`): nothing is created, and a missing file is an error
    /// naming the path tried.
    public init(readingExisting path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw LedgerError.notFound(path: path) }
        narrowedFiles = []
        pool = try LedgerDatabase.open(path: path, readOnly: true)
        commits = GroupCommit(pool: pool, batching: false)
    }

    /// Opens an existing ledger to change it (`desk tokens revoke`); a missing file
    /// is an error naming the path tried.
    public convenience init(existing path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw LedgerError.notFound(path: path) }
        try self.init(path: path, groupCommit: false)
    }

    /// The group-commit writer. Finishes queued writes on graceful shutdown.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await commits.run()
        } onGracefulShutdown: {
            self.commits.close()
        }
    }

    /// Stops taking order writes (queued ones still commit). For tests that run `run()` themselves.
    public func close() { commits.close() }

    // MARK: Orders

    /// Journals a new order with its audit line; returns when both are durable.
    public func journal(_ order: OrderRecord, audit: AuditEvent) async throws {
        try await commits.write { db in
            try order.insertFast(db)
            try audit.insertFast(db)
        }
    }

    /// Appends an audit line (durable when this returns).
    public func record(_ audit: AuditEvent) async throws {
        try await commits.write { db in try audit.insertFast(db) }
    }

    /// Applies broker updates in order, in one transaction: status changes, fills
    /// (each broker fill id once), and the member's and strategy's positions.
    /// Returns the outcome of each update.
    public func apply(_ updates: [LedgerUpdate]) async throws -> [LedgerUpdateOutcome] {
        try await commits.write { db in try updates.map { try Self.apply($0, db) } }
    }

    static func apply(_ update: LedgerUpdate, _ db: Database) throws -> LedgerUpdateOutcome {
        guard var order = try OrderRecord.find(db, id: update.orderId) else {
            return .unknownOrder
        }
        if case .fill = update.event, let fillId = update.fillId,
            try FillRecord.exists(db, orderId: update.orderId, fillId: fillId)
        {
            return .duplicate(order)
        }
        var progress = order.progress
        do {
            try progress.apply(update.event)
        } catch {
            return .refused(order, error)
        }
        order.progress = progress
        order.updatedAt = update.at
        try order.updateProgress(db)
        if case .fill(let qty, let price) = update.event {
            // Without a broker id, the cumulative filled quantity names the fill uniquely.
            let fillId = update.fillId ?? "\(update.orderId)-\(ExactDecimal.plain(order.filledQty))"
            try FillRecord(
                id: nil, orderId: order.orderId, fillId: fillId, userId: order.userId, strategy: order.strategy,
                symbol: order.symbol, side: order.side, qty: qty, price: price, filledAt: update.at
            ).insertFast(db)
            try PositionBook.book(order: order, qty: qty, price: price, at: update.at, db)
        }
        return .applied(order)
    }

    /// One order, if it exists.
    public func order(id: String) async throws -> OrderRecord? {
        try await pool.read { db in try OrderRecord.find(db, id: id) }
    }

    /// Orders matching `query`, newest first.
    public func orders(_ query: OrderQuery) async throws -> [OrderRecord] {
        try await pool.read { db in try query.request().fetchAll(db) }
    }

    /// How many orders match `query`'s filters, whatever its limit.
    public func countOrders(_ query: OrderQuery) async throws -> Int {
        try await pool.read { db in try query.filtered().fetchCount(db) }
    }

    /// Every order that may still fill, oldest first (used to rebuild state at start).
    public func openOrders() async throws -> [OrderRecord] {
        try await pool.read { db in
            try OrderRecord.filter(OrderStatus.allCases.filter(\.isOpen).map(\.rawValue).contains(Column("status")))
                .order(Column("created_at"), Column("order_id")).fetchAll(db)
        }
    }

    /// Fills of one order, in the order they happened.
    public func fills(orderId: String) async throws -> [FillRecord] {
        try await pool.read { db in
            try FillRecord.filter(Column("order_id") == orderId).order(Column("id")).fetchAll(db)
        }
    }

    // MARK: Positions

    /// Positions of `member` (everyone when nil): the member's netted book, or
    /// per strategy when `byStrategy`.
    public func positions(member: String?, byStrategy: Bool = false) async throws -> [PositionRecord] {
        try await pool.read { db in try PositionBook.fetch(member: member, byStrategy: byStrategy, db) }
    }

    // MARK: Audit

    /// The newest audit lines, newest first.
    public func auditEvents(member: String? = nil, limit: Int = 100) async throws -> [AuditEvent] {
        try await pool.read { db in
            var request = AuditEvent.all()
            if let member { request = request.filter(Column("user_id") == member) }
            return try request.order(Column("id").desc).limit(limit).fetchAll(db)
        }
    }

    /// Runs a read-only SQL count, for tests and reports.
    public func count(_ table: String) throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }
}

/// A broker event addressed to one order.
public struct LedgerUpdate: Sendable, Equatable {
    public var orderId: String
    public var event: OrderEvent
    /// The broker's id for a fill; the same fill id is booked once.
    public var fillId: String?
    public var at: Date

    public init(orderId: String, event: OrderEvent, fillId: String? = nil, at: Date) {
        self.orderId = orderId
        self.event = event
        self.fillId = fillId
        self.at = at
    }
}

/// What applying one update did.
public enum LedgerUpdateOutcome: Sendable {
    /// The order changed; here it is after the change.
    case applied(OrderRecord)
    /// A fill already booked; nothing changed.
    case duplicate(OrderRecord)
    /// The state machine refused the event; nothing changed.
    case refused(OrderRecord, OrderTransitionError)
    /// No such order in the ledger.
    case unknownOrder

    /// The order after the update, when it exists.
    public var order: OrderRecord? {
        switch self {
        case .applied(let order), .duplicate(let order), .refused(let order, _): order
        case .unknownOrder: nil
        }
    }
}

/// Which orders to list.
public struct OrderQuery: Sendable, Equatable {
    /// Which statuses.
    public enum StatusFilter: Sendable, Equatable {
        case all, open, closed
        case exactly(OrderStatus)
    }

    /// One member's orders, or everyone's when nil.
    public var member: String?
    public var status: StatusFilter
    public var symbol: String?
    /// Orders created at or after this time.
    public var since: Date?
    public var limit: Int

    /// Most orders one listing returns.
    public static let maximumLimit = 10_000

    public init(
        member: String?, status: StatusFilter = .all, symbol: String? = nil, since: Date? = nil, limit: Int = 100
    ) {
        self.member = member
        self.status = status
        self.symbol = symbol
        self.since = since
        self.limit = min(max(limit, 1), Self.maximumLimit)
    }

    func request() -> QueryInterfaceRequest<OrderRecord> {
        filtered().order(Column("created_at").desc, Column("order_id").desc).limit(limit)
    }

    func filtered() -> QueryInterfaceRequest<OrderRecord> {
        var request = OrderRecord.all()
        if let member { request = request.filter(Column("user_id") == member) }
        switch status {
        case .all: break
        case .open:
            request = request.filter(OrderStatus.allCases.filter(\.isOpen).map(\.rawValue).contains(Column("status")))
        case .closed:
            request = request.filter(OrderStatus.allCases.filter(\.isFinal).map(\.rawValue).contains(Column("status")))
        case .exactly(let status): request = request.filter(Column("status") == status.rawValue)
        }
        if let symbol { request = request.filter(Column("symbol") == symbol) }
        if let since { request = request.filter(Column("created_at") >= since) }
        return request
    }
}

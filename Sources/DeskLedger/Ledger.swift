import DeskCore
import Foundation
import GRDB
import ServiceLifecycle

/// The desk's durable record: orders and their lifecycle, fills, positions,
/// tokens, halts and the audit log, in one SQLite file (WAL, `synchronous=FULL`;
/// a backtest's: `synchronous=OFF` and made whole when it closes, see `LedgerDurability`).
///
/// Order-path writes (orders, fills, positions, audit lines, halts) go through
/// the ledger's one writer (`LedgerWriter`), which commits concurrent writes
/// together. Token and strategy writes are rare and commit on their own, so the
/// CLI can use them without the service. `run()` (a service in the server's
/// group) closes the writer on shutdown, after every queued write committed.
public final class Ledger: Service, Sendable {
    /// Path of the SQLite file (`:memory:` for an in-memory ledger).
    public let path: String
    /// Ledger files that other users could read and that opening narrowed to 0600.
    public let narrowedFiles: [FileModeChange]
    /// How each commit reaches the disk (`.full` unless a backtest opened it).
    public let durability: LedgerDurability
    let database: any DatabaseWriter
    let writer: LedgerWriter
    let positionBook = PositionBook()
    let tokenCache = TokenCache()

    /// Opens the ledger at `path`, creating and migrating it as needed. Its files
    /// are private to the desk's user (see `securePrivateFiles(path:)`).
    /// - Parameters:
    ///   - groupCommit: batch concurrent order writes into one transaction (on in production).
    ///   - durability: `.full` (every commit on disk when it returns) unless this is a backtest's ledger.
    public convenience init(path: String, groupCommit: Bool = true, durability: LedgerDurability = .full) throws {
        let narrowed = try Self.securePrivateFiles(path: path)
        try self.init(
            path: path, narrowed: narrowed, database: LedgerDatabase.open(path: path, durability: durability),
            batching: groupCommit, durability: durability)
    }

    /// Opens an existing ledger for reading only (`desk orders`, `desk positions`,
    /// `desk tokens list`): nothing is created, and a missing file is an error
    /// naming the path tried.
    public convenience init(readingExisting path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw LedgerError.notFound(path: path) }
        try self.init(
            path: path, narrowed: [], database: LedgerDatabase.open(path: path, readOnly: true), batching: false)
    }

    /// Opens an existing ledger to change it (`desk tokens revoke`); a missing file
    /// is an error naming the path tried.
    public convenience init(existing path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw LedgerError.notFound(path: path) }
        try self.init(path: path, groupCommit: false)
    }

    /// A ledger in memory, for unit tests of what is written (not of durability).
    public static func inMemory(groupCommit: Bool = true) throws -> Ledger {
        try Ledger(path: ":memory:", narrowed: [], database: LedgerDatabase.inMemory(), batching: groupCommit)
    }

    private init(
        path: String, narrowed: [FileModeChange], database: any DatabaseWriter, batching: Bool,
        durability: LedgerDurability = .full
    ) {
        self.path = path
        narrowedFiles = narrowed
        self.durability = durability
        self.database = database
        let positionBook = self.positionBook
        writer = LedgerWriter(database: database, batching: batching, rolledBack: { positionBook.forget() })
    }

    /// Runs until graceful shutdown (or cancellation, or `close()`), then lets the
    /// writer commit what is queued and stop. A `.backtest` ledger is then made whole
    /// on disk (`makeWhole()`).
    public func run() async throws {
        let writer = self.writer
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await writer.finished()
            } onCancel: {
                writer.close()
            }
        } onGracefulShutdown: {
            writer.close()
        }
        if durability == .backtest { try await makeWhole() }
    }

    /// Moves everything committed into the database file and onto the disk, what a
    /// `.backtest` ledger runs as it closes: one fsync of the file (pages that automatic
    /// checkpoints copied without one), then a checkpoint that empties the write-ahead
    /// log (`wal_checkpoint(TRUNCATE)`, run with `synchronous = FULL` so SQLite syncs
    /// what it copies before it truncates the log). After it the file alone holds the
    /// ledger: no `-wal` content, and `desk orders --work` opens it read-only.
    public func makeWhole() async throws {
        guard path != ":memory:" else { return }
        let path = self.path
        let durability = self.durability
        try await database.barrierWriteWithoutTransaction { db in
            try Self.synchronize(path: path)
            try db.execute(sql: "PRAGMA synchronous = FULL")
            defer { try? db.execute(sql: "PRAGMA synchronous = \(durability.synchronous)") }
            _ = try db.checkpoint(.truncate)
        }
    }

    /// fsync of the file at `path`.
    static func synchronize(path: String) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.synchronize()
    }

    /// Stops taking order writes (queued ones still commit). For tests that run `run()` themselves.
    public func close() { writer.close() }

    // MARK: Orders

    /// Journals an order before it goes to a broker (`pending_new`), with its legs
    /// (``Order/legStatus``) and its audit line, in one transaction; returns when
    /// all are durable.
    /// `replaces` is the order it replaces, if any.
    public func journal(_ order: Order, audit: AuditEvent, replaces: String? = nil)
        async throws
    {
        var journaled = OrderRecord(order, progress: OrderProgress(qty: order.terms.qty))
        journaled.replaces = replaces
        let record = journaled
        try await writer.write { db in
            try record.insertWithLegs(db)
            try Self.readBack(record, db)
            for leg in record.legs { try Self.readBack(leg, db) }
            try audit.insert(db)
        }
    }

    /// What an acknowledgement promises, checked before the commit: the order just
    /// written reads back as written (a damaged page fails the write, not a later read).
    static func readBack(_ record: OrderRecord, _ db: Database) throws {
        guard let stored = try OrderRecord.find(db, id: record.orderId), stored.order.terms == record.order.terms,
            stored.progress == record.progress, stored.member == record.member
        else {
            throw LedgerError.corrupt("order \(record.orderId) does not read back as it was written")
        }
    }

    /// Records an order a broker decided in this process, in one transaction: the
    /// order and its legs in the state `updates` bring them to (an update names
    /// the entry or one of its legs; any other id is the entry's), their fills, the
    /// member's and the strategy's positions, and its audit line. Returns the order
    /// as recorded, with its legs,
    /// and the strategy's position after each of its fills. Throws when `updates` do not apply to a new
    /// order (nothing is written).
    public func record(_ order: Order, updates: [OrderUpdate], audit: AuditEvent) async throws
        -> RecordedOrder
    {
        try await record(order, updates: updates, audit: audit, replacing: nil, alongside: []).recorded
    }

    /// `record(_:updates:audit:)` for an order that replaces `replacing` (when
    /// given), with `alongside` (the replaced order's updates: its `replaced`)
    /// applied in the same transaction; returns the order and their outcomes.
    public func record(
        _ order: Order, updates: [OrderUpdate], audit: AuditEvent, replacing: String?, alongside: [OrderUpdate]
    ) async throws -> (recorded: RecordedOrder, alongside: [LedgerUpdateOutcome]) {
        let ids = [order.id] + order.legs.map(\.id)
        var progress = [order.id: OrderProgress(qty: order.terms.qty)]
        for leg in order.legs { progress[leg.id] = OrderProgress(qty: leg.terms.qty, status: order.legStatus) }
        var fills: [(id: String, qty: Decimal, price: Decimal, update: OrderUpdate, cumulative: Decimal)] = []
        var updatedAt: [String: Date] = [:]
        for update in updates {
            let id = progress[update.orderId] == nil ? order.id : update.orderId
            try progress[id]?.apply(update.event)
            updatedAt[id] = update.at
            if case .fill(let qty, let price) = update.event {
                fills.append((id, qty, price, update, progress[id]?.filledQty ?? qty))
            }
        }
        // The average fill price (a division) is worked out once, for the final state.
        var records: [String: OrderRecord] = [:]
        var record = OrderRecord(order, progress: progress[order.id]!, updatedAt: updatedAt[order.id])
        record.legs = order.legs.map { leg in
            OrderRecord(leg, progress: progress[leg.id]!, updatedAt: updatedAt[leg.id] ?? order.placedAt)
        }
        record.replaces = replacing
        for each in [record] + record.legs { records[each.orderId] = each }
        let rows = fills.map { fill in
            var update = fill.update
            update.fillId = update.fillId ?? FillID.make(orderId: fill.id, cumulativeQty: fill.cumulative)
            return (Self.fill(of: records[fill.id]!, qty: fill.qty, price: fill.price, update: update), fill.id)
        }
        let recorded = record
        let booked = rows
        let byId = records
        let positions = positionBook
        let (after, outcomes) = try await writer.write { db in
            try recorded.insertWithLegs(db)
            for id in ids { try Self.readBack(byId[id]!, db) }
            var after: [Decimal] = []
            for (fill, id) in booked {
                try fill.insert(db)
                after.append(
                    try positions.book(order: byId[id]!, qty: fill.qty, price: fill.price, at: fill.filledAt, db))
            }
            try audit.insert(db)
            return (after, try alongside.map { try Self.apply($0, positions, db) })
        }
        return (RecordedOrder(order: recorded, positions: after), outcomes)
    }

    /// Appends an audit line (durable when this returns).
    public func record(_ audit: AuditEvent) async throws {
        try await writer.write { db in try audit.insert(db) }
    }

    /// Applies order updates in order, in one transaction: status changes, fills
    /// (each fill id once), and the member's and strategy's positions. Returns
    /// the outcome of each update.
    public func apply(_ updates: [OrderUpdate]) async throws -> [LedgerUpdateOutcome] {
        let positions = positionBook
        return try await writer.write { db in try updates.map { try Self.apply($0, positions, db) } }
    }

    static func apply(_ update: OrderUpdate, _ positions: PositionBook, _ db: Database) throws -> LedgerUpdateOutcome {
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
        guard case .fill(let qty, let price) = update.event else { return .applied(order, position: nil) }
        try fill(of: order, qty: qty, price: price, update: update).insert(db)
        let position = try positions.book(order: order, qty: qty, price: price, at: update.at, db)
        return .applied(order, position: position)
    }

    /// The fill record of `update` (a fill of `qty` at `price`), `order` being after it.
    static func fill(of order: OrderRecord, qty: Decimal, price: Decimal, update: OrderUpdate) -> FillRecord {
        FillRecord(
            id: nil, orderId: order.orderId,
            fillId: update.fillId ?? FillID.make(orderId: order.orderId, cumulativeQty: order.filledQty),
            member: order.member, strategy: order.strategy, symbol: order.symbol, side: order.side, qty: qty,
            price: price, filledAt: update.at, venue: order.venue)
    }

    /// An order a broker in this process decided, as `record` wrote it.
    public struct RecordedOrder: Sendable {
        /// The order in the state its updates brought it to.
        public var order: OrderRecord
        /// For each fill among the updates, in order: the placing strategy's
        /// position in the order's symbol on its venue after it.
        public var positions: [Decimal]
    }

    /// One order, if it exists.
    public func order(id: String) async throws -> OrderRecord? {
        try await database.read { db in
            try OrderRecord.find(db, id: id).map { try OrderRecord.withLegs([$0], db)[0] }
        }
    }

    /// Orders matching `query`, newest first, each with its legs (which are listed as orders too).
    public func orders(_ query: OrderQuery) async throws -> [OrderRecord] {
        try await database.read { db in try OrderRecord.withLegs(query.request().fetchAll(db), db) }
    }

    /// How many orders match `query`'s filters, whatever its limit.
    public func countOrders(_ query: OrderQuery) async throws -> Int {
        try await database.read { db in try query.filtered().fetchCount(db) }
    }

    /// Every order that may still fill (one venue's when `venue` is given), oldest
    /// first (used to rebuild state at start).
    public func openOrders(venue: String? = nil) async throws -> [OrderRecord] {
        try await database.read { db in
            var request = OrderRecord.filter(
                OrderStatus.allCases.filter(\.isOpen).map(\.rawValue).contains(Column("status")))
            if let venue { request = request.filter(Column("venue") == venue) }
            return try OrderRecord.withLegs(request.order(Column("created_at"), Column("order_id")).fetchAll(db), db)
        }
    }

    /// Fills of one order, in the order they happened.
    public func fills(orderId: String) async throws -> [FillRecord] {
        try await database.read { db in
            try FillRecord.filter(Column("order_id") == orderId).order(Column("id")).fetchAll(db)
        }
    }

    /// How many orders each member's strategy placed, by status (a backtest's report).
    public func orderCounts() async throws -> [(member: String, strategy: String, status: String, count: Int)] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT member, strategy, status, COUNT(*) AS n FROM orders GROUP BY member, strategy, status"
            ).map { row in (row["member"], row["strategy"], row["status"], row["n"]) }
        }
    }

    /// Every fill, in the order they were booked (a backtest's report reads them all).
    public func allFills() async throws -> [FillRecord] {
        try await database.read { db in try FillRecord.order(Column("id")).fetchAll(db) }
    }

    // MARK: Positions

    /// Positions of `member` (everyone when nil) on `venue` (every venue when nil):
    /// the member's netted book per venue, or per strategy when `byStrategy`.
    public func positions(member: String?, venue: String? = nil, byStrategy: Bool = false) async throws
        -> [PositionRecord]
    {
        try await database.read { db in
            try PositionBook.fetch(member: member, venue: venue, byStrategy: byStrategy, db)
        }
    }

    // MARK: Audit

    /// The newest audit lines, newest first.
    public func auditEvents(member: String? = nil, limit: Int = 100) async throws -> [AuditEvent] {
        try await database.read { db in
            var request = AuditEvent.all()
            if let member { request = request.filter(Column("member") == member) }
            return try request.order(Column("id").desc).limit(limit).fetchAll(db)
        }
    }

    /// Runs a read-only SQL count, for tests and reports.
    public func count(_ table: String) throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }
}

extension OrderQuery {
    func request() -> QueryInterfaceRequest<OrderRecord> {
        filtered().order(Column("created_at").desc, Column("order_id").desc).limit(limit)
    }

    func filtered() -> QueryInterfaceRequest<OrderRecord> {
        var request = OrderRecord.all()
        if let member { request = request.filter(Column("member") == member) }
        if let venue { request = request.filter(Column("venue") == venue) }
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

import DeskCore
import Foundation
import GRDB

/// A bearer token as stored: only its SHA-256 hash (table `tokens`).
public struct TokenRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    /// Keeps the row id SQLite assigned.
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public static let databaseTableName = "tokens"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var tokenHash: String
    public var member: String
    /// Empty for a member's own token.
    public var strategy: String
    public var isAdmin: Bool
    public var createdAt: Date
    public var revokedAt: Date?
    /// A `TokenIssuer` raw value: `cli`, `desk` or `supervisor`.
    public var issuedBy: String
    /// May read `/metrics` and nothing else.
    public var metricsOnly: Bool
    /// The venue the token trades on; empty: the desk's default venue.
    public var venue: String
    /// An officer's token.
    public var officer: Bool
}

extension OrderRecord: FetchableRecord {}
extension FillRecord: FetchableRecord {}
extension PositionRecord: FetchableRecord {}
extension AuditEvent: FetchableRecord {}

extension HaltRecord: FetchableRecord, PersistableRecord {
    /// The table: `halts`.
    public static let databaseTableName = "halts"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase
}

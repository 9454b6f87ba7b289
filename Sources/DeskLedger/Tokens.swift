import Crypto
import DeskCore
import Foundation
import GRDB
import Synchronization

extension Ledger {
    /// Prefix of every desk token, so one is recognisable in a config file.
    public static let tokenPrefix = "desk_"

    /// Issues a new bearer token for `member` (bound to `strategy` if given) and stores its hash.
    /// - Parameters:
    ///   - metricsOnly: a token for Prometheus: it reads `/metrics` and nothing else.
    ///   - venue: the venue its orders go to; empty: the desk's default venue, whichever it is when the token is used.
    ///   - isOfficer: an officer's token (approves promotions, halts, reads every member's figures).
    ///   - issuer: who issues it; `.supervisor` tokens do not outlive the desk run that issued them.
    public func issueToken(
        member: String, strategy: String = "", venue: String = "", isAdmin: Bool = false, isOfficer: Bool = false,
        metricsOnly: Bool = false, issuer: TokenIssuer = .cli
    ) async throws -> IssuedToken {
        precondition(
            [isAdmin, isOfficer, metricsOnly].filter { $0 }.count <= 1,
            "a token is an admin, an officer or a metrics token, not two of them")
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let secret =
            Self.tokenPrefix
            + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let record = try await database.write { db in
            try TokenRecord(
                id: nil, tokenHash: Self.hash(token: secret), member: member, strategy: strategy, isAdmin: isAdmin,
                createdAt: Date(), revokedAt: nil, issuedBy: issuer.rawValue, metricsOnly: metricsOnly, venue: venue,
                officer: isOfficer
            ).inserted(db)
        }
        return IssuedToken(
            identity: TokenIdentity(
                tokenId: record.id!, member: member, strategy: strategy, isAdmin: isAdmin, isMetricsOnly: metricsOnly,
                isOfficer: isOfficer, venue: venue),
            secret: secret)
    }

    /// The identity behind `token`, or nil when it is unknown or revoked.
    ///
    /// Known tokens are remembered for `TokenCache.lifetime`: a revocation by this
    /// process takes effect at once, one by another process (`desk tokens revoke`
    /// while the desk runs) within that time.
    public func identity(token: String) async throws -> TokenIdentity? {
        let hash = Self.hash(token: token)
        if let known = tokenCache.identity(hash: hash, now: .now) { return known }
        let identity = try await lookUp(hash: hash)
        if let identity { tokenCache.remember(identity, hash: hash, now: .now) }
        return identity
    }

    /// A short indexed read. Never on the caller's thread: a request handler runs on
    /// one of the few concurrency-pool threads, and one blocked waiting for a reader
    /// connection that an awaiting read holds can hang the whole desk.
    private func lookUp(hash: String) async throws -> TokenIdentity? {
        try await database.read { db in
            let statement = try db.cachedStatement(
                sql:
                    "SELECT id, member, strategy, is_admin, metrics_only, officer, venue FROM tokens WHERE token_hash = ? AND revoked_at IS NULL"
            )
            return try Row.fetchOne(statement, arguments: [hash]).map {
                TokenIdentity(
                    tokenId: $0["id"], member: $0["member"], strategy: $0["strategy"], isAdmin: $0["is_admin"],
                    isMetricsOnly: $0["metrics_only"], isOfficer: $0["officer"], venue: $0["venue"])
            }
        }
    }

    /// Revokes a token by id; false when there was no such live token.
    @discardableResult
    public func revokeToken(id: Int64) async throws -> Bool {
        defer { tokenCache.forgetAll() }
        return try await database.write { db in
            try db.execute(
                sql: "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [Date(), id])
            return db.changesCount > 0
        }
    }

    /// Revokes every live token bound to `member` and `strategy` (when a strategy
    /// stops for good); only those `issuer` issued, when given.
    @discardableResult
    public func revokeTokens(member: String, strategy: String, issuedBy issuer: TokenIssuer? = nil) async throws
        -> Int
    {
        defer { tokenCache.forgetAll() }
        return try await database.write { db in
            if let issuer {
                try db.execute(
                    sql:
                        "UPDATE tokens SET revoked_at = ? WHERE member = ? AND strategy = ? AND issued_by = ? AND revoked_at IS NULL",
                    arguments: [Date(), member, strategy, issuer.rawValue])
            } else {
                try db.execute(
                    sql: "UPDATE tokens SET revoked_at = ? WHERE member = ? AND strategy = ? AND revoked_at IS NULL",
                    arguments: [Date(), member, strategy])
            }
            return db.changesCount
        }
    }

    /// Revokes every live token the strategy supervisor issued: at desk start, a
    /// token from an earlier run is live only because that run was killed before
    /// it could revoke it. Tokens issued by hand are left alone. Returns how many.
    @discardableResult
    public func revokeSupervisorTokens() async throws -> Int {
        defer { tokenCache.forgetAll() }
        return try await database.write { db in
            try db.execute(
                sql: "UPDATE tokens SET revoked_at = ? WHERE issued_by = ? AND revoked_at IS NULL",
                arguments: [Date(), TokenIssuer.supervisor.rawValue])
            return db.changesCount
        }
    }

    /// All tokens, newest first (hashes only; secrets are never stored).
    public func tokens() async throws -> [TokenRecord] {
        try await database.read { db in try TokenRecord.order(Column("id").desc).fetchAll(db) }
    }

    /// Lowercase hex SHA-256 of the token: what the tokens table stores.
    static func hash(token: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: Array(token.utf8)) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}

extension Ledger {
    /// Turns a kill switch on (`halt.scope`: a member id, or `HaltRecord.wholeDesk`)
    /// with its audit line, through the order path's writer; durable when it returns.
    public func halt(_ halt: HaltRecord, audit: AuditEvent) async throws {
        try await writer.write { db in
            try halt.save(db)
            try audit.insert(db)
        }
    }

    /// Turns a kill switch off, with its audit line; false when it was not on.
    public func resume(scope: String, audit: @escaping @Sendable (_ wasOn: Bool) -> AuditEvent)
        async throws -> Bool
    {
        try await writer.write { db in
            let wasOn = try HaltRecord.deleteOne(db, key: scope)
            try audit(wasOn).insert(db)
            return wasOn
        }
    }

    /// Every kill switch that is on.
    public func halts() async throws -> [HaltRecord] {
        try await database.read { db in try HaltRecord.order(Column("scope")).fetchAll(db) }
    }
}

/// Identities of tokens seen lately, so a request costs no database read for a
/// token used a moment ago. Unknown tokens are never remembered (nothing an
/// outsider sends fills it), and it forgets everything when it is full.
final class TokenCache: Sendable {
    /// How long an identity is used without looking at the ledger again.
    static let lifetime = Duration.seconds(1)
    /// Most tokens remembered.
    static let capacity = 10_000

    private let known = Mutex<[String: (identity: TokenIdentity, checkedAt: ContinuousClock.Instant)]>([:])

    func identity(hash: String, now: ContinuousClock.Instant) -> TokenIdentity? {
        known.withLock { known in
            guard let entry = known[hash], now - entry.checkedAt < Self.lifetime else { return nil }
            return entry.identity
        }
    }

    func remember(_ identity: TokenIdentity, hash: String, now: ContinuousClock.Instant) {
        known.withLock { known in
            if known.count >= Self.capacity { known.removeAll() }
            known[hash] = (identity, now)
        }
    }

    /// Forgets every identity (a token was revoked).
    func forgetAll() { known.withLock { $0.removeAll() } }
}

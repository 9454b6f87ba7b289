import DeskAPI
import DeskApp
import DeskClient
import DeskCore
import DeskIdentity
import DeskLedger
import Foundation

/// What `desk orders`, `desk positions` and `desk tokens …` do: read or write
/// the ledger file directly, whether or not a desk runs on it.
public enum LedgerCommands {
    /// The ledger's orders, newest first (never creates a ledger).
    public static func orders(_ query: OrdersQuery, json: Bool, database: DatabaseOptions) async throws {
        let ledger = try Ledger(readingExisting: database.resolvedPath)
        printLine(try await LedgerReports.orders(ledger, query: OrderQuery(query), json: json))
    }

    /// Positions per member (or strategy), valued at the last prices of the desk running on the ledger.
    public static func positions(member: String?, byStrategy: Bool, json: Bool, database: DatabaseOptions)
        async throws
    {
        let ledger = try Ledger(readingExisting: database.resolvedPath)
        let market = await marketPrices(database: database.resolvedPath)
        printLine(
            try await LedgerReports.positions(
                ledger, member: member, byStrategy: byStrategy, json: json, market: market))
    }

    /// The last prices the desk running on `database` has, asked with its admin token file.
    static func marketPrices(database: String) async -> LedgerReports.MarketPrices {
        guard case .running(let record) = DeskLock.probe(database: database) else {
            return .none("no desk is running on this ledger")
        }
        guard let url = record?.url ?? record?.unixSocket.map({ "unix://\($0)" }) else {
            return .none("the desk on this ledger is not listening yet")
        }
        guard let token = AdminTokenFile.read(path: AdminTokenFile.path(forDatabase: database)) else {
            return .none("no admin token file beside the ledger")
        }
        let connection = DeskConnection(serverURL: url, token: token)
        let prices: LedgerReports.MarketPrices
        do {
            prices = LedgerReports.MarketPrices.from(try await connection.positions())
        } catch {
            prices = .none("the desk at \(url) did not answer: \(error)")
        }
        try? await connection.shutdown()
        return prices
    }

    /// Issues a token and prints it (once) with what it is and where it was written.
    public static func issueToken(
        member: String, strategy: String, admin: Bool, metrics: Bool, database: DatabaseOptions
    ) async throws {
        let path = database.resolvedPath
        let existed = FileManager.default.fileExists(atPath: path)
        let issued = try await Ledger(path: path, groupCommit: false).issueToken(
            member: member, strategy: strategy, isAdmin: admin, metricsOnly: metrics)
        printLine(issued.secret)
        let kind = admin ? " (admin)" : metrics ? " (metrics only)" : ""
        printLine(
            "token \(issued.identity.tokenId) for member \(member)\(strategy.isEmpty ? "" : ", strategy \(strategy)")\(kind); it is stored hashed and cannot be shown again"
        )
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let desk: String
        switch DeskLock.probe(database: path) {
        case .running(let record):
            desk = "the desk running on it (\(record?.summary ?? "pid unknown")) accepts it now"
        case .notRunning: desk = "no desk is running on it now; `desk serve --db \(path)` will accept it"
        case .unknown(let reason): desk = "whether a desk runs on it is unknown (\(reason))"
        }
        printLine("written to the ledger \(absolute)\(existed ? "" : " (a new, empty ledger)"); \(desk)")
    }

    /// Revokes a token by its id.
    public static func revokeToken(id: Int64, database: DatabaseOptions) async throws {
        guard try await Ledger(existing: database.resolvedPath).revokeToken(id: id) else {
            throw DeskCommandError("no live token with id \(id) in \(database.resolvedPath) (see `desk tokens list`)")
        }
        printLine("token \(id) revoked")
    }

    /// Every token, never its secret.
    public static func listTokens(database: DatabaseOptions) async throws {
        printLine(try await LedgerReports.tokens(Ledger(readingExisting: database.resolvedPath)))
    }
}

import DeskAPI
import DeskApp
import DeskClient
import DeskCore
import DeskIdentity
import DeskServices
import Foundation

/// What `desk orders`, `desk positions` and `desk tokens …` do: read or write
/// the ledger file directly, whether or not a desk runs on it.
public enum LedgerCommands {
    /// The ledger's orders, newest first (never creates a ledger); every venue's,
    /// or `venue.venue`'s only (a venue the desk does not have is refused).
    public static func orders(
        _ query: OrdersQuery, json: Bool, database: DatabaseOptions, venue: VenueOptions = VenueOptions()
    ) async throws {
        let portfolio = try Portfolio.reading(ledgerAt: database.resolvedPath)
        var query = query
        query.venue = try await venue.venueNames(ledgerAt: database.resolvedPath).check(venue.venue)
        printLine(try await LedgerReports.orders(portfolio, query: OrderQuery(query), json: json))
    }

    /// Positions per member (or strategy) on every venue or `venue.venue`'s, valued at
    /// the last prices of the desk running on the ledger.
    public static func positions(
        member: String?, byStrategy: Bool, json: Bool, database: DatabaseOptions,
        venue: VenueOptions = VenueOptions()
    ) async throws {
        let ledger = try Portfolio.reading(ledgerAt: database.resolvedPath)
        let venueName = try await venue.venueNames(ledgerAt: database.resolvedPath).check(venue.venue)
        let market = await marketPrices(database: database.resolvedPath)
        let prices = market.prices
        let portfolio = ledger.valued(at: { prices[$0] })
        printLine(
            try await LedgerReports.positions(
                portfolio, member: member, venue: venueName, byStrategy: byStrategy, json: json,
                unavailable: market.unavailable))
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

    /// Issues a token and prints it (once) with what it is, its venue and where it
    /// was written. `venue.venue` must be one of the desk's venues (its config file's,
    /// or without one `paper` and those the ledger has); without it the token trades
    /// on the desk's default venue (stored without a venue, resolved at use).
    public static func issueToken(
        member: String, strategy: String, kind: TokenKind, venue: VenueOptions = VenueOptions(),
        database: DatabaseOptions
    ) async throws {
        let path = database.resolvedPath
        let existed = FileManager.default.fileExists(atPath: path)
        let venues = try await venue.venueNames(ledgerAt: path)
        if kind == .member { _ = try venues.check(venue.venue) }
        let issued = try await CLIRefusals.translating {
            try await TokenAdministration.opening(ledgerAt: path, create: true)
                .knowing(venues: venues.names, defaultVenue: venues.defaultVenue)
                .issue(kind, member: member, strategy: strategy, venue: venue.venue ?? "", by: .ledgerOwner)
        }
        printLine(issued.secret)
        let role =
            switch kind {
            case .member:
                ", on the venue \(issued.token.venue)\(venue.venue == nil ? " (the desk's default venue)" : "")"
            case .admin: " (admin)"
            case .officer: " (officer)"
            case .metrics: " (metrics only)"
            }
        printLine(
            "token \(issued.token.id) for member \(member)\(strategy.isEmpty ? "" : ", strategy \(strategy)")\(role); it is stored hashed and cannot be shown again"
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
        let tokens = try TokenAdministration.opening(ledgerAt: database.resolvedPath)
        let revocation: Revocation
        do { revocation = try await tokens.revoke(id: id, by: .ledgerOwner) } catch AdminRefusal.tokenNotFound {
            revocation = .alreadyRevoked
        }
        guard revocation == .revoked else {
            throw DeskCommandError("no live token with id \(id) in \(database.resolvedPath) (see `desk tokens list`)")
        }
        printLine("token \(id) revoked")
    }

    /// Every token, never its secret, with its venue and role; JSON when `json`.
    public static func listTokens(database: DatabaseOptions, json: Bool = false, venue: VenueOptions = VenueOptions())
        async throws
    {
        let path = database.resolvedPath
        let tokens = try TokenAdministration.opening(ledgerAt: path, readOnly: true)
        let venues = try await venue.venueNames(ledgerAt: path)
        printLine(
            try await LedgerReports.tokens(
                tokens.knowing(venues: venues.names, defaultVenue: venues.defaultVenue), json: json))
    }
}

/// The CLI's face of the use cases' refusals: each one a `DeskCommandError` (exit status 1) saying why.
enum CLIRefusals {
    /// Runs a use case, answering its refusal as the CLI's error.
    static func translating<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let refusal as AdminRefusal {
            throw DeskCommandError(message(refusal))
        }
    }

    /// What the CLI says of an administration refusal.
    static func message(_ refusal: AdminRefusal) -> String {
        switch refusal {
        case .notAdmin: "this needs an admin token"
        case .invalidMember(let member): "member \"\(member)\": \(Identifier.rule)"
        case .invalidStrategy(let strategy): "strategy \"\(strategy)\": \(Identifier.rule)"
        case .unknownTokenKind(let kind):
            "kind \"\(kind)\" is not one of: \(TokenKind.allCases.map(\.rawValue).joined(separator: ", "))"
        case .metricsTokenWithStrategy:
            "--metrics makes a token that only reads /metrics: it takes no --admin or --strategy"
        case .tokenNotFound(let id): "no token with id \(id) (see `desk tokens list`)"
        case .unknownVenue, .roleTokenWithVenue, .notOverseer, .ambiguousHaltScope: refusal.message
        }
    }
}

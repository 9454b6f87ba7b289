import ArgumentParser
import DeskApp
import DeskCLI
import DeskCore

/// `desk tokens issue|revoke|list`: bearer tokens, written straight to the ledger.
struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Issue, revoke and list bearer tokens.", subcommands: [Issue.self, Revoke.self, List.self])

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token for a member; prints the token (shown once) on the first line.")
        @Argument(help: "The member the token trades as (for --metrics: a name for the scraper).") var member: String
        @Option(help: "Bind the token to one strategy.") var strategy: String = ""
        @Flag(help: "An admin token: reads everyone's data and uses the admin API.") var admin = false
        @Flag(help: "A metrics token (for Prometheus): reads /metrics and nothing else.") var metrics = false
        @Flag(help: "An officer's token: halts and resumes, approves promotions, reads every member's figures.")
        var officer = false
        @Option(help: "The venue the token trades on; without it, the desk's default_venue.") var venue: String?
        @Option(help: "The desk's JSON config file, for its venues (env DESK_CONFIG).") var config: String?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if [admin, metrics, officer].filter({ $0 }).count > 1 {
                throw ValidationError("--admin, --officer and --metrics are kinds of token: give at most one")
            }
            guard Identifier.isSafe(member) else { throw ValidationError("member \"\(member)\": \(Identifier.rule)") }
            if !strategy.isEmpty && !Identifier.isSafe(strategy) {
                throw ValidationError("strategy \"\(strategy)\": \(Identifier.rule)")
            }
            if metrics && (admin || !strategy.isEmpty) {
                throw ValidationError(
                    "--metrics makes a token that only reads /metrics: it takes no --admin or --strategy")
            }
        }

        func run() async throws {
            var venues = VenueOptions()
            venues.venue = venue
            venues.config = config
            try await LedgerCommands.issueToken(
                member: member, strategy: strategy,
                kind: admin ? .admin : metrics ? .metrics : officer ? .officer : .member, venue: venues,
                database: database)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (see `desk tokens list`).")
        @Argument(help: "Token id.") var id: Int64
        @OptionGroup var database: DatabaseOptions

        func run() async throws { try await LedgerCommands.revokeToken(id: id, database: database) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tokens (never their secrets); reads the ledger file, never creates one.")
        @Flag(help: "JSON instead of a table.") var json = false
        @Option(help: "The desk's JSON config file, for its default venue (env DESK_CONFIG).") var config: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            var venues = VenueOptions()
            venues.config = config
            try await LedgerCommands.listTokens(database: database, json: json, venue: venues)
        }
    }
}

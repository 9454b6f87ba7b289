import ArgumentParser
import DeskApp
import DeskCLI
import DeskCore
import DeskIdentity
import DeskLedger
import Foundation

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
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
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
            let path = database.resolvedPath
            let existed = FileManager.default.fileExists(atPath: path)
            let issued = try Ledger(path: path, groupCommit: false).issueToken(
                member: member, strategy: strategy, isAdmin: admin, metricsOnly: metrics)
            print(issued.secret)
            let kind = admin ? " (admin)" : metrics ? " (metrics only)" : ""
            print(
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
            print("written to the ledger \(absolute)\(existed ? "" : " (a new, empty ledger)"); \(desk)")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (see `desk tokens list`).")
        @Argument(help: "Token id.") var id: Int64
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            guard try Ledger(existing: database.resolvedPath).revokeToken(id: id) else {
                throw DeskCommandError(
                    "no live token with id \(id) in \(database.resolvedPath) (see `desk tokens list`)")
            }
            print("token \(id) revoked")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tokens (never their secrets); reads the ledger file, never creates one.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            print(try LedgerReports.tokens(Ledger(readingExisting: database.resolvedPath)))
        }
    }
}

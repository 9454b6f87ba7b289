import ArgumentParser
import DeskCore
import DeskLedger
import DeskServer

/// `desk tokens issue|revoke|list`: bearer tokens, written straight to the ledger.
struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Issue, revoke and list bearer tokens.", subcommands: [Issue.self, Revoke.self, List.self])

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token for a member; prints the token (shown once) on the first line.")
        @Argument(help: "The member the token trades as.") var member: String
        @Option(help: "Bind the token to one strategy.") var strategy: String = ""
        @Flag(help: "An admin token: reads everyone's data and uses the admin API.") var admin = false
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard Identifier.isSafe(member) else { throw ValidationError("member \"\(member)\": \(Identifier.rule)") }
            if !strategy.isEmpty && !Identifier.isSafe(strategy) {
                throw ValidationError("strategy \"\(strategy)\": \(Identifier.rule)")
            }
        }

        func run() async throws {
            let issued = try Ledger(path: database.resolvedPath).issueToken(
                member: member, strategy: strategy, isAdmin: admin)
            print(issued.secret)
            print(
                "token \(issued.identity.tokenId) for member \(member)\(strategy.isEmpty ? "" : ", strategy \(strategy)")\(admin ? " (admin)" : ""); it is stored hashed and cannot be shown again"
            )
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (see `desk tokens list`).")
        @Argument(help: "Token id.") var id: Int64
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            guard try Ledger(path: database.resolvedPath).revokeToken(id: id) else {
                throw ValidationError("no live token with id \(id) (see `desk tokens list`)")
            }
            print("token \(id) revoked")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            print(try LedgerReports.tokens(Ledger(path: database.resolvedPath)))
        }
    }
}

import ArgumentParser
import DeskCLI

/// `desk reconcile`: the ledger against the broker's account, now.
struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Check the ledger against each venue's account (Alpaca): open orders, missed fills, outside orders, positions.",
        discussion: AdminCommands.adminOnly)
    @Flag(help: "JSON output.") var json = false
    @Option(help: "Only this venue; without it, every venue with an account of its own.") var venue: String?
    @OptionGroup var server: ServerOptions

    func run() async throws { try await AdminCommands.reconcile(json: json, venue: venue, server: server) }
}

import ArgumentParser
import DeskCLI

/// `desk reconcile`: the ledger against the broker's account, now.
struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the ledger against Alpaca: open orders, missed fills, outside orders, positions.",
        discussion: AdminCommands.adminOnly)
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var server: ServerOptions

    func run() async throws { try await AdminCommands.reconcile(json: json, server: server) }
}

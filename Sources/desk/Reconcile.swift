import ArgumentParser
import DeskApp
import DeskCLI
import DeskIdentity

/// `desk reconcile`: the ledger against the broker's account, now.
struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the ledger against Alpaca: open orders, missed fills, outside orders, positions.")
    @Flag(help: "JSON output.") var json = false
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let body = try await withDesk(server) { try await $0.json(method: .POST, path: "/admin/reconcile") }
        print(try ReconciliationReports.render(body, json: json))
    }
}

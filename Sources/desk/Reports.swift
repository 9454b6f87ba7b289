import ArgumentParser
import DeskAPI
import DeskApp
import DeskCLI

/// `desk orders`: the ledger's orders.
struct Orders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List orders from the ledger (newest first); reads the ledger file, never creates one.")
    @OptionGroup var member: MemberOption
    @Option(help: "open, closed, all, or one status (filled, canceled, …).") var status: OrderStatusFilter = .all
    @Option(help: "Only this symbol.") var symbol: String?
    @Option(help: "At most this many.") var limit: Int = 50
    @Flag(help: "JSON instead of a table.") var json = false
    @OptionGroup var ledger: LedgerChoice
    @OptionGroup var venue: VenueOptions

    func validate() throws {
        guard (1...OrdersQuery.maximumLimit).contains(limit) else {
            throw ValidationError("--limit must be from 1 to \(OrdersQuery.maximumLimit)")
        }
    }

    func run() async throws {
        try await LedgerCommands.orders(
            OrdersQuery(member: member.value, status: status, symbol: symbol, limit: limit), json: json,
            database: ledger.resolved, venue: venue)
    }
}

/// `desk positions`: holdings and P&L per member (or strategy), valued at the
/// running desk's last prices when a desk runs on the ledger.
struct Positions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "List positions from the ledger, valued at the last prices of the desk running on it; never creates a ledger."
    )
    @OptionGroup var member: MemberOption
    @Flag(name: .customLong("by-strategy"), help: "One row per strategy instead of per member.") var byStrategy = false
    @Flag(help: "JSON instead of a table.") var json = false
    @OptionGroup var ledger: LedgerChoice
    @OptionGroup var venue: VenueOptions

    func run() async throws {
        try await LedgerCommands.positions(
            member: member.value, byStrategy: byStrategy, json: json, database: ledger.resolved, venue: venue)
    }
}

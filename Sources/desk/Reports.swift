import ArgumentParser
import DeskCore
import DeskLedger
import DeskServer

/// `desk orders`: the ledger's orders.
struct Orders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List orders from the ledger (newest first).")
    @Option(help: "Only this member's orders.") var user: String?
    @Option(help: "open, closed, all, or one status (filled, canceled, …).") var status: String = "all"
    @Option(help: "Only this symbol.") var symbol: String?
    @Option(help: "At most this many.") var limit: Int = 50
    @Flag(help: "JSON instead of a table.") var json = false
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let filter: OrderQuery.StatusFilter
        switch status {
        case "all": filter = .all
        case "open": filter = .open
        case "closed": filter = .closed
        default:
            guard let exact = OrderStatus(rawValue: status) else {
                throw ValidationError("status \"\(status)\": use open, closed, all or an order status such as filled")
            }
            filter = .exactly(exact)
        }
        let ledger = try Ledger(path: database.resolvedPath)
        print(
            try await LedgerReports.orders(
                ledger, query: OrderQuery(member: user, status: filter, symbol: symbol, limit: limit), json: json))
    }
}

/// `desk positions`: holdings and realized P&L per member (or strategy).
struct Positions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List positions from the ledger.")
    @Option(help: "Only this member.") var user: String?
    @Flag(name: .customLong("by-strategy"), help: "One row per strategy instead of per member.") var byStrategy = false
    @Flag(help: "JSON instead of a table.") var json = false
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let ledger = try Ledger(path: database.resolvedPath)
        print(try await LedgerReports.positions(ledger, member: user, byStrategy: byStrategy, json: json))
    }
}

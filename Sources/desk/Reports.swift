import ArgumentParser
import DeskApp
import DeskCLI
import DeskClient
import DeskCore
import DeskIdentity
import DeskLedger
import Foundation

/// `desk orders`: the ledger's orders.
struct Orders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List orders from the ledger (newest first); reads the ledger file, never creates one.")
    @Option(help: "Only this member's orders.") var user: String?
    @Option(help: "open, closed, all, or one status (filled, canceled, …).") var status: String = "all"
    @Option(help: "Only this symbol.") var symbol: String?
    @Option(help: "At most this many.") var limit: Int = 50
    @Flag(help: "JSON instead of a table.") var json = false
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard (1...OrderQuery.maximumLimit).contains(limit) else {
            throw ValidationError("--limit must be from 1 to \(OrderQuery.maximumLimit)")
        }
    }

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
        let ledger = try Ledger(readingExisting: database.resolvedPath)
        print(
            try await LedgerReports.orders(
                ledger, query: OrderQuery(member: user, status: filter, symbol: symbol, limit: limit), json: json))
    }
}

/// `desk positions`: holdings and P&L per member (or strategy), valued at the
/// running desk's last prices when a desk runs on the ledger.
struct Positions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "List positions from the ledger, valued at the last prices of the desk running on it; never creates a ledger."
    )
    @Option(help: "Only this member.") var user: String?
    @Flag(name: .customLong("by-strategy"), help: "One row per strategy instead of per member.") var byStrategy = false
    @Flag(help: "JSON instead of a table.") var json = false
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let ledger = try Ledger(readingExisting: database.resolvedPath)
        let market = await Self.marketPrices(database: database.resolvedPath)
        print(
            try await LedgerReports.positions(
                ledger, member: user, byStrategy: byStrategy, json: json, market: market))
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
            prices = LedgerReports.MarketPrices.from(
                positionsReply: try await connection.json(method: .GET, path: "/positions"))
        } catch {
            prices = .none("the desk at \(url) did not answer: \(error)")
        }
        try? await connection.shutdown()
        return prices
    }
}

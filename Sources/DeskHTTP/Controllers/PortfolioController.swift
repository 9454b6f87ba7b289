import DeskBroker
import DeskIdentity
import DeskLedger
import Hummingbird

/// `GET /positions` and `GET /account`: a member's holdings and P&L at the last known prices.
struct PortfolioController {
    let ledger: Ledger
    let broker: any Broker

    func addRoutes(to router: some RouterMethods<DeskRequestContext>) {
        router.get("positions", use: positions)
        router.get("account", use: account)
    }

    @Sendable func positions(_ request: Request, context: DeskRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let parameters = request.uri.queryParameters
        try Self.checkParameters(parameters, allowed: ["user", "by"])
        let byStrategy: Bool
        switch parameters.get("by") {
        case nil, "member": byStrategy = false
        case "strategy": byStrategy = true
        case let other?: throw DeskHTTPError(.badRequest, "by \"\(other)\" must be \"member\" or \"strategy\"")
        }
        let member = try ReadQuery.member(parameters, caller: caller)
        let records = try await ledger.positions(member: member, byStrategy: byStrategy)
        return try JSONReply.make(
            PositionList(
                positions: records.map {
                    PositionView($0, lastPrice: broker.lastPrice($0.symbol), byStrategy: byStrategy)
                }))
    }

    @Sendable func account(_ request: Request, context: DeskRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let parameters = request.uri.queryParameters
        try Self.checkParameters(parameters, allowed: ["user"])
        let member = try ReadQuery.member(parameters, caller: caller) ?? caller.member
        let positions = try await ledger.positions(member: member)
        let open = try await ledger.orders(OrderQuery(member: member, status: .open, limit: OrderQuery.maximumLimit))
        return try JSONReply.make(
            AccountView(member: member, positions: positions, openOrders: open.count, lastPrice: broker.lastPrice))
    }

    static func checkParameters(_ parameters: Parameters, allowed: [String]) throws(DeskHTTPError) {
        for (key, _) in parameters where !allowed.contains(String(key)) {
            throw DeskHTTPError(
                .badRequest, "unknown query parameter \"\(key)\"; allowed: \(allowed.joined(separator: ", "))")
        }
    }
}

import DeskAPI
import DeskBroker
import DeskCore
import DeskLedger
import Hummingbird

/// `GET /positions` and `GET /account`: a member's holdings and P&L at the last known prices.
struct PortfolioController {
    let ledger: Ledger
    let prices: PriceBook

    func addRoutes(to router: some RouterMethods<MemberContext>) {
        router.on(Routes.positions, use: positions)
        router.on(Routes.account, use: account)
    }

    @Sendable func positions(_ request: Request, context: MemberContext) async throws -> PositionList {
        let query: PositionsQuery
        do { query = try PositionsQuery(QueryParameters(request)) } catch { throw DeskHTTPError(error) }
        let member = try Readers.member(query.member, caller: context.caller)
        let byStrategy = query.grouping == .strategy
        let records = try await ledger.positions(member: member, byStrategy: byStrategy)
        return PositionList(
            positions: records.map { PositionView($0, lastPrice: prices.lastPrice($0.symbol), byStrategy: byStrategy) })
    }

    @Sendable func account(_ request: Request, context: MemberContext) async throws -> AccountView {
        let query: AccountQuery
        do { query = try AccountQuery(QueryParameters(request)) } catch { throw DeskHTTPError(error) }
        let member = try Readers.member(query.member, caller: context.caller) ?? context.caller.member
        let positions = try await ledger.positions(member: member)
        let open = try await ledger.orders(OrderQuery(member: member, status: .open, limit: OrderQuery.maximumLimit))
        return AccountView(member: member, positions: positions, openOrders: open.count, lastPrice: prices.lastPrice)
    }
}

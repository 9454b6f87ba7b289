import DeskAPI
import DeskCore
import DeskServices
import Foundation
import Hummingbird

/// `GET /positions`, `GET /account` and `GET /pnl`: a member's holdings, account
/// and equity curve at the last known prices (an admin's: anyone's, with `?member=`).
struct PortfolioController {
    let portfolio: Portfolio

    func addRoutes(to router: some RouterMethods<MemberContext>) {
        router.on(Routes.positions, use: positions)
        router.on(Routes.account, use: account)
        router.on(Routes.pnl, use: history)
    }

    @Sendable func positions(_ request: Request, context: MemberContext) async throws -> PositionList {
        let query: PositionsQuery
        do { query = try PositionsQuery(QueryParameters(request)) } catch { throw DeskHTTPError(error) }
        let byStrategy = query.grouping == .strategy
        let holdings = try await DeskHTTPError.translating {
            try await portfolio.positions(
                for: context.caller, member: query.member, byStrategy: byStrategy, venue: query.venue)
        }
        return PositionList(
            positions: holdings.map { PositionView($0.record, lastPrice: $0.lastPrice, byStrategy: byStrategy) })
    }

    @Sendable func account(_ request: Request, context: MemberContext) async throws -> AccountView {
        let query: AccountQuery
        do { query = try AccountQuery(QueryParameters(request)) } catch { throw DeskHTTPError(error) }
        let figures = try await DeskHTTPError.translating {
            try await portfolio.account(for: context.caller, member: query.member, venue: query.venue)
        }
        return AccountView(figures, lastPrice: portfolio.lastPrice)
    }

    @Sendable func history(_ request: Request, context: MemberContext) async throws -> PnLHistory {
        let query: PnLQuery
        do { query = try PnLQuery(QueryParameters(request)) } catch { throw DeskHTTPError(error) }
        let curve = try await DeskHTTPError.translating {
            try await portfolio.history(
                for: context.caller, member: query.member, strategy: query.strategy,
                since: query.since ?? Date().addingTimeInterval(-86_400), stepSeconds: query.step.seconds,
                venue: query.venue)
        }
        return PnLHistory(curve, step: query.step)
    }
}

extension DeskHTTPError {
    /// The HTTP face of a portfolio refusal: one row per refusal.
    init(_ refusal: PortfolioRefusal) {
        switch refusal {
        case .otherMember, .adminOnly, .otherVenue: self.init(.forbidden, refusal.message)
        case .orderNotFound: self.init(.notFound, refusal.message)
        case .unknownVenue: self.init(.badRequest, refusal.message)
        }
    }

    /// Runs a use case, answering its refusal (a `PortfolioRefusal` or an `AdminRefusal`) as its HTTP error.
    static func translating<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let refusal as PortfolioRefusal {
            throw DeskHTTPError(refusal)
        } catch let refusal as AdminRefusal {
            throw DeskHTTPError(refusal)
        }
    }
}

extension AccountView {
    /// A member's account valued at `lastPrice`.
    init(_ figures: AccountFigures, lastPrice: (String) -> Decimal?) {
        self.init(
            member: figures.member, positions: figures.positions, openOrders: figures.openOrders,
            lastPrice: lastPrice, venue: figures.venue)
    }
}

extension PnLHistory {
    /// An equity curve as `GET /pnl` shows it (exact decimals as strings).
    init(_ curve: EquityCurve, step: PnLStep) {
        self.init(
            member: curve.member, strategy: curve.strategy, venue: curve.venue, step: step.rawValue,
            points: curve.points.map {
                PnLPoint(
                    at: $0.at, equity: ExactDecimal.plain($0.equity), realizedPnL: ExactDecimal.plain($0.realizedPnL),
                    unrealizedPnL: ExactDecimal.plain($0.unrealizedPnL))
            }, maxDrawdown: ExactDecimal.plain(curve.maxDrawdown))
    }
}

import DeskBroker
import DeskCore
import DeskLedger
import DeskOrders
import Foundation
import Logging

/// Applies splits and dividends to the desk's books on a venue: the order desk
/// cancels the symbol's working orders (a split, on a venue that does not do it
/// itself) and books every holder's new position once (the loss monitor, which
/// watches the order desk's books, reads them again); and a split moves the symbol's last price by its ratio, so that
/// no one's P&L moves with it (qty × ratio at price ÷ ratio, cost unchanged).
///
/// Dividends are booked on the ex-date, for the quantity held when it begins:
/// that is when the price drops by the dividend, so P&L stays continuous (booking
/// on the payable date would show a loss for the days between). Alpaca credits the
/// cash on the payable date; the positions it reconciles are the same either way.
public struct CorporateActions: Sendable {
    let orderDesk: OrderDesk
    let prices: PriceBook
    let clock: any DeskClock
    let logger: Logger

    /// Applies over the desk's order desk and prices.
    public init(orderDesk: OrderDesk, prices: PriceBook, clock: any DeskClock, logger: Logger) {
        self.orderDesk = orderDesk
        self.prices = prices
        self.clock = clock
        self.logger = logger
    }

    /// Applies `action` on each of `venues` (`cancelOrders`: cancel the symbol's working orders on a
    /// split). Returns the books changed on each venue that had not had it yet.
    @discardableResult
    public func apply(_ action: CorporateAction, venues: [String], cancelOrders: Bool) async throws
        -> [String: [CorporateActionChange]]
    {
        var adjusted: Decimal?
        if case .split = action.kind { adjusted = prices.lastPrice(action.symbol).map(action.adjustedPrice) }
        var applied: [String: [CorporateActionChange]] = [:]
        for venue in venues {
            if let changes = try await orderDesk.applyCorporateAction(
                action, venue: venue, price: adjusted, cancelOrders: cancelOrders)
            {
                applied[venue] = changes
            }
        }
        guard !applied.isEmpty else { return [:] }
        if let adjusted {
            prices.observe(PriceBook.Line(symbol: action.symbol, price: adjusted, size: nil, at: clock.now()))
        }
        return applied
    }
}

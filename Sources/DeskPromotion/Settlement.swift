import DeskCore
import Foundation

/// A strategy's working orders on one venue, to be canceled.
public struct StrayOrders: Sendable, Hashable, Comparable {
    public var member: String
    public var strategy: String
    /// The venue the orders are on (not the strategy's venue).
    public var venue: String

    /// Orders of `member`'s `strategy` on `venue`.
    public init(member: String, strategy: String, venue: String) {
        self.member = member
        self.strategy = strategy
        self.venue = venue
    }

    public static func < (left: StrayOrders, right: StrayOrders) -> Bool {
        (left.member, left.strategy, left.venue) < (right.member, right.strategy, right.venue)
    }
}

/// What a desk starting again does about a promotion it was stopped in the middle
/// of: the ledger moved the strategy (in the approval's transaction), but its
/// orders on the old venue may still work. Pure: it names them, the desk cancels.
public enum PromotionSettlement {
    /// The working orders of strategies on a venue that is not theirs now.
    /// `open` are the ledger's working orders; `venues` the strategies the ledger
    /// moved (others run on `defaultVenue`); `strategies` the strategies the desk
    /// runs (an order of anything else, a member's own, is left alone). An order
    /// with no venue is `defaultVenue`'s.
    public static func strays(
        open: [OrderRecord], venues: [String: String], strategies: Set<String>, defaultVenue: String
    ) -> [StrayOrders] {
        var found: Set<StrayOrders> = []
        for order in open where !order.strategy.isEmpty {
            guard strategies.contains(order.strategy) || venues[order.strategy] != nil else { continue }
            let current = venues[order.strategy] ?? defaultVenue
            let venue = order.venue.isEmpty ? defaultVenue : order.venue
            if venue != current {
                found.insert(StrayOrders(member: order.member, strategy: order.strategy, venue: venue))
            }
        }
        return found.sorted()
    }
}

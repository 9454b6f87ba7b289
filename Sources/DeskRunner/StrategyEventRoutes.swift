import DeskMarketData
import Synchronization

/// Where each running strategy's order event lines go: into its feed
/// subscription (live, `Supervisor`) or its turn queue (a backtest, `Lockstep`),
/// for the strategies whose config.json asks for them (`"events": ["fills"]`).
///
/// The composition root hands every booked event of a strategy's order to
/// `deliver` synchronously, as the order desk publishes it; so a line lands after
/// its booking and before any tick published later. Lines go only to the
/// strategy that placed the order (member and strategy, from its token).
public final class StrategyEventRoutes: Sendable {
    private struct Key: Hashable {
        var member: String
        var strategy: String
    }

    private struct Route {
        var id: Int
        var sink: @Sendable (FeedLine) -> Void
    }

    private let routes = Mutex<(next: Int, all: [Key: Route])>((0, [:]))

    public init() {}

    /// Sends the lines of `member`'s `strategy` to `sink` (which must never wait)
    /// until `remove` is called with the returned id; replaces an earlier route of
    /// the same strategy.
    public func route(member: String, strategy: String, to sink: @escaping @Sendable (FeedLine) -> Void) -> Int {
        routes.withLock { state in
            state.next += 1
            state.all[Key(member: member, strategy: strategy)] = Route(id: state.next, sink: sink)
            return state.next
        }
    }

    /// Ends the route `id` of `member`'s `strategy` (a newer route of it stays).
    public func remove(member: String, strategy: String, id: Int) {
        routes.withLock { state in
            let key = Key(member: member, strategy: strategy)
            if state.all[key]?.id == id { state.all[key] = nil }
        }
    }

    /// Hands `line` to `member`'s `strategy`, if it is routed; false when it is not.
    @discardableResult
    public func deliver(_ line: FeedLine, member: String, strategy: String) -> Bool {
        routes.withLock { state in
            guard let route = state.all[Key(member: member, strategy: strategy)] else { return false }
            route.sink(line)
            return true
        }
    }
}

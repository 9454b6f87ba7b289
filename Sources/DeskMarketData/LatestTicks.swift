import Foundation
import Synchronization

/// The last trade, quote and bar the feed published for each symbol: what the
/// `/v2` latest-data routes answer. Fed by `FeedHub.observe`, read at any time.
public final class LatestTicks: Sendable {
    /// One symbol's latest of each kind.
    public struct Latest: Sendable, Equatable {
        /// The last trade (or tick without a kind), with its sequence number.
        public var trade: (tick: Tick, number: Int64)?
        /// The last tick with a bid and an ask.
        public var quote: Tick?
        /// The last bar, or the last trade as a one-trade bar.
        public var bar: Tick?

        public static func == (lhs: Latest, rhs: Latest) -> Bool {
            lhs.trade?.tick == rhs.trade?.tick && lhs.trade?.number == rhs.trade?.number && lhs.quote == rhs.quote
                && lhs.bar == rhs.bar
        }
    }

    private let state = Mutex<(count: Int64, bySymbol: [String: Latest])>((0, [:]))

    public init() {}

    /// Notes `tick` (call it from `FeedHub.observe`).
    public func note(_ tick: Tick) {
        state.withLock { state in
            state.count += 1
            var latest = state.bySymbol[tick.symbol] ?? Latest()
            switch tick.kind {
            case .quote?:
                latest.quote = tick
            case .bar?:
                latest.bar = tick
            default:
                latest.trade = (tick, state.count)
                if tick.bid != nil && tick.ask != nil { latest.quote = tick }
                if latest.bar == nil || latest.bar?.bar == nil { latest.bar = tick }
            }
            state.bySymbol[tick.symbol] = latest
        }
    }

    /// What is known of `symbol`.
    public func latest(_ symbol: String) -> Latest? { state.withLock { $0.bySymbol[symbol] } }

    /// Every symbol seen, sorted.
    public var symbols: [String] { state.withLock { $0.bySymbol.keys.sorted() } }
}

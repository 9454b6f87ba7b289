import DeskCore
import Foundation

/// What a strategy whose config.json sets `"events": ["fills"]` reads about its
/// own orders, one JSON line each, in order with its market data:
///
/// - `{"type":"fill","order_id":…,"symbol":…,"side":…,"qty":…,"price":…,"position":…,"ts":…}`:
///   `qty` is that fill's quantity, `position` the strategy's position in the
///   symbol after it (on its venue);
/// - `{"type":"canceled"|"expired"|"rejected","order_id":…,"symbol":…,"side":…,"reason":…,"ts":…}`,
///   `reason` only where there is one.
///
/// Numbers are JSON numbers written from their exact decimal text, as on tick lines.
/// An order accepted, or replaced, is not a line (the order's answer says so).
public enum OrderEventLine {
    /// The `type` of each line, as written.
    public enum Kind: String, Sendable, CaseIterable {
        case fill, canceled, expired, rejected
    }

    /// The line about `event` of `order` (the strategy's `position` after a fill),
    /// or nil for an event strategies are not told of.
    public static func line(order: OrderRecord, event: OrderEvent, position: Decimal?, at: Date) -> FeedLine? {
        let kind: Kind
        var fill: (qty: Decimal, price: Decimal)?
        var reason: String?
        switch event {
        case .fill(let qty, let price):
            kind = .fill
            fill = (qty, price)
        case .canceled(let why):
            kind = .canceled
            reason = why
        case .expired: kind = .expired
        case .rejected(let why):
            kind = .rejected
            reason = why
        case .accepted, .replaced: return nil
        }
        var out: [UInt8] = []
        out.reserveCapacity(160)
        out.append(contentsOf: #"{"type":""#.utf8)
        out.append(contentsOf: kind.rawValue.utf8)
        out.append(contentsOf: #"","order_id":"#.utf8)
        JSONText.appendString(order.orderId, to: &out)
        out.append(contentsOf: #","symbol":"#.utf8)
        JSONText.appendString(order.symbol, to: &out)
        out.append(contentsOf: #","side":""#.utf8)
        out.append(contentsOf: order.side.rawValue.utf8)
        out.append(UInt8(ascii: "\""))
        if let fill {
            out.append(contentsOf: #","qty":"#.utf8)
            JSONText.appendNumber(fill.qty, to: &out)
            out.append(contentsOf: #","price":"#.utf8)
            JSONText.appendNumber(fill.price, to: &out)
            if let position {
                out.append(contentsOf: #","position":"#.utf8)
                JSONText.appendNumber(position, to: &out)
            }
        }
        if let reason, !reason.isEmpty {
            out.append(contentsOf: #","reason":"#.utf8)
            JSONText.appendString(reason, to: &out)
        }
        out.append(contentsOf: #","ts":""#.utf8)
        UTCTimestamp.appendISO8601(at, to: &out)
        out.append(contentsOf: "\"}\n".utf8)
        return FeedLine(orderEvent: out)
    }
}

import DeskCore
import Foundation
import Testing

@Suite("Pre-trade risk")
struct RiskCheckTests {
    static let limits = RiskLimits(
        maxOrderQty: 100, maxOrderNotional: 10_000, maxPosition: 150, maxOpenOrders: 3, allowedSymbols: nil,
        deniedSymbols: ["GME"])

    static func order(_ side: Side = .buy, _ qty: Decimal = 10, symbol: String = "AAPL", limit: Decimal? = nil)
        -> OrderTerms
    {
        OrderTerms(symbol: symbol, qty: qty, side: side, type: limit == nil ? .market : .limit, limitPrice: limit)
    }

    @Test(
        "refusals name the limit and its value",
        arguments: [
            (order(symbol: "GME"), RiskExposure(lastPrice: 20), "denied_symbols", "denied symbols"),
            (order(.buy, 101), RiskExposure(lastPrice: 1), "max_order_qty", "max_order_qty 100"),
            (order(.buy, 100), RiskExposure(lastPrice: 101), "max_order_notional", "exceeds max_order_notional 10000"),
            (order(.buy, 50, limit: 250), RiskExposure(lastPrice: 1), "max_order_notional", "50 × 250"),
            (order(.buy, 10), RiskExposure(), "max_order_notional", "no price is known"),
            // Valued at the market, not at the price the order names (issue 22, finding 1).
            (
                OrderTerms(symbol: "MSFT", qty: 100, side: .buy, type: .stop, stopPrice: Decimal(string: "0.01")!),
                RiskExposure(lastPrice: 420), "max_order_notional",
                "42000 (100 × 420, the last price, above its stop 0.01)"
            ),
            (
                OrderTerms(symbol: "GOOG", qty: 100, side: .sell, type: .limit, limitPrice: Decimal(string: "0.01")!),
                RiskExposure(position: 100, lastPrice: 167), "max_order_notional", "16700 (100 × 167, the last price"
            ),
            (
                OrderTerms(symbol: "GOOG", qty: 10, side: .sell, type: .limit, limitPrice: 1), RiskExposure(),
                "max_order_notional", "a sell limit fills at its limit or any price above it"
            ),
            (order(.buy, 10), RiskExposure(openOrders: 3, lastPrice: 1), "max_open_orders", "max_open_orders is 3"),
            (order(.buy, 60), RiskExposure(position: 100, lastPrice: 1), "max_position", "could reach 160"),
            (
                order(.buy, 30), RiskExposure(position: 100, openBuyQty: 30, lastPrice: 1), "max_position",
                "could reach 160"
            ),
            (order(.sell, 60), RiskExposure(position: -100, lastPrice: 1), "max_position", "could reach -160"),
        ])
    func refusals(order: OrderTerms, exposure: RiskExposure, limit: String, fragment: String) throws {
        let rejection = try #require(RiskCheck.evaluate(order, limits: Self.limits, exposure: exposure))
        #expect(rejection.limit == limit)
        #expect(rejection.message.contains(fragment), "\(rejection.message)")
    }

    @Test(
        "orders within limits pass",
        arguments: [
            (order(.buy, 100), RiskExposure(lastPrice: 100)),
            (order(.sell, 100), RiskExposure(position: 100, lastPrice: 50)),  // reducing
            // The limit price bounds the notional: no last price needed.
            (order(.buy, 50, limit: 1), RiskExposure(position: 100)),
            // A buy stop above the market is worth its stop; a sell stop below it, its stop.
            (
                OrderTerms(symbol: "AAPL", qty: 50, side: .buy, type: .stop, stopPrice: 200),
                RiskExposure(lastPrice: 100)
            ),
            (OrderTerms(symbol: "AAPL", qty: 50, side: .sell, type: .stop, stopPrice: 100), RiskExposure()),
            (order(.sell, 50), RiskExposure(position: -100, openSellQty: 0, openOrders: 2, lastPrice: 1)),
        ])
    func passes(order: OrderTerms, exposure: RiskExposure) {
        #expect(RiskCheck.evaluate(order, limits: Self.limits, exposure: exposure) == nil)
    }

    @Test("allowed symbols list")
    func allowList() {
        let limits = RiskLimits(allowedSymbols: ["AAPL", "MSFT"])
        #expect(RiskCheck.evaluate(Self.order(symbol: "AAPL"), limits: limits, exposure: RiskExposure()) == nil)
        let rejection = RiskCheck.evaluate(Self.order(symbol: "TSLA"), limits: limits, exposure: RiskExposure())
        #expect(rejection?.limit == "allowed_symbols")
        #expect(rejection?.message.contains("AAPL, MSFT") == true)
    }

    @Test("member overrides replace only what they set")
    func overrides() {
        let policy = RiskPolicy(
            defaults: .standard, members: ["alice": RiskLimitsOverride().setting(\.maxOrderQty, to: 5)])
        #expect(policy.limits(for: "alice").maxOrderQty == 5)
        #expect(policy.limits(for: "alice").maxOrderNotional == RiskLimits.standard.maxOrderNotional)
        #expect(policy.limits(for: "bob") == .standard)
    }

    /// One distinct non-default value per limit, set through the key path of its table entry.
    static let changed: [(RiskLimitField, RiskLimitsOverride)] = [
        (RiskLimits.field(\.maxOrderQty), RiskLimitsOverride().setting(\.maxOrderQty, to: 7)),
        (RiskLimits.field(\.maxOrderNotional), RiskLimitsOverride().setting(\.maxOrderNotional, to: 70)),
        (RiskLimits.field(\.maxPosition), RiskLimitsOverride().setting(\.maxPosition, to: 700)),
        (RiskLimits.field(\.maxOpenOrders), RiskLimitsOverride().setting(\.maxOpenOrders, to: 7)),
        (RiskLimits.field(\.ordersPerSecond), RiskLimitsOverride().setting(\.ordersPerSecond, to: 0.7)),
        (RiskLimits.field(\.orderBurst), RiskLimitsOverride().setting(\.orderBurst, to: 7)),
        (RiskLimits.field(\.allowedSymbols), RiskLimitsOverride().setting(\.allowedSymbols, to: ["AAPL"])),
        (RiskLimits.field(\.deniedSymbols), RiskLimitsOverride().setting(\.deniedSymbols, to: ["GME"])),
        (RiskLimits.field(\.capital), RiskLimitsOverride().setting(\.capital, to: 7000)),
    ]

    @Test("the limits table: every RiskLimits property once, under its configuration name")
    func limitsTable() {
        #expect(
            RiskLimits.fields.map(\.name) == [
                "max_order_qty", "max_order_notional", "max_position", "max_open_orders", "orders_per_second",
                "order_burst", "allowed_symbols", "denied_symbols", "capital",
            ])
        #expect(
            RiskLimits.fields.count == Mirror(reflecting: RiskLimits()).children.count,
            "a RiskLimits property without an entry in RiskLimits.fields")
        #expect(Set(Self.changed.map(\.0)) == Set(RiskLimits.fields), "the table below covers every limit")
    }

    /// The value of `field` in `limits`, as text (the table's values are of several types).
    static func value(_ limits: RiskLimits, _ field: RiskLimitField) -> String {
        String(describing: limits[keyPath: field.keyPath])
    }

    @Test("an override replaces exactly the limit it sets; removing a limit leaves it unlimited")
    func overrideAndRemovalPerField() {
        let base = RiskLimits(
            maxOrderQty: 1, maxOrderNotional: 2, maxPosition: 3, maxOpenOrders: 4, ordersPerSecond: 5,
            orderBurst: 6, allowedSymbols: ["MSFT"], deniedSymbols: ["TSLA"], capital: 9)
        let unlimited = RiskLimits()
        for (field, override) in Self.changed {
            #expect(override.fields == [field])
            let merged = base.overridden(by: override)
            let removed = base.removing([field])
            for other in RiskLimits.fields {
                let expected = other == field ? override.values : base
                #expect(Self.value(merged, other) == Self.value(expected, other), "overriding \(field): \(other)")
                let left = other == field ? unlimited : base
                #expect(Self.value(removed, other) == Self.value(left, other), "removing \(field): \(other)")
            }
        }
        #expect(base.removing(RiskLimits.fields) == RiskLimits(), "removing every limit: nothing is limited")
        #expect(base.overridden(by: RiskLimitsOverride()) == base, "an empty override changes nothing")
    }

    @Test("token bucket: burst, then the refill rate")
    func tokenBucket() {
        var bucket = TokenBucket(capacity: 3, refillPerSecond: 2, now: 0)
        #expect((0..<3).map { _ in bucket.take(now: 0) } == [true, true, true])
        #expect(bucket.take(now: 0) == false)
        #expect(bucket.take(now: 0.25) == false)  // half a token
        #expect(bucket.take(now: 0.5) == true)
        #expect(bucket.take(now: 100) == true)  // refills to capacity, not beyond
        #expect(bucket.take(now: 100) == true)
        #expect(bucket.take(now: 100) == true)
        #expect(bucket.take(now: 100) == false)
    }
}

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
        let policy = RiskPolicy(defaults: .standard, members: ["alice": RiskLimitsOverride(maxOrderQty: 5)])
        #expect(policy.limits(for: "alice").maxOrderQty == 5)
        #expect(policy.limits(for: "alice").maxOrderNotional == RiskLimits.standard.maxOrderNotional)
        #expect(policy.limits(for: "bob") == .standard)
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

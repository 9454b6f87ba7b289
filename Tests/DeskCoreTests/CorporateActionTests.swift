import DeskCore
import Foundation
import Testing

@Suite("Corporate actions: the arithmetic and the file")
struct CorporateActionTests {
    static func decimal(_ text: String) -> Decimal { Decimal(string: text)! }

    static func split(_ ratio: String) -> CorporateAction {
        CorporateAction(symbol: "AAPL", exDate: TradingDay("2026-03-02")!, kind: .split(ratio: decimal(ratio)))
    }

    @Test(
        "a split multiplies the quantity, keeps the cost, and pays a new fraction as cash in lieu",
        arguments: [
            // ratio, qty, cost, price after, → qty, cost, realized, cash
            ("4", "10", "1000", "25", "40", "1000", "0", "0"),  // 4-for-1: P&L at 100 → 25 unchanged
            ("4", "-10", "-1000", "25", "-40", "-1000", "0", "0"),  // a short too
            ("0.25", "8", "800", "400", "2", "800", "0", "0"),  // 1-for-4 reverse split, whole
            ("0.25", "10", "1000", "560", "2", "800", "80", "280"),  // 2.5 → 2: 0.5 × 560 in lieu for 200 of cost
            ("1.5", "3", "300", "66.666666667", "4", "266.6666666667", "0.0000000002", "33.3333333335"),
            ("0.1", "5", "500", "1000", "0", "0", "0", "500"),  // all of it a fraction: paid out
            ("4", "2.5", "250", "25", "10", "250", "0", "0"),  // a fractional holding stays fractional
        ])
    func split(
        ratio: String, qty: String, cost: String, price: String, newQty: String, newCost: String, realized: String,
        cash: String
    ) {
        let before = Position(qty: Self.decimal(qty), costBasis: Self.decimal(cost))
        let effect = Self.split(ratio).effect(on: before, price: Self.decimal(price))
        #expect(effect.after.qty == Self.decimal(newQty))
        #expect(effect.after.costBasis == Self.decimal(newCost))
        #expect(effect.after.realizedPnL == Self.decimal(realized))
        #expect(effect.cash == Self.decimal(cash))
        #expect(effect.before == before)
    }

    @Test("a split leaves unrealized P&L where it was when the price moves by its ratio")
    func splitKeepsPnL() {
        let position = Position(qty: 10, costBasis: 1000)
        let action = Self.split("4")
        let after = action.effect(on: position, price: nil).after
        #expect(after.unrealizedPnL(at: action.adjustedPrice(120)) == position.unrealizedPnL(at: 120))
        #expect(action.adjustedPrice(190) == Self.decimal("47.5"))
    }

    @Test(
        "a dividend pays quantity × amount into realized P&L (a short pays it)",
        arguments: [("10", "2.5"), ("-4", "-1"), ("0.5", "0.125")])
    func dividend(qty: String, cash: String) {
        let action = CorporateAction(
            symbol: "AAPL", exDate: TradingDay("2026-03-02")!,
            kind: .dividend(amount: Self.decimal("0.25"), payableDate: TradingDay("2026-03-09")!))
        let effect = action.effect(on: Position(qty: Self.decimal(qty), costBasis: 0), price: nil)
        #expect(effect.cash == Self.decimal(cash))
        #expect(effect.after.realizedPnL == Self.decimal(cash))
        #expect(effect.after.qty == Self.decimal(qty))
    }

    @Test("the file: splits and dividends in ex-date order, blank lines skipped")
    func file() throws {
        let text = """
            {"type":"dividend","symbol":"AAPL","ex_date":"2026-03-02","payable_date":"2026-03-09","amount":"0.25"}

            {"type":"split","symbol":"MSFT","ex_date":"2026-01-05","ratio":"0.5"}
            """
        let actions = try CorporateActionFile.parse(Array(text.utf8), path: "actions.jsonl")
        #expect(actions.map(\.symbol) == ["MSFT", "AAPL"])
        #expect(actions[0].kind == .split(ratio: Self.decimal("0.5")))
        #expect(actions[0].id == "split:MSFT:2026-01-05:0.5")
        #expect(actions[1].kind == .dividend(amount: Self.decimal("0.25"), payableDate: TradingDay("2026-03-09")!))
    }

    @Test(
        "a bad line is named with its file and line, what was wrong and what is allowed",
        arguments: [
            (#"{"type":"split","symbol":"AAPL","ex_date":"2026-03-02"}"#, "a.jsonl:2: ratio is missing"),
            (
                #"{"type":"split","symbol":"AAPL","ex_date":"2026-03-02","ratio":"-4"}"#,
                "a.jsonl:2: ratio \"-4\" must be a positive decimal string"
            ),
            (#"{"type":"split","symbol":"AAPL","ex_date":"2026-03-02","ratio":4}"#, "a.jsonl:2:"),
            (
                #"{"type":"split","symbol":"AAPL","ex_date":"03/02/2026","ratio":"4"}"#,
                "a.jsonl:2: ex_date \"03/02/2026\" is not a date"
            ),
            (
                #"{"type":"merger","symbol":"AAPL","ex_date":"2026-03-02"}"#,
                "a.jsonl:2: type \"merger\" is not a corporate action: use \"split\" or \"dividend\""
            ),
            (
                #"{"type":"dividend","symbol":"AAPL","ex_date":"2026-03-02","amount":"0.25"}"#,
                "a.jsonl:2: a dividend needs payable_date"
            ),
            (
                #"{"type":"dividend","symbol":"AAPL","ex_date":"2026-03-02","payable_date":"2026-03-01","amount":"0.25"}"#,
                "on or after ex_date"
            ),
            (#"{"type":"split","symbol":"AAPL","ex_date":"2026-03-02","ratio":"4","factor":"2"}"#, "a.jsonl:2:"),
            ("not json", "a.jsonl:2:"),
        ])
    func badLines(line: String, fragment: String) {
        let text = #"{"type":"split","symbol":"AAPL","ex_date":"2026-01-02","ratio":"2"}"# + "\n" + line + "\n"
        #expect(throws: CorporateActionFileError.self) {
            try CorporateActionFile.parse(Array(text.utf8), path: "a.jsonl")
        }
        do {
            _ = try CorporateActionFile.parse(Array(text.utf8), path: "a.jsonl")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }
}

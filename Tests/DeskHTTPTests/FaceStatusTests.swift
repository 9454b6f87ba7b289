import DeskAPI
import DeskBroker
import DeskCore
import DeskRunner
import DeskServices
import Foundation
import Testing

@testable import DeskHTTP

let refusedOrder = OrderRecord(
    Order(id: "o-1", member: "alice", terms: OrderTerms(symbol: "AAPL", qty: 1, side: .buy), placedAt: Date()),
    progress: OrderProgress(qty: 1))

/// Each face's one table from the use cases' refusals to its status codes: the codes are today's.
@Suite("Faces: refusal to status")
struct FaceStatusTests {
    @Test(
        "an order refusal: what POST /order answers (and the audit log keeps), and what /v2 answers",
        arguments: [
            (OrderRefusal?.none, 201, nil),
            (.invalid(OrderValidationError(field: "qty", message: "bad")), 422, 422),
            (.risk(RiskRejection(limit: "max_position", message: "over")), 403, 403),
            (.rateLimited("slow"), 429, 429),
            (.halted("halted"), 403, 403),
            (.stopped(refusedOrder, reason: "halted"), 403, 403),
            (.broker(refusedOrder, reason: "r", kind: .invalidOrder), 422, 422),
            (.broker(refusedOrder, reason: "r", kind: .notPermitted), 403, 403),
            (.broker(refusedOrder, reason: "r", kind: .rateLimited), 429, 429),
            (.broker(refusedOrder, reason: "r", kind: .unknownOrder), 404, 404),
            (.broker(refusedOrder, reason: "r", kind: .notCancelable), 422, 422),
            (.failed("down"), 503, 503),
            (.clientOrderIdTaken("x"), 422, 422),
            (.noPosition(symbol: "AAPL"), 404, 404),
            (.nothingToClose(symbol: "AAPL"), 422, 422),
        ] as [(OrderRefusal?, Int, Int?)])
    func orderRefusals(refusal: OrderRefusal?, seed: Int, alpaca: Int?) {
        #expect(seedOrderStatus(refusal) == seed)
        #expect(refusal.map { AlpacaError($0).httpStatus } == alpaca)
    }

    @Test("/v2's words: a position not held is Alpaca's 404, the others say the refusal's message")
    func alpacaWords() {
        #expect(AlpacaError(OrderRefusal.noPosition(symbol: "AAPL")) == AlpacaController.positionNotFound)
        #expect(
            AlpacaError(OrderRefusal.clientOrderIdTaken("x")).message == "client_order_id must be unique: x is taken")
    }

    @Test(
        "a refused cancel: what the JSON API and /v2 answer",
        arguments: [
            (CancelRefusal.notFound("no order o-1 among your orders"), 404, 404),
            (.notCancelable(refusedOrder, "already filled"), 422, 422),
            (.failed("down"), 503, 503),
        ])
    func cancelRefusals(refusal: CancelRefusal, json: Int, alpaca: Int) {
        #expect(Int(DeskHTTPError(refusal).status.code) == json)
        #expect(DeskHTTPError(refusal).message == refusal.message)
        #expect(AlpacaError(refusal).httpStatus == alpaca)
    }

    @Test(
        "a backtest refusal: what the JSON API answers (another member's backtest is 404, never 403)",
        arguments: [
            (BacktestRefusal.notServed, 404), (.notFound(id: "bt-1"), 404), (.noStrategy(name: "x", yours: []), 404),
            (.invalid("bad"), 400), (.tooLarge("big"), 413), (.cap(.memberQueued(have: 5, cap: 5)), 429),
            (.cap(.cpuSeconds(used: 10, cap: 10)), 429), (.archive(DeployProblem(.invalid, "no strategy.py")), 400),
            (.archive(DeployProblem(.forbidden, "member")), 403), (.archive(DeployProblem(.tooLarge, "big")), 413),
            (.noFile(id: "bt-1", name: "x", served: []), 404), (.unavailable("down"), 503),
        ] as [(BacktestRefusal, Int)])
    func backtestRefusals(refusal: BacktestRefusal, json: Int) {
        #expect(Int(DeskHTTPError(refusal).status.code) == json)
        #expect(DeskHTTPError(refusal).message == refusal.message)
    }
}

import DeskAlpaca
import DeskBroker
import DeskCore
import DeskLedger
import Foundation
import Hummingbird

/// The admin API (admin tokens only): kill switches, test prices, reconciliation.
struct AdminController {
    let desk: OrderDesk
    /// Present when the broker is Alpaca.
    let reconciler: Reconciler?
    /// Feeds a trade price to the market (the paper broker and, with a feed, every subscriber).
    let publishPrice: @Sendable (_ symbol: String, _ price: Decimal, _ size: Decimal?) -> Void

    func addRoutes(to router: some RouterMethods<DeskRequestContext>) {
        router.post("admin/halt", use: halt)
        router.post("admin/resume", use: resume)
        router.get("admin/halts", use: halts)
        router.post("admin/prices", use: price)
        router.post("admin/reconcile", use: reconcile)
    }

    @Sendable func reconcile(_ request: Request, context: DeskRequestContext) async throws -> Response {
        _ = try Self.requireAdmin(context)
        guard let reconciler else {
            throw DeskHTTPError(
                .unprocessableContent,
                "this desk runs the paper broker, whose book is the ledger itself; reconciliation is for --broker alpaca"
            )
        }
        do {
            return try JSONReply.make(try await reconciler.run())
        } catch let error as BrokerError {
            throw DeskHTTPError(.serviceUnavailable, "could not reconcile: \(error)")
        }
    }

    /// `{"user": "alice"?, "reason": "..."?}` — no user halts the whole desk.
    struct HaltRequest: Decodable {
        var user: String?
        var reason: String?
    }

    /// `{"symbol": "AAPL", "price": "145.50", "size": "100"?}` — decimals as strings.
    struct PriceRequest: Decodable {
        var symbol: String
        var price: String
        var size: String?
    }

    struct HaltView: Encodable {
        var scope: String
        var reason: String?
        var haltedBy: String?
        var haltedAt: Date

        enum CodingKeys: String, CodingKey {
            case scope, reason, haltedBy = "halted_by", haltedAt = "halted_at"
        }
    }

    @Sendable func halt(_ request: Request, context: DeskRequestContext) async throws -> Response {
        let caller = try Self.requireAdmin(context)
        let body = try await Self.decode(HaltRequest.self, request, example: #"{"user": "alice", "reason": "runaway"}"#)
        try Self.checkMember(body.user)
        try await desk.halt(member: body.user, reason: body.reason, by: caller)
        return try JSONReply.make(["status": "halted", "scope": body.user ?? HaltRecord.wholeDesk])
    }

    @Sendable func resume(_ request: Request, context: DeskRequestContext) async throws -> Response {
        let caller = try Self.requireAdmin(context)
        let body = try await Self.decode(HaltRequest.self, request, example: #"{"user": "alice"}"#)
        try Self.checkMember(body.user)
        let wasOn = try await desk.resume(member: body.user, by: caller)
        return try JSONReply.make([
            "status": wasOn ? "resumed" : "not_halted", "scope": body.user ?? HaltRecord.wholeDesk,
        ])
    }

    @Sendable func halts(_ request: Request, context: DeskRequestContext) async throws -> Response {
        _ = try Self.requireAdmin(context)
        let halts = await desk.activeHalts().map {
            HaltView(scope: $0.scope, reason: $0.reason, haltedBy: $0.haltedBy, haltedAt: $0.haltedAt)
        }
        return try JSONReply.make(["halts": halts])
    }

    @Sendable func price(_ request: Request, context: DeskRequestContext) async throws -> Response {
        _ = try Self.requireAdmin(context)
        let body = try await Self.decode(PriceRequest.self, request, example: #"{"symbol": "AAPL", "price": "145.50"}"#)
        let symbol: String
        do { symbol = try OrderValidation.validateSymbol(body.symbol) } catch {
            throw DeskHTTPError(.badRequest, error.message)
        }
        guard case .success(let price) = ExactDecimal.parse(body.price), price > 0 else {
            throw DeskHTTPError(
                .badRequest,
                "price \(OrderValidation.quoted(body.price)) must be a positive decimal string such as \"145.50\"")
        }
        var size: Decimal?
        if let raw = body.size {
            guard case .success(let value) = ExactDecimal.parse(raw), value > 0 else {
                throw DeskHTTPError(
                    .badRequest, "size \(OrderValidation.quoted(raw)) must be a positive decimal string")
            }
            size = value
        }
        publishPrice(symbol, price, size)
        return try JSONReply.make(["status": "ok", "symbol": symbol, "price": ExactDecimal.plain(price)])
    }

    static func requireAdmin(_ context: DeskRequestContext) throws -> Caller {
        let caller = try context.requireCaller()
        guard caller.isAdmin else {
            throw DeskHTTPError(.forbidden, "the admin API needs an admin token (desk tokens issue <member> --admin)")
        }
        return caller
    }

    static func checkMember(_ member: String?) throws(DeskHTTPError) {
        if let member, !Identifier.isSafe(member) {
            throw DeskHTTPError(
                .badRequest, "user \(OrderValidation.quoted(member)) is not a member id: \(Identifier.rule)")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, example: String) async throws -> T {
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: 16 * 1024) } catch {
            throw DeskHTTPError(.contentTooLarge, "the body is larger than 16 KiB")
        }
        let data = Data(buffer: body)
        do {
            return try JSONDecoder().decode(T.self, from: data.isEmpty ? Data("{}".utf8) : data)
        } catch {
            throw DeskHTTPError(.badRequest, "the body must be JSON like \(example)")
        }
    }
}

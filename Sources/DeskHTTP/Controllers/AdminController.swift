import DeskBroker
import DeskCore
import DeskIdentity
import DeskLedger
import DeskOrders
import Foundation
import Hummingbird
import NIOCore

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
        let body = try await Self.decode(
            HaltRequest.self, request, allowed: ["user", "reason"], example: #"{"user": "alice", "reason": "runaway"}"#)
        try Self.checkMember(body.user)
        try await desk.halt(member: body.user, reason: body.reason, by: caller)
        return try JSONReply.make(["status": "halted", "scope": body.user ?? HaltRecord.wholeDesk])
    }

    @Sendable func resume(_ request: Request, context: DeskRequestContext) async throws -> Response {
        let caller = try Self.requireAdmin(context)
        let body = try await Self.decode(HaltRequest.self, request, allowed: ["user"], example: #"{"user": "alice"}"#)
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
        let body = try await Self.decode(
            PriceRequest.self, request, allowed: ["symbol", "price", "size"],
            example: #"{"symbol": "AAPL", "price": "145.50"}"#)
        let symbol: String
        do { symbol = try OrderValidation.validateSymbol(body.symbol) } catch {
            throw DeskHTTPError(.badRequest, error.message)
        }
        let price = try Self.positiveDecimal(body.price, field: "price", example: "145.50")
        let size = try body.size.map { raw throws(DeskHTTPError) in
            try Self.positiveDecimal(raw, field: "size", example: "100")
        }
        publishPrice(symbol, price, size)
        return try JSONReply.make(["status": "ok", "symbol": symbol, "price": ExactDecimal.plain(price)])
    }

    /// A positive decimal in the desk's one decimal syntax (`ExactDecimal.parse`).
    static func positiveDecimal(_ raw: String, field: String, example: String) throws(DeskHTTPError) -> Decimal {
        switch ExactDecimal.parse(raw) {
        case .success(let value) where value > 0: return value
        case .success:
            throw DeskHTTPError(.badRequest, "\(field) \(OrderValidation.quoted(raw)) must be greater than zero")
        case .failure(let failure):
            throw DeskHTTPError(
                .badRequest,
                "\(field) \(OrderValidation.quoted(raw)) is not a decimal the desk reads: \(failure.rule); write a positive decimal string such as \"\(example)\""
            )
        }
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

    /// Reads an admin API body: JSON in UTF-8 (an empty body is `{}`), each key
    /// at most once and only the `allowed` ones (`{"usr": "alice"}` must not halt
    /// the whole desk), decimals as strings.
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, allowed: [String], example: String)
        async throws -> T
    {
        if let contentType = request.headers[.contentType] {
            let mediaType = contentType.split(separator: ";").first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            guard mediaType == "application/json" else {
                throw DeskHTTPError(
                    .unsupportedMediaType,
                    "unsupported Content-Type \(OrderValidation.quoted(contentType)): the admin API reads application/json"
                )
            }
            try StrictJSON.checkCharset(request)
        }
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: 16 * 1024) } catch is NIOTooManyBytesError {
            throw DeskHTTPError(.contentTooLarge, "the body is larger than 16 KiB")
        }
        let bytes = Array(buffer: body)
        if bytes.isEmpty { return try JSONDecoder().decode(T.self, from: Data("{}".utf8)) }
        let keys: [String]
        do { keys = try StrictJSON.check(bytes) } catch {
            throw DeskHTTPError(.badRequest, "the body is not acceptable JSON: \(error); send JSON like \(example)")
        }
        if let unknown = keys.first(where: { !allowed.contains($0) }) {
            throw DeskHTTPError(
                .badRequest,
                "unknown key \(OrderValidation.quoted(unknown)); this request takes \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")), e.g. \(example)"
            )
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw DeskHTTPError(.badRequest, "the body must be JSON like \(example) (\(Self.describe(error)))")
        }
    }

    /// A decoding error in a sentence: which key had the wrong type.
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(let type, let context), DecodingError.valueNotFound(let type, let context):
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "\(key.isEmpty ? "the body" : "\"\(key)\"") must be \(type == String.self ? "a string" : "\(type)")"
        case DecodingError.keyNotFound(let key, _): return "\"\(key.stringValue)\" is required"
        default: return "\(error)"
        }
    }
}

import DeskAPI
import DeskBroker
import DeskCore
import DeskMarketData
import DeskServices
import Foundation
import Hummingbird

/// The admin API (an admin group: the caller is an admin): test prices,
/// reconciliation; and the kill switches (an oversight group: admins and officers).
struct AdminController {
    let switches: KillSwitches
    /// The default venue's book against the ledger's.
    let reconciliation: VenueReconciliation
    /// Where a pushed price goes: the paper broker and every subscribed strategy.
    let feed: FeedHub

    func addRoutes(to router: some RouterMethods<AdminContext>) {
        router.on(Routes.publishPrice, use: price)
        router.on(Routes.reconcile, use: reconcile)
    }

    /// `POST /admin/reconcile[?venue=NAME]`: one venue's report; without a venue,
    /// every venue that reconciles: its report alone when there is one (as before
    /// venues), else `{"reports": [...]}`, each with its `venue`.
    @Sendable func reconcile(_ request: Request, context: AdminContext) async throws -> Response {
        let query = QueryParameters(request)
        let venue: String?
        do {
            try query.check(allowed: ["venue"])
            venue = try query.venue()
        } catch { throw DeskHTTPError(error) }
        do {
            let reports = try await reconciliation.run(venue: venue)
            if reports.count == 1 { return DeskResponseEncoder.response(reports[0], status: .ok) }
            return DeskResponseEncoder.response(VenueReconciliationReports(reports: reports), status: .ok)
        } catch let refusal as ReconciliationRefusal {
            throw DeskHTTPError(refusal)
        }
    }

    /// The kill switches, for admins and officers.
    func addOversightRoutes(to router: some RouterMethods<OversightContext>) {
        router.on(Routes.halt, use: halt)
        router.on(Routes.resume, use: resume)
        router.on(Routes.halts, use: halts)
    }

    @Sendable func halt(_ request: Request, context: OversightContext) async throws -> HaltReply {
        let body = try await request.decode(as: HaltRequest.self, context: context)
        let scope = try await DeskHTTPError.translating {
            let scope = try HaltScope(
                member: body.member, venue: body.venue, strategy: body.strategy, venues: switches.venueNames)
            try await switches.halt(scope, reason: body.reason, by: context.caller)
            return scope
        }
        return HaltReply(status: "halted", scope: scope.key)
    }

    @Sendable func resume(_ request: Request, context: OversightContext) async throws -> HaltReply {
        let body = try await request.decode(as: ResumeRequest.self, context: context)
        let (scope, wasOn) = try await DeskHTTPError.translating {
            let scope = try HaltScope(
                member: body.member, venue: body.venue, strategy: body.strategy, venues: switches.venueNames)
            return (scope, try await switches.resume(scope, by: context.caller))
        }
        return HaltReply(status: wasOn ? "resumed" : "not_halted", scope: scope.key)
    }

    @Sendable func halts(_ request: Request, context: OversightContext) async throws -> HaltList {
        HaltList(
            halts: try await DeskHTTPError.translating { try await switches.active(for: context.caller) }.map(
                HaltView.init))
    }

    @Sendable func price(_ request: Request, context: AdminContext) async throws -> PriceReply {
        let body = try await request.decode(as: PriceRequest.self, context: context)
        let symbol: String
        do { symbol = try OrderValidation.validateSymbol(body.symbol) } catch {
            throw DeskHTTPError(.badRequest, error.message)
        }
        func decimal(_ raw: String?, _ field: String, _ example: String) throws(DeskHTTPError) -> Decimal? {
            try raw.map { raw throws(DeskHTTPError) in try Self.positiveDecimal(raw, field: field, example: example) }
        }
        let kind: TickKind
        switch body.type {
        case nil, "trade": kind = .trade
        case "quote": kind = .quote
        case let other?:
            throw DeskHTTPError(.badRequest, "type \(OrderValidation.quoted(other)) is not one of \"trade\", \"quote\"")
        }
        let (bid, ask) = (try decimal(body.bid, "bid", "145.49"), try decimal(body.ask, "ask", "145.51"))
        let (bidSize, askSize) = (
            try decimal(body.bidSize, "bid_size", "100"), try decimal(body.askSize, "ask_size", "100")
        )
        let price: Decimal
        switch Tick.price(
            given: try decimal(body.price, "price", "145.50"), kind: kind, bid: bid, ask: ask, bidSize: bidSize,
            askSize: askSize)
        {
        case .success(let value): price = value
        case .failure(let problem): throw DeskHTTPError(.badRequest, problem.message)
        }
        feed.publish(
            Tick(
                symbol: symbol, price: price, at: Date(), bid: bid, ask: ask,
                size: try decimal(body.size, "size", "100"),
                kind: kind, bidSize: bidSize, askSize: askSize))
        return PriceReply(symbol: symbol, price: ExactDecimal.plain(price))
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
}

extension DeskHTTPError {
    /// The HTTP face of a refused reconciliation.
    init(_ refusal: ReconciliationRefusal) {
        switch refusal {
        case .bookIsLedger:
            self.init(
                .unprocessableContent,
                "this desk runs the paper broker, whose book is the ledger itself; reconciliation is for --broker alpaca"
            )
        case .venueFailed(let error): self.init(.serviceUnavailable, "could not reconcile: \(error)")
        case .unknownVenue(let venue, let known):
            self.init(
                .badRequest,
                "venue \(OrderValidation.quoted(venue)) is not one of this desk's venues: \(known.joined(separator: ", "))"
            )
        }
    }

    /// The HTTP face of an administration refusal: one row per refusal.
    init(_ refusal: AdminRefusal) {
        switch refusal {
        case .notAdmin:
            self.init(.forbidden, "the admin API needs an admin token (desk tokens issue <member> --admin)")
        case .invalidMember(let member):
            self.init(.badRequest, "member \(OrderValidation.quoted(member)) is not a member id: \(Identifier.rule)")
        case .invalidStrategy(let strategy):
            self.init(
                .badRequest, "strategy \(OrderValidation.quoted(strategy)) is not a strategy name: \(Identifier.rule)")
        case .unknownTokenKind(let kind):
            self.init(
                .badRequest,
                "kind \(OrderValidation.quoted(kind)) is not one of: \(TokenKind.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        case .metricsTokenWithStrategy:
            self.init(.badRequest, "a metrics token only reads /metrics: it takes no strategy")
        case .tokenNotFound(let id): self.init(.notFound, "no token with id \(id)")
        case .unknownVenue, .roleTokenWithVenue, .ambiguousHaltScope: self.init(.badRequest, refusal.message)
        case .notOverseer: self.init(.forbidden, refusal.message)
        }
    }
}

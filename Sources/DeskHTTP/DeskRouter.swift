import DeskAPI
import DeskBroker
import DeskCore
import DeskIdentity
import DeskMarketData
import DeskRunner
import DeskServices
import Foundation
import Hummingbird
import Logging

/// What the routes work with; the application builds it once.
public struct RouteDependencies: Sendable {
    /// Every use case the routes translate (built by the composition root).
    public var useCases: DeskUseCases
    /// Every venue; orders go to the default one.
    public var venues: Venues
    /// The desk's last prices (positions and P&L are valued at them).
    public var prices: PriceBook
    public var feed: FeedHub
    public var metrics: DeskMetrics
    /// Development only: accept the seed's self-declared `X-User-ID` header without a token.
    public var trustUserHeader: Bool
    /// Largest request body accepted on every face, in bytes (`BodySizeLimit`).
    public var maximumBodySize: Int
    /// The feed's last trade, quote and bar of each symbol (the `/v2` latest-data routes).
    public var latest: LatestTicks
    /// The sessions `/v2/clock` and `/v2/calendar` show.
    public var sessions: AlpacaSessions
    /// The web desk's signed-in sessions (one store for the process).
    public var webSessions: WebSessions
    /// The web desk's settings.
    public var web: WebSettings
    /// The exchange calendar (P&L today starts at its last session close).
    public var calendar: SessionCalendar
    public var logger: Logger
    /// A backtest in stream mode: the gate strategies' requests pass (`StreamGate`); nil on a live desk.
    public var requestGate: StreamGate?

    public init(
        useCases: DeskUseCases, venues: Venues, prices: PriceBook, feed: FeedHub, metrics: DeskMetrics,
        trustUserHeader: Bool, maximumBodySize: Int, latest: LatestTicks = LatestTicks(),
        sessions: AlpacaSessions? = nil,
        webSessions: WebSessions = WebSessions(), web: WebSettings = WebSettings(),
        calendar: SessionCalendar = SessionCalendar(), logger: Logger, requestGate: StreamGate? = nil
    ) {
        self.requestGate = requestGate
        self.useCases = useCases
        self.venues = venues
        self.prices = prices
        self.feed = feed
        self.metrics = metrics
        self.trustUserHeader = trustUserHeader
        self.maximumBodySize = maximumBodySize
        self.latest = latest
        self.sessions =
            sessions
            ?? AlpacaSessions(calendar: calendar, alwaysOpen: true)
        self.webSessions = webSessions
        self.web = web
        self.calendar = calendar
        self.logger = logger
    }
}

/// Every route of the desk. Each request is logged and counted once; a path
/// no route takes is answered with the list of routes. The routes that need a
/// caller sit behind the authenticators, in groups whose context states who
/// may use them (`MemberContext`, `AdminContext`, `MetricsContext`).
public func deskRouter(_ services: RouteDependencies) -> Router<DeskRequestContext> {
    let router = Router(context: DeskRequestContext.self)
    router.add(middleware: BodySizeLimitMiddleware(limit: BodySizeLimit(bytes: services.maximumBodySize)))
    router.add(middleware: AccessLogMiddleware(logger: services.logger))
    router.add(middleware: RequestMetricsMiddleware(metrics: services.metrics))
    router.add(middleware: RouteNotFoundMiddleware())
    let useCases = services.useCases
    let tokens = useCases.tokens
    let authenticators = Authenticators(
        tokens: tokens, sessions: services.webSessions, trustUserHeader: services.trustUserHeader,
        gate: services.requestGate)
    let operations = OperationsController(
        metrics: services.metrics, brokerName: services.venues.defaultVenue.kind.rawValue, feed: services.feed)
    operations.addPublicRoutes(to: router)
    let orders = OrderController(trading: useCases.trading, portfolio: useCases.portfolio)
    // The seed's route answers every refusal, its identity's included, as an OrderResponse.
    let placing = authenticators.guarding(router.group().add(middleware: OrderReplyErrors(metrics: services.metrics)))
    orders.addPlaceRoute(to: placing.group(context: MemberContext.self))

    let authenticated = authenticators.guarding(router.group())
    operations.addMetricsRoute(to: authenticated.group(context: MetricsContext.self))
    let members = authenticated.group(context: MemberContext.self)
    orders.addReadRoutes(to: members)
    let portfolio = useCases.portfolio
    let switches = useCases.switches
    let tokenAdministration = useCases.tokenAdministration
    PortfolioController(portfolio: portfolio).addRoutes(to: members)
    let admins = authenticated.group(context: AdminContext.self)
    let admin = AdminController(switches: switches, reconciliation: useCases.reconciliation, feed: services.feed)
    admin.addRoutes(to: admins)
    admin.addOversightRoutes(to: authenticated.group(context: OversightContext.self))
    let strategies = useCases.strategies(answer: MemberStrategyController.answer)
    StrategyController(strategies: strategies).addRoutes(to: admins)
    TokenController(tokens: tokenAdministration).addRoutes(to: admins)

    let memberStrategies = MemberStrategyController(strategies: strategies, logger: services.logger)
    memberStrategies.addRoutes(to: members)
    PromotionController(promotions: useCases.promotions).addRoutes(to: members)
    BacktestsController(backtests: useCases.backtests).addRoutes(to: members)
    let web = WebController(
        desk: WebDesk(
            portfolio: portfolio, switches: switches, tokens: tokenAdministration,
            venue: services.venues.defaultVenue,
            venues: WebVenues(
                names: services.venues.names, defaultVenue: services.venues.defaultVenue.name,
                needingApproval: Set(useCases.promotions.rules.venues.filter(\.value.requiresApproval).map(\.key))),
            promotions: useCases.promotions, feed: services.feed, strategies: memberStrategies,
            calendar: services.calendar, backtests: useCases.backtests),
        sessions: services.webSessions, tokens: tokens, settings: services.web,
        livePages: MemberSlots(perMember: services.web.livePagesPerMember),
        logger: services.logger)
    web.addPublicRoutes(to: router)
    web.addMemberRoutes(to: members)

    // Alpaca's API: every refusal under /v2, identity and policy included, in Alpaca's error shape.
    let alpaca = authenticators.guarding(router.group().add(middleware: AlpacaErrorMiddleware()))
    AlpacaController(
        trading: useCases.trading, portfolio: portfolio,
        venue: services.venues.defaultVenue, latest: services.latest,
        sessions: services.sessions
    ).addRoutes(to: alpaca.group(context: MemberContext.self))
    return router
}

import DeskBroker
import DeskLedger
import DeskMarketData
import DeskOrders
import DeskRunner
import Foundation
import Hummingbird
import Logging

/// What the routes work with; the application builds it once.
public struct DeskServices: Sendable {
    public var ledger: Ledger
    public var orderDesk: OrderDesk
    public var broker: any Broker
    public var feed: FeedHub
    /// The strategy supervisor, when the desk runs strategies.
    public var supervisor: Supervisor?
    /// The reconciler, when the broker is Alpaca.
    public var reconciler: Reconciler?
    public var metrics: DeskMetrics
    /// Development only: accept the seed's self-declared `X-User-ID` header without a token.
    public var trustUserHeader: Bool
    /// Largest order body accepted, in bytes.
    public var maximumBodySize: Int
    public var logger: Logger

    public init(
        ledger: Ledger, orderDesk: OrderDesk, broker: any Broker, feed: FeedHub, supervisor: Supervisor?,
        reconciler: Reconciler?, metrics: DeskMetrics, trustUserHeader: Bool, maximumBodySize: Int, logger: Logger
    ) {
        self.ledger = ledger
        self.orderDesk = orderDesk
        self.broker = broker
        self.feed = feed
        self.supervisor = supervisor
        self.reconciler = reconciler
        self.metrics = metrics
        self.trustUserHeader = trustUserHeader
        self.maximumBodySize = maximumBodySize
        self.logger = logger
    }
}

/// Every route, behind the identity middleware where a caller is needed.
public func deskRouter(_ services: DeskServices) -> Router<DeskRequestContext> {
    let router = Router(context: DeskRequestContext.self)
    router.add(middleware: RouteNotFoundMiddleware())
    let operations = OperationsController(
        metrics: services.metrics, brokerName: services.broker.name, feed: services.feed)
    operations.addPublicRoutes(to: router)
    let authenticated = router.group()
        .add(
            middleware: IdentityMiddleware(
                ledger: services.ledger, trustUserHeader: services.trustUserHeader, metrics: services.metrics,
                logger: services.logger))
    operations.addAuthenticatedRoutes(to: authenticated)
    OrderController(desk: services.orderDesk, ledger: services.ledger, maximumBodySize: services.maximumBodySize)
        .addRoutes(to: authenticated)
    PortfolioController(ledger: services.ledger, broker: services.broker).addRoutes(to: authenticated)
    let feed = services.feed
    AdminController(desk: services.orderDesk, reconciler: services.reconciler) { symbol, price, size in
        feed.publish(Tick(symbol: symbol, price: price, at: Date(), size: size, kind: .trade))
    }.addRoutes(to: authenticated)
    StrategyController(supervisor: services.supervisor, ledger: services.ledger).addRoutes(to: authenticated)
    return router
}

import DeskBroker
import DeskCore
import DeskLedger
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The desk server, wired: ledger, paper broker, order desk, HTTP on TCP (and a
/// unix socket when configured). `run()` runs them as one service group, listed
/// in dependency order so that shutdown stops taking orders first and closes the
/// ledger last.
public struct DeskApplication: Sendable {
    public let configuration: DeskConfiguration
    public let ledger: Ledger
    public let broker: PaperBroker
    public let orderDesk: OrderDesk
    public let metrics: DeskMetrics
    public let logger: Logger

    /// Opens the ledger and builds every part; nothing runs until `run()`.
    public init(configuration: DeskConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        ledger = try Ledger(path: configuration.databasePath, groupCommit: configuration.groupCommit)
        broker = PaperBroker()
        metrics = DeskMetrics()
        orderDesk = OrderDesk(
            ledger: ledger, broker: broker, policy: configuration.risk, metrics: metrics, logger: logger)
    }

    /// Feeds a trade price to the market: the paper broker's price book.
    public func publishPrice(symbol: String, price: Decimal, size: Decimal?) {
        broker.price(symbol: symbol, price: price, size: size)
    }

    /// Every route, behind the identity middleware where a caller is needed.
    public func router() -> Router<DeskRequestContext> {
        let router = Router(context: DeskRequestContext.self)
        OperationsController(metrics: metrics, brokerName: broker.name).addRoutes(to: router)
        let authenticated = router.group()
            .add(
                middleware: IdentityMiddleware(
                    ledger: ledger, trustUserHeader: configuration.trustUserHeader, metrics: metrics, logger: logger))
        OrderController(desk: orderDesk, ledger: ledger, maximumBodySize: configuration.maximumBodySize)
            .addRoutes(to: authenticated)
        PortfolioController(ledger: ledger, broker: broker).addRoutes(to: authenticated)
        let broker = self.broker
        AdminController(desk: orderDesk) { symbol, price, size in
            broker.price(symbol: symbol, price: price, size: size)
        }.addRoutes(to: authenticated)
        return router
    }

    /// Where the server listens once it is up.
    public struct Listening: Sendable {
        public var port: Int?
        public var unixSocketPath: String?
    }

    /// Runs the desk until SIGTERM/SIGINT (or `extraServices` fail). `onListening`
    /// is called once TCP (and the unix socket) accept connections.
    public func run(
        extraServices: [any Service] = [], onListening: @escaping @Sendable (Listening) async -> Void = { _ in }
    ) async throws {
        let responder = router().buildResponder()
        let orderDesk = self.orderDesk
        let listeners = ListenerCount(expected: configuration.unixSocketPath == nil ? 1 : 2, callback: onListening)
        var apps: [any Service] = []
        var tcp = Application(
            responder: responder,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "desk"),
            onServerRunning: { channel in await listeners.ready(port: channel.localAddress?.port) },
            logger: logger)
        tcp.beforeServerStarts { await orderDesk.ready() }
        apps.append(tcp)
        if let path = configuration.unixSocketPath {
            try? FileManager.default.removeItem(atPath: path)
            var unix = Application(
                responder: responder,
                configuration: ApplicationConfiguration(address: .unixDomainSocket(path: path), serverName: "desk"),
                onServerRunning: { _ in
                    // Sandboxed strategies run as another user; the token is their credential.
                    chmod(path, 0o666)
                    await listeners.ready(unixSocketPath: path)
                },
                logger: logger)
            unix.beforeServerStarts { await orderDesk.ready() }
            apps.append(unix)
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    ledger, orderDesk, SessionCloser(broker: broker, calendar: configuration.session, logger: logger),
                ]
                    + extraServices + apps,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        if let path = configuration.unixSocketPath { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// Calls back once every listener is up.
actor ListenerCount {
    private var remaining: Int
    private var listening = DeskApplication.Listening()
    private let callback: @Sendable (DeskApplication.Listening) async -> Void

    init(expected: Int, callback: @escaping @Sendable (DeskApplication.Listening) async -> Void) {
        remaining = expected
        self.callback = callback
    }

    func ready(port: Int? = nil, unixSocketPath: String? = nil) async {
        if let port { listening.port = port }
        if let unixSocketPath { listening.unixSocketPath = unixSocketPath }
        remaining -= 1
        if remaining == 0 { await callback(listening) }
    }
}

/// Expires day orders at each session close.
struct SessionCloser: Service {
    let broker: PaperBroker
    let calendar: SessionCalendar
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let close = calendar.nextClose(after: Date())
            let wait = max(0, close.timeIntervalSinceNow)
            do {
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
                }
            } catch {
                return
            }
            if Task.isShuttingDownGracefully { return }
            logger.info("session close: expiring day orders", metadata: ["close": "\(close)"])
            broker.closeSession(at: close)
        }
    }
}

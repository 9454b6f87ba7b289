import AlpacaBroker
import AlpacaData
import DeskAPI
import DeskBroker
import DeskCore
import DeskHTTP
import DeskLedger
import DeskMarketData
import DeskOrders
import DeskPromotion
import DeskResearch
import DeskRunner
import DeskServices
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The desk server, wired: ledger, venues, order desk, HTTP on TCP (and a
/// unix socket when configured). `run()` runs them as one service group, listed
/// in dependency order so that shutdown stops taking orders first and closes the
/// ledger last.
public struct DeskApplication: Sendable {
    public let configuration: DeskConfiguration
    public let ledger: Ledger
    /// Where orders go: every configured venue, each built by its kind's factory, and the default one.
    public let venues: Venues
    /// The embedded paper venue (every desk has it): a backtest steps its market on the
    /// data's clock (`line` at each tick, `expireDayOrders` at each close).
    public let paperVenue: PaperVenue
    /// The last prices the feed (or an admin) reported, shared by every venue.
    public let prices = PriceBook()
    public let orderDesk: OrderDesk
    public let metrics: DeskMetrics
    public let logger: Logger
    /// Market data: fans ticks out to strategies and feeds the paper broker's prices.
    public let feed: FeedHub
    /// Runs members' strategies, when the configuration has a runtime.
    public let supervisor: Supervisor?
    /// Puts members' uploaded strategies into the strategies folder, when the desk runs strategies.
    public let deployer: StrategyDeployer?
    /// The web desk's sessions (in memory: a restart signs everyone out).
    public let sessions: WebSessions
    /// Every use case the faces translate, over this desk's engines (built once: the
    /// routes, the streams and the demo's reports share it).
    public let useCases: DeskUseCases
    /// The feed's last trade, quote and bar per symbol, for the `/v2` latest-data routes.
    public let latest = LatestTicks()
    /// Watches the loss rules of the configuration (`loss`), when it has any.
    public let lossMonitor: LossMonitor?
    /// Applies splits and dividends to the venues' books.
    public var corporateActions: CorporateActions {
        CorporateActions(orderDesk: orderDesk, prices: prices, clock: configuration.clock, logger: logger)
    }
    private let listening = OneShot<Void>()

    /// Opens the ledger and builds every part; nothing runs until `run()`.
    public init(configuration: DeskConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        ledger = try Ledger(
            path: configuration.databasePath, groupCommit: configuration.groupCommit,
            durability: configuration.ledgerDurability)
        // The paper venue is built here, typed (a backtest drives it); every other venue by its kind's factory.
        let context = VenueContext(prices: prices, clock: configuration.clock, logger: logger)
        paperVenue = PaperVenue(
            name: DeskConfiguration.paperVenue, prices: prices, clock: configuration.clock,
            settings: configuration.paperSettings)
        venues = try Venues(
            [paperVenue]
                + configuration.venues.filter { $0.name != DeskConfiguration.paperVenue }.map {
                    $0.settings.makeVenue(name: $0.name, context: context)
                },
            defaultName: configuration.defaultVenue)
        for (member, allocations) in configuration.risk.venueCapital.sorted(by: { $0.key < $1.key }) {
            for venue in allocations.keys.sorted() where venues[venue] == nil {
                throw ConfigurationError(
                    "risk.members.\(member).capital names the venue \"\(venue)\", which this desk does not have: its venues are \(venues.names.joined(separator: ", "))"
                )
            }
        }
        metrics = DeskMetrics()
        orderDesk = OrderDesk(
            ledger: ledger, venues: venues, prices: prices, policy: configuration.risk, metrics: metrics,
            logger: logger, clock: configuration.clock, reportedStatus: { seedOrderStatus(OrderRefusal($0)) })
        feed = FeedHub(source: try Self.source(configuration.feed, logger: logger), logger: logger)
        let (prices, latest) = (self.prices, latest)
        feed.observe { tick in
            latest.note(tick)
            prices.observe(PriceBook.Line(tick))
        }
        if var runtime = configuration.runtime {
            let ledgerFolder = URL(fileURLWithPath: configuration.databasePath).standardizedFileURL
                .deletingLastPathComponent()
            // No strategy sees the ledger's folder (the ledger, the admin token, the lock) or the config file.
            runtime.sandbox.protectedPaths += [ledgerFolder.path] + (configuration.configFilePath.map { [$0] } ?? [])
            // Strategies reach the desk's socket (mode 0660) through its group.
            runtime.sandbox.clientGroup = runtime.sandbox.clientGroup ?? configuration.unixSocketGroup
            runtime.docker?.socketGroup = runtime.sandbox.clientGroup
            let supervisor = Supervisor(
                configuration: runtime, feed: feed,
                credentials: LedgerCredentials(ledger: ledger, defaultVenue: venues.defaultVenue.name),
                store: LedgerStrategyStore(ledger: ledger), users: LedgerStrategyUsers(ledger: ledger), logger: logger)
            self.supervisor = supervisor
            Self.routeOrderEvents(of: orderDesk, to: supervisor.orderEvents)
            deployer = StrategyDeployer(
                strategiesDirectory: runtime.strategiesDirectory, python: runtime.python,
                sandbox: supervisor.sandboxPlan
                    ?? SandboxPlan.probe(
                        options: runtime.sandbox, python: runtime.python, pythonPath: runtime.pythonPath),
                limits: configuration.upload, caps: runtime.memberCaps, logger: logger)
        } else {
            supervisor = nil
            deployer = nil
        }
        sessions = WebSessions(
            lifetime: configuration.web.sessionLifetime, capacity: configuration.web.maximumSessions,
            perMember: configuration.web.sessionsPerMember)
        // Members' submitted backtests: a desk on the wall clock only (never a backtest's own desk).
        let backtests =
            configuration.closesSessions
            ? Backtests(
                settings: Backtests.Settings(
                    research: configuration.research,
                    dataFolder: configuration.research.dataFolder(databasePath: configuration.databasePath),
                    configFile: configuration.configFilePath.map { URL(fileURLWithPath: $0).standardizedFileURL.path },
                    deskBinary: LocalExecutor.currentBinary,
                    strategiesDirectory: configuration.runtime?.strategiesDirectory,
                    pythonPath: configuration.runtime?.pythonPath, uploadBytes: configuration.upload.maxBytes),
                ledger: ledger, deployer: deployer, logger: logger) : nil
        useCases = DeskUseCases(
            ledger: ledger, orderDesk: orderDesk, venues: venues, prices: prices, supervisor: supervisor,
            deployer: deployer,
            reconcilers: Self.reconcilers(
                ledger: ledger, venues: venues, orderDesk: orderDesk, clock: configuration.clock),
            promotionRules: configuration.promotionRules, demotionVenue: DeskConfiguration.paperVenue,
            pauseAfterMove: configuration.pauseAfterMove, backtests: backtests, logger: logger)
        lossMonitor =
            configuration.loss.isEmpty
            ? nil
            : LossMonitor(
                ledger: ledger, orderDesk: orderDesk, prices: prices, policy: configuration.loss,
                defaultVenue: venues.defaultVenue.name, calendar: configuration.session,
                strategies: supervisor.map { [ledger, venues] in
                    SupervisedLossStrategies(supervisor: $0, ledger: ledger, defaultVenue: venues.defaultVenue.name)
                },
                demote: { [promotions = useCases.promotions, logger] member, strategy, reason in
                    do { _ = try await promotions.demote(member: member, strategy: strategy, reason: reason) } catch {
                        logger.error(
                            "loss rules: could not demote a strategy",
                            metadata: ["member": "\(member)", "strategy": "\(strategy)", "error": "\(error)"])
                    }
                }, clock: configuration.clock, logger: logger)
    }

    static func source(_ setting: FeedSetting, logger: Logger) throws -> (any TickSource)? {
        switch setting {
        case .none: nil
        case .synthetic(let symbols, let rate, let seed, let spread):
            SyntheticSource(symbols: symbols, ticksPerSecond: rate, seed: seed, spread: spread)
        case .replay(let path, let speed): try ReplaySource(file: URL(fileURLWithPath: path), speed: speed)
        case .alpaca(let settings, let defaultSymbols):
            AlpacaDataSource(settings: settings, options: .init(defaultSymbols: defaultSymbols), logger: logger)
        }
    }

    /// Feeds a trade price to the market: the price book (so the paper venues) and
    /// every strategy subscribed to the symbol.
    public func publishPrice(symbol: String, price: Decimal, size: Decimal?) {
        feed.publish(Tick(symbol: symbol, price: price, at: Date(), size: size, kind: .trade))
    }

    /// Every route (see `deskRouter`).
    public func router() -> Router<DeskRequestContext> {
        deskRouter(
            RouteDependencies(
                useCases: useCases, venues: venues, prices: prices, feed: feed, metrics: metrics,
                trustUserHeader: configuration.trustUserHeader,
                maximumBodySize: configuration.maximumBodySize, latest: latest,
                sessions: AlpacaSessions(
                    calendar: configuration.session,
                    alwaysOpen: !venues.defaultVenue.capabilities.contains(.keepsMarketHours)),
                webSessions: sessions, web: configuration.web, calendar: configuration.session,
                logger: logger, requestGate: configuration.requestGate))
    }

    /// The reconciler of the default venue, when it has an account of its own (Alpaca).
    public func reconciler() -> Reconciler? {
        Reconciler(ledger: ledger, venue: venues.defaultVenue, orderDesk: orderDesk, clock: configuration.clock)
    }

    /// One reconciler per venue whose capabilities say `reconciles`, in configuration order.
    /// Every booked event of a strategy's order, as its line (`OrderEventLine`), to
    /// that strategy's feed when it asked for them: synchronously as the order desk
    /// publishes it, so after the booking and before any later tick.
    static func routeOrderEvents(of orderDesk: OrderDesk, to routes: StrategyEventRoutes) {
        orderDesk.events.observe { notice in
            guard !notice.order.strategy.isEmpty,
                let line = OrderEventLine.line(
                    order: notice.order, event: notice.event, position: notice.position, at: notice.at)
            else { return }
            routes.deliver(line, member: notice.order.member, strategy: notice.order.strategy)
        }
    }

    static func reconcilers(ledger: Ledger, venues: Venues, orderDesk: OrderDesk, clock: any DeskClock)
        -> [Reconciler]
    {
        venues.all.compactMap { Reconciler(ledger: ledger, venue: $0, orderDesk: orderDesk, clock: clock) }
    }

    /// Returns once the desk listens.
    public func waitUntilListening() async { await listening.wait() }

    /// Where the server listens once it is up.
    public struct Listening: Sendable {
        public var port: Int?
        public var unixSocketPath: String?
    }

    /// Runs the desk until SIGTERM/SIGINT (or `extraServices` fail). `onListening`
    /// is called once TCP (and the unix socket) accept connections.
    public func run(
        extraServices: [ServiceGroupConfiguration.ServiceConfiguration] = [],
        onListening: @escaping @Sendable (Listening) async -> Void = { _ in }
    ) async throws {
        let responder = router().buildResponder()
        let orderDesk = self.orderDesk
        let listening = self.listening
        let listeners = ListenerCount(expected: configuration.unixSocketPath == nil ? 1 : 2) { addresses in
            listening.fire()
            await onListening(addresses)
        }
        var apps: [any Service] = []
        let connections = configuration.connections
        let logger = self.logger
        let streams = AlpacaStreams(
            tokens: useCases.tokens, orderEvents: useCases.orderEvents, feed: feed, logger: logger)
        var tcp = Application(
            responder: responder, server: .desk(connections, streams: streams),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "desk",
                availableConnectionsDelegate: ConnectionCap(
                    maximum: connections.maximumConnections, listener: "tcp", logger: logger)),
            onServerRunning: { channel in await listeners.ready(port: channel.localAddress?.port) },
            logger: logger)
        tcp.beforeServerStarts { await orderDesk.ready() }
        apps.append(tcp)
        if let path = configuration.unixSocketPath {
            try? FileManager.default.removeItem(atPath: path)
            let group = configuration.unixSocketGroup
            var unix = Application(
                responder: responder, server: .desk(connections, streams: streams),
                configuration: ApplicationConfiguration(
                    address: .unixDomainSocket(path: path), serverName: "desk",
                    availableConnectionsDelegate: ConnectionCap(
                        maximum: connections.maximumConnections, listener: "unix", logger: logger)),
                onServerRunning: { _ in
                    // The desk's user and the socket group (sandboxed strategies) only; a token is still needed.
                    Self.restrictSocket(path: path, group: group, logger: logger)
                    await listeners.ready(unixSocketPath: path)
                },
                logger: logger)
            unix.beforeServerStarts { await orderDesk.ready() }
            apps.append(unix)
        }
        // Shutdown runs bottom-up: strategies stop first, then the feed, then the
        // listeners finish in-flight orders, and the ledger commits last.
        // Venues that do not expire day orders themselves (paper) are told the desk's session close.
        var venueServices: [any Service] = venues.all.compactMap(\.service)
        let closing = venues.all.filter { !$0.capabilities.contains(.expiresDayOrders) }
        if !closing.isEmpty && configuration.closesSessions {
            venueServices.append(SessionCloser(venues: closing, calendar: configuration.session, logger: logger))
        }
        // Splits and dividends of --corporate-actions, on the paper venues (a backtest's driver applies its own).
        let paperVenues = venues.all.filter { $0.kind == .paper }.map(\.name)
        if !configuration.corporateActions.isEmpty && configuration.closesSessions {
            venueServices.append(
                CorporateActionsService(
                    actions: configuration.corporateActions, venues: paperVenues, corporateActions: corporateActions,
                    orderDesk: orderDesk, calendar: configuration.session, clock: configuration.clock, logger: logger))
        }
        // Recovery reconciles every venue with an account of its own, each with its own report.
        for reconciler in Self.reconcilers(
            ledger: ledger, venues: venues, orderDesk: orderDesk, clock: configuration.clock)
        {
            venueServices.append(StartupReconciliation(reconciler: reconciler, orderDesk: orderDesk, logger: logger))
            if configuration.closesSessions {
                venueServices.append(
                    VenueCorporateActionsPoll(
                        reconciler: reconciler, orderDesk: orderDesk, interval: configuration.corporateActionsInterval,
                        logger: logger))
            }
        }
        // A desk stopped in the middle of a promotion: the moved strategy's orders on its old venue are canceled.
        venueServices.append(
            PromotionSettlementService(promotions: useCases.promotions, orderDesk: orderDesk, logger: logger))
        // The feed is recorded for members' backtests (a backtest's desk replays a recording: it records none).
        let feedRecorders: [any Service] =
            configuration.research.feedRetentionDays > 0
            ? [
                FeedRecorder(
                    hub: feed,
                    folder: configuration.research.dataFolder(databasePath: configuration.databasePath)
                        .appendingPathComponent(FeedRecorder.folderName),
                    retentionDays: configuration.research.feedRetentionDays, clock: configuration.clock,
                    logger: logger, onDropped: { [metrics] in metrics.recordFeedLinesDropped($0) })
            ] : []
        // P&L history is sampled on the wall clock: a backtest's is its report (the driver's clock is the data's).
        let recorders: [any Service] =
            configuration.closesSessions
            ? [
                PnLRecorder(
                    portfolio: useCases.portfolio,
                    interval: configuration.web.pnlInterval, retentionDays: configuration.web.pnlRetentionDays,
                    logger: logger)
            ] + feedRecorders : []
        let services: [any Service] =
            [ledger] + (useCases.backtests.map { [$0] } ?? []) + venueServices + [orderDesk] + recorders
            + (lossMonitor.map { [$0] } ?? [])
            + apps + [feed] + (supervisor.map { [AfterListening(service: $0, signal: listening)] } ?? [])
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + extraServices,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        if let path = configuration.unixSocketPath { try? FileManager.default.removeItem(atPath: path) }
    }
}

extension DeskApplication {
    /// Mode of the unix socket: the desk's user and the socket's group connect, nobody else.
    public static let socketMode: mode_t = 0o660

    /// Gives the socket to `group` (when given) with mode 0660.
    static func restrictSocket(path: String, group: UInt32?, logger: Logger) {
        if let group, chown(path, uid_t.max, gid_t(group)) != 0 {
            logger.error(
                "cannot give the unix socket to its group: strategies in that group cannot connect",
                metadata: ["path": "\(path)", "gid": "\(group)", "error": "\(String(cString: strerror(errno)))"])
        }
        if chmod(path, socketMode) != 0 {
            logger.error(
                "cannot set the unix socket's mode",
                metadata: ["path": "\(path)", "error": "\(String(cString: strerror(errno)))"])
        }
    }
}

/// Runs a service once the desk listens (strategies need the desk to answer).
struct AfterListening: Service {
    let service: any Service
    let signal: OneShot<Void>

    func run() async throws {
        // Shutdown or cancellation before the desk listens releases the wait too.
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await signal.wait()
            } onCancel: {
                signal.fire()
            }
        } onGracefulShutdown: {
            signal.fire()
        }
        if Task.isShuttingDownGracefully || Task.isCancelled { return }
        try await service.run()
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

/// Expires day orders at each session close, on the venues that do not do it themselves.
struct SessionCloser: Service {
    let venues: [any Venue]
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
            for venue in venues { venue.closeSession(at: close) }
        }
    }
}

/// Once the order desk is ready: cancels the working orders of strategies on a
/// venue that is not theirs now (`Promotions.settle`), then waits for shutdown.
struct PromotionSettlementService: Service {
    let promotions: Promotions
    let orderDesk: OrderDesk
    let logger: Logger

    func run() async throws {
        await orderDesk.ready()
        do {
            _ = try await promotions.settle()
        } catch {
            logger.error(
                "could not cancel moved strategies' orders on their old venues at start",
                metadata: ["error": "\(error)"])
        }
        try? await gracefulShutdown()
    }
}

extension PriceBook.Line {
    /// A feed tick as the market sees it: a quote-only tick (`type` `quote`) is
    /// no trade; a tick with a bid or an ask carries its quote.
    public init(_ tick: Tick) {
        let quoted = tick.bid != nil || tick.ask != nil
        self.init(
            symbol: tick.symbol, price: tick.price, size: tick.size, at: tick.at,
            quote: quoted
                ? PriceBook.Quote(bid: tick.bid, ask: tick.ask, bidSize: tick.bidSize, askSize: tick.askSize) : nil,
            isTrade: tick.kind != .quote)
    }
}

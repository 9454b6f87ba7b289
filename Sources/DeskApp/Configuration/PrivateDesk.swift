import DeskBroker
import DeskCore
import DeskLedger
import DeskMarketData
import DeskRunner
import Foundation

/// A desk of its own for one run — `desk demo`, `desk backtest` — in a work
/// folder: the paper broker, a ledger, strategy logs and the unix socket there,
/// TCP on a free loopback port, the process runtime in the sandbox. Typed: a
/// command fills it in and `DeskConfiguration.privateDesk` builds the desk's
/// configuration, with no argument list in between.
public struct PrivateDesk: Sendable {
    /// The work folder: it holds the ledger (`ledgerName`), `logs/`, `sandbox/` and `desk.sock`.
    public var workDirectory: URL
    /// The ledger's file name in the work folder.
    public var ledgerName: String
    /// The strategy folders.
    public var strategiesDirectory: URL
    /// The market data the desk itself publishes (`.none` when a driver gives the ticks).
    public var feed: FeedSetting
    /// The desk's config file (risk limits, session close, caps); nil: `DESK_CONFIG`, else none.
    public var configFile: String?
    /// PYTHONPATH for strategies; nil: `DESK_PYTHONPATH`, else the checkout's.
    public var pythonPath: String?

    /// A private desk in `workDirectory`.
    public init(
        workDirectory: URL, ledgerName: String, strategiesDirectory: URL, feed: FeedSetting,
        configFile: String? = nil, pythonPath: String? = nil
    ) {
        self.workDirectory = workDirectory
        self.ledgerName = ledgerName
        self.strategiesDirectory = strategiesDirectory
        self.feed = feed
        self.configFile = configFile
        self.pythonPath = pythonPath
    }

    /// The ledger file.
    public var databasePath: String { workDirectory.appendingPathComponent(ledgerName).path }
    /// The ledger's files (the database, its write-ahead log and shared memory).
    public var ledgerFiles: [String] { Ledger.files(path: databasePath) }
    /// The strategy logs.
    public var logsDirectory: URL { workDirectory.appendingPathComponent("logs") }
    /// The socket strategies reach the desk through.
    public var unixSocketPath: String { workDirectory.appendingPathComponent("desk.sock").path }
    /// The longest path a unix socket can have (`sun_path` less its terminating zero).
    public static let unixSocketPathLimit = 107
}

extension DeskConfiguration {
    /// The configuration of `desk`: its folders, the paper broker, `desk.feed`, the
    /// config file's risk limits, session, web settings, upload limits and caps;
    /// from `environment` only what says where things are on this machine
    /// (`DESK_CONFIG`, `DESK_PYTHON`, `DESK_PYTHONPATH`, `DESK_SOCKET_GROUP`).
    public static func privateDesk(_ desk: PrivateDesk, environment: DeskEnvironment = DeskEnvironment())
        throws(ConfigurationError) -> DeskConfiguration
    {
        var configuration = DeskConfiguration()
        configuration.port = 0
        configuration.unixSocketPath = desk.unixSocketPath
        configuration.databasePath = desk.databasePath
        configuration.feed = desk.feed
        // Paper only, whatever the club's desk trades on.
        configuration.venues = [VenueConfiguration(name: DeskConfiguration.paperVenue, settings: PaperVenue.Settings())]
        configuration.defaultVenue = DeskConfiguration.paperVenue
        configuration.unixSocketGroup = try ServeOptions.socketGroup(environment[.socketGroup])
        let work = desk.workDirectory.standardizedFileURL
        var runtime = SupervisorConfiguration(
            strategiesDirectory: desk.strategiesDirectory.standardizedFileURL,
            logsDirectory: desk.logsDirectory.standardizedFileURL,
            sandboxDirectory: work.appendingPathComponent("sandbox"), deskURL: "unix://\(desk.unixSocketPath)",
            python: environment[.python] ?? SupervisorConfiguration.defaultPython,
            pythonPath: desk.pythonPath ?? environment[.pythonPath]
                ?? DeskCheckout.defaultPythonPath(checkout: DeskCheckout.locate()).pythonPath,
            sandbox: SandboxOptions(loopbackPort: StrategyOptions.defaultLoopbackPort))
        runtime.deskTCPURL = "http://\(configuration.host):\(configuration.port)"
        if let file = desk.configFile ?? environment[.config] {
            runtime.memberCaps = try configuration.adopt(configFile: file).caps
        }
        configuration.runtime = runtime
        return configuration
    }

    /// Reads the config file at `path` into this configuration: risk limits,
    /// session, web settings and upload limits; returns it (the members' caps
    /// are the runtime's, once there is one).
    @discardableResult
    mutating func adopt(configFile path: String) throws(ConfigurationError) -> DeskConfigFile {
        configFilePath = URL(fileURLWithPath: path).standardizedFileURL.path
        let loaded = try DeskConfigFile.load(path: path)
        risk = loaded.risk
        session = loaded.session
        web = loaded.web
        upload = loaded.upload
        loss = loaded.loss
        research = loaded.research
        return loaded
    }
}

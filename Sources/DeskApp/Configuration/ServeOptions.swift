import AlpacaBroker
import AlpacaData
import ArgumentParser
import DeskBroker
import DeskCore
import DeskHTTP
import DeskMarketData
import DeskRunner
import Foundation

/// The settings read by one rule from a flag and from its variable.
enum Settings {
    static let port = Setting.wholeNumber(.port, range: 0...65_535, hint: " (0 picks a free port)")
    static let maxConnections = Setting.wholeNumber(.maxConnections, range: 1...100_000, hint: " (per listener)")
    static let idleTimeout = Setting.seconds(.idleTimeout)
    static let headerTimeout = Setting.seconds(.headerTimeout)
    static let bodyTimeout = Setting.seconds(.bodyTimeout)
    static let reservedConnections = Setting.wholeNumber(
        .reservedConnections, range: 0...50_000, hint: " (per listener; at most half of --max-connections is kept)")
    static let connectionsPerAddress = Setting.wholeNumber(.connectionsPerAddress, range: 1...100_000)
    static let connectionsPerMember = Setting.wholeNumber(.connectionsPerMember, range: 1...100_000)
    static let streamAuthTimeout = Setting.seconds(.streamAuthTimeout)
    static let maxBodySize = Setting.wholeNumber(.maxBodySize, range: 1024...16_777_216, hint: " bytes")
}

/// Which ledger file a command reads or writes (`desk serve` and the commands that read the ledger).
public struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: "SQLite ledger file (env DB_PATH; default ./trading_desk.db).")
    public var path: String?

    public init() {}

    /// `--db`, else `DB_PATH`, else `./trading_desk.db`.
    public var resolvedPath: String { path ?? DeskEnvironment()[.database] ?? "./trading_desk.db" }
}

/// Where `desk serve` listens, and how long and how many connections each listener keeps.
public struct ListenerOptions: ParsableArguments {
    @Option(help: "TCP address to listen on (env DESK_HOST; default 127.0.0.1).")
    public var host: String?
    @Option(help: "TCP port (env PORT; default 8080; 0 picks a free port).", transform: Settings.port.transform)
    public var port: Int?
    @Option(name: .customLong("unix-socket"), help: "Also listen on this unix socket (env DESK_UNIX_SOCKET).")
    public var unixSocket: String?
    @Option(
        name: .customLong("socket-group"),
        help:
            "Group of the unix socket (mode 0660), a gid or name (env DESK_SOCKET_GROUP; default 60999 when run as root, else the desk's own group)."
    )
    public var socketGroup: String?
    @Option(
        name: .customLong("idle-timeout"),
        help: "Seconds a connection may sit idle between requests (env DESK_IDLE_TIMEOUT; default 60).",
        transform: Settings.idleTimeout.transform)
    public var idleTimeout: Duration?
    @Option(
        name: .customLong("header-timeout"),
        help: "Seconds for a request's head once its first byte came (env DESK_HEADER_TIMEOUT; default 10).",
        transform: Settings.headerTimeout.transform)
    public var headerTimeout: Duration?
    @Option(
        name: .customLong("body-timeout"),
        help: "Seconds for a request's body once its head came (env DESK_BODY_TIMEOUT; default 30).",
        transform: Settings.bodyTimeout.transform)
    public var bodyTimeout: Duration?
    @Option(
        name: .customLong("max-connections"),
        help: "Connections each listener holds at once; more wait (env DESK_MAX_CONNECTIONS; default 256).",
        transform: Settings.maxConnections.transform)
    public var maxConnections: Int?
    @Option(
        name: .customLong("reserved-connections"),
        help:
            "Connections of each listener only authenticated clients may hold; past the rest the oldest idle unauthenticated one is closed (env DESK_RESERVED_CONNECTIONS; default 32, at most half of --max-connections).",
        transform: Settings.reservedConnections.transform)
    public var reservedConnections: Int?
    @Option(
        name: .customLong("connections-per-address"),
        help:
            "Unauthenticated connections one client address may hold on a listener (env DESK_CONNECTIONS_PER_ADDRESS; default 64).",
        transform: Settings.connectionsPerAddress.transform)
    public var connectionsPerAddress: Int?
    @Option(
        name: .customLong("connections-per-member"),
        help: "Connections one member may hold on a listener (env DESK_CONNECTIONS_PER_MEMBER; default 64).",
        transform: Settings.connectionsPerMember.transform)
    public var connectionsPerMember: Int?
    @Option(
        name: .customLong("stream-auth-timeout"),
        help:
            "Seconds a WebSocket stream (/stream, /v2/iex) has to authenticate before it is closed (env DESK_STREAM_AUTH_TIMEOUT; default 10).",
        transform: Settings.streamAuthTimeout.transform)
    public var streamAuthTimeout: Duration?
    @Option(
        name: .customLong("max-body-size"),
        help:
            "Bytes a request body may have on /order, the JSON API and /v2 (env DESK_MAX_BODY_SIZE; default 65536; strategy archives have their own limit).",
        transform: Settings.maxBodySize.transform)
    public var maxBodySize: Int?

    public init() {}

    /// Timeouts and the connection cap: flags, else their variables, else `ConnectionSettings`' defaults.
    func connections(_ environment: DeskEnvironment) throws(ConfigurationError) -> ConnectionSettings {
        var settings = ConnectionSettings()
        if let value = try environment.resolve(idleTimeout, Settings.idleTimeout) { settings.idleTimeout = value }
        if let value = try environment.resolve(headerTimeout, Settings.headerTimeout) {
            settings.requestHeaderTimeout = value
        }
        if let value = try environment.resolve(bodyTimeout, Settings.bodyTimeout) {
            settings.requestBodyTimeout = value
        }
        if let value = try environment.resolve(maxConnections, Settings.maxConnections) {
            settings.maximumConnections = value
        }
        if let value = try environment.resolve(reservedConnections, Settings.reservedConnections) {
            settings.reservedConnections = value
        }
        if let value = try environment.resolve(connectionsPerAddress, Settings.connectionsPerAddress) {
            settings.unauthenticatedPerAddress = value
        }
        if let value = try environment.resolve(connectionsPerMember, Settings.connectionsPerMember) {
            settings.connectionsPerMember = value
        }
        if let value = try environment.resolve(streamAuthTimeout, Settings.streamAuthTimeout) {
            settings.streamAuthenticationTimeout = value
        }
        return settings
    }
}

/// Where orders go with `--broker` (the config file's `venues` name any registered kind).
public enum BrokerKind: String, ExpressibleByArgument, CaseIterable, Sendable {
    case paper, alpaca
}

/// Where market data comes from.
public enum FeedKind: String, ExpressibleByArgument, CaseIterable, Sendable {
    case synthetic, replay, alpaca, none
}

/// `--runtime`/DESK_RUNTIME: one of the runtimes the desk registers (`StrategyRuntimes.standard`).
extension StrategyRuntime: ExpressibleByArgument {
    public init?(argument: String) {
        guard StrategyRuntimes.standard.names.contains(argument), let runtime = Self(rawValue: argument) else {
            return nil
        }
        self = runtime
    }

    public static var allValueStrings: [String] { StrategyRuntimes.standard.names }
}

extension ReplaySpeed: ExpressibleByArgument {
    public init?(argument: String) {
        guard let speed = Self.parse(argument) else { return nil }
        self = speed
    }
}

/// Where market data comes from.
public struct MarketOptions: ParsableArguments {
    @Option(help: "Market data (env DESK_FEED; default synthetic).") public var feed: FeedKind?
    @Option(name: .customLong("replay-file"), help: "CSV or JSON-lines file for --feed replay.")
    public var replayFile: String?
    @Option(name: .customLong("replay-speed"), help: "recorded (default), fast, or a factor like 10x.")
    public var replaySpeed: ReplaySpeed?
    @Option(name: .customLong("feed-rate"), help: "Synthetic ticks per second (default 20; 0 = as fast as possible).")
    public var feedRate: Double?
    @Option(name: .customLong("feed-seed"), help: "Synthetic feed seed (default 1).") public var feedSeed: UInt64?
    @Option(
        name: .customLong("feed-spread"),
        help: "Synthetic dollars between bid and ask, e.g. 0.05 (default 0.01; 0: bid = ask = price).")
    public var feedSpread: String?
    @Option(
        help:
            "Synthetic symbols and start prices, e.g. AAPL=190,MSFT=420; for --feed alpaca the symbols streamed to strategies that want every symbol (env DESK_SYMBOLS)."
    ) public var symbols: String?

    public init() {}

    public func validate() throws {
        if let feedRate, !(feedRate >= 0) {
            throw ValidationError("--feed-rate must be ≥ 0 ticks per second (0: as fast as possible)")
        }
    }

    func resolve(_ environment: DeskEnvironment) throws(ConfigurationError) -> FeedSetting {
        let symbols = self.symbols ?? environment[.symbols]
        switch try environment.resolve(feed, .feed) ?? .synthetic {
        case .none: return .none
        case .synthetic:
            var prices = FeedSetting.defaultSymbols
            if let symbols {
                prices = [:]
                for pair in symbols.split(separator: ",") {
                    let parts = pair.split(separator: "=")
                    guard parts.count == 2, (try? OrderValidation.validateSymbol(String(parts[0]))) != nil,
                        case .success(let price) = ExactDecimal.parse(String(parts[1])), price > 0
                    else {
                        throw ConfigurationError("symbols \"\(pair)\" must look like AAPL=190.50 (comma-separated)")
                    }
                    prices[String(parts[0])] = price
                }
            }
            var spread = SyntheticSource.defaultSpread
            if let feedSpread {
                guard case .success(let value) = ExactDecimal.parse(feedSpread), value >= 0 else {
                    throw ConfigurationError(
                        "--feed-spread \"\(feedSpread)\" must be dollars between the bid and the ask, zero or more, like 0.05"
                    )
                }
                spread = value
            }
            return .synthetic(symbols: prices, ticksPerSecond: feedRate ?? 20, seed: feedSeed ?? 1, spread: spread)
        case .replay:
            guard let replayFile else {
                throw ConfigurationError("--feed replay needs --replay-file FILE (.csv or .jsonl)")
            }
            return .replay(path: replayFile, speed: replaySpeed ?? .recorded)
        case .alpaca:
            // What strategies that want every symbol get: AAPL,MSFT (AAPL=190 forms are read for their symbol).
            var defaultSymbols = Set(FeedSetting.defaultSymbols.keys)
            if let symbols {
                defaultSymbols = []
                for item in symbols.split(separator: ",") {
                    let symbol = String(item.split(separator: "=", maxSplits: 1).first ?? "")
                    guard (try? OrderValidation.validateSymbol(symbol)) != nil else {
                        throw ConfigurationError("symbols \"\(item)\" must look like AAPL (comma-separated)")
                    }
                    defaultSymbols.insert(symbol)
                }
            }
            return .alpaca(
                try AlpacaAccount.settings(for: "--feed alpaca", environment), defaultSymbols: defaultSymbols)
        }
    }
}

/// How strategies run.
public struct StrategyOptions: ParsableArguments {
    @Option(name: .customLong("strategies-dir"), help: "Supervise the strategies in this folder (env STRATEGIES_DIR).")
    public var strategiesDir: String?
    @Option(name: .customLong("logs-dir"), help: "Strategy logs (default: logs/ beside the database).")
    public var logsDir: String?
    @Option(help: "Python interpreter for strategies (env DESK_PYTHON; default /usr/bin/python3).")
    public var python: String?
    @Option(name: .customLong("python-path"), help: "PYTHONPATH for strategies (env DESK_PYTHONPATH).")
    public var pythonPath: String?
    @Flag(
        name: .customLong("no-sandbox"),
        help:
            "Run strategies as the desk's own user, without namespaces, limits or separate users (otherwise strategies do not start where the sandbox cannot be built)."
    )
    public var noSandbox = false
    @Option(
        name: .customLong("strategy-loopback-port"),
        help:
            "In each sandboxed strategy's own network namespace, 127.0.0.1:<port> leads to the desk (for alpaca-py and other TCP clients; 0: none; default 8080)."
    )
    public var strategyLoopbackPort: UInt16?
    @Option(
        name: .customLong("strategy-uids"),
        help:
            "The uids sandboxed strategies run as, FIRST-LAST (default 61000-64999; 1002 to 65533, system ids never): a deleted strategy's uid is given again, and a start past the last is refused."
    )
    public var strategyUIDs: String?
    @Option(
        name: .customLong("stop-grace"), help: "Seconds a stopped strategy has between SIGTERM and SIGKILL (default 5)."
    )
    public var stopGrace: Double?
    @Option(help: "What runs strategies without a runtime in config.json (env DESK_RUNTIME; default process).")
    public var runtime: StrategyRuntime?
    @Option(
        name: .customLong("docker-image"), help: "Strategy image (env DOCKER_IMAGE; default trading-desk-strategy).")
    public var dockerImage: String?
    @Option(
        name: .customLong("docker-network"),
        help:
            "Put containers on this Docker network and let them reach the desk over TCP (env NETWORK_NAME; default: no network, the desk's unix socket)."
    )
    public var dockerNetwork: String?
    @Option(
        name: .customLong("docker-desk-url"),
        help: "How containers on --docker-network reach the desk, e.g. http://desk:8080 (env DESK_CONTAINER_URL).")
    public var dockerDeskURL: String?

    public init() {}

    public func validate() throws {
        if let stopGrace, !(0...3600).contains(stopGrace) {
            throw ValidationError("--stop-grace \(stopGrace) must be 0 to 3600 seconds")
        }
    }

    /// The supervisor's configuration when there is a strategies folder; nil runs no strategies.
    func resolve(
        _ environment: DeskEnvironment, deskSocket: String, ledgerPath: String, deskTCPURL: String? = nil
    ) throws(ConfigurationError) -> SupervisorConfiguration? {
        guard let directory = strategiesDir ?? environment[.strategiesDirectory] else { return nil }
        let ledgerFolder = URL(fileURLWithPath: ledgerPath).standardizedFileURL.deletingLastPathComponent()
        let loopbackPort = strategyLoopbackPort ?? Self.defaultLoopbackPort
        var configuration = SupervisorConfiguration(
            strategiesDirectory: URL(fileURLWithPath: directory).standardizedFileURL,
            logsDirectory: URL(fileURLWithPath: logsDir ?? ledgerFolder.appendingPathComponent("logs").path)
                .standardizedFileURL,
            sandboxDirectory: ledgerFolder.appendingPathComponent("sandbox"), deskURL: "unix://\(deskSocket)",
            python: python ?? environment[.python] ?? SupervisorConfiguration.defaultPython,
            pythonPath: pythonPath ?? environment[.pythonPath]
                ?? DeskCheckout.defaultPythonPath(checkout: DeskCheckout.locate()).pythonPath,
            sandbox: noSandbox ? .none : try sandboxOptions(loopbackPort: loopbackPort),
            stopGrace: .milliseconds(Int64((stopGrace ?? 5) * 1000)),
            defaultRuntime: try environment.resolve(runtime, .runtime) ?? .process,
            docker: try docker(environment, deskSocket: deskSocket, ledgerPath: ledgerPath))
        configuration.deskTCPURL = deskTCPURL
        return configuration
    }

    /// The sandbox's settings: its loopback port (0: none) and the strategies' uids.
    func sandboxOptions(loopbackPort: UInt16) throws(ConfigurationError) -> SandboxOptions {
        var options = SandboxOptions(loopbackPort: loopbackPort == 0 ? nil : loopbackPort)
        guard let strategyUIDs else { return options }
        switch SandboxOptions.parseUIDRange(strategyUIDs) {
        case .success(let uids):
            options.baseUID = uids.lowerBound
            options.uidCount = uids.upperBound - uids.lowerBound + 1
        case .failure(let problem):
            throw ConfigurationError("--strategy-uids: \(problem.message)")
        }
        return options
    }

    /// The sandbox's loopback port when none is chosen.
    public static let defaultLoopbackPort: UInt16 = 8080

    /// Docker settings from flags and DOCKER_IMAGE, NETWORK_NAME, DESK_CONTAINER_URL, DESK_DOCKER and the
    /// docker CLI's own DOCKER_* variables. Without a network, containers have none and reach the desk
    /// through `deskSocket`.
    func docker(_ environment: DeskEnvironment, deskSocket: String, ledgerPath: String) throws(ConfigurationError)
        -> DockerSettings
    {
        let image = dockerImage ?? environment[.dockerImage] ?? DockerSettings.defaultImage
        guard image.first.map({ $0.isLetter || $0.isNumber }) == true, !image.contains(where: \.isWhitespace) else {
            throw ConfigurationError("docker image \"\(image)\" is not an image name such as trading-desk-strategy")
        }
        var network = ContainerNetwork.none(deskSocket: deskSocket)
        if let name = dockerNetwork ?? environment[.dockerNetwork], name != "none" {
            guard Identifier.isSafe(name) else {
                throw ConfigurationError("docker network \"\(name)\" is not a network name (letters, digits, _ and -)")
            }
            guard let url = dockerDeskURL ?? environment[.dockerDeskURL] else {
                throw ConfigurationError(
                    "--docker-network \(name) needs --docker-desk-url (env DESK_CONTAINER_URL): how containers on that network reach the desk, e.g. http://desk:8080"
                )
            }
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigurationError("--docker-desk-url \(url) must start with http:// or https://")
            }
            network = .named(name, deskURL: url)
        }
        return DockerSettings(
            docker: environment[.docker] ?? "docker", image: image, network: network,
            instance: DockerSettings.instance(forLedgerPath: URL(fileURLWithPath: ledgerPath).standardizedFileURL.path),
            clientEnvironment: DockerSettings.clientEnvironment(from: environment.values))
    }
}

/// `desk serve`'s options, in groups; `resolve` turns them (flags first, then
/// the variables of `DeskVariable`, then defaults) into a `DeskConfiguration`.
public struct ServeOptions: ParsableArguments {
    @OptionGroup public var listeners: ListenerOptions
    @OptionGroup public var database: DatabaseOptions
    @Option(help: "JSON config file with risk limits and the session close (env DESK_CONFIG).")
    public var config: String?
    @Flag(
        name: .customLong("trust-user-header"),
        help: "DEVELOPMENT ONLY: accept the seed's X-User-ID header without a token (env DESK_TRUST_USER_HEADER=1).")
    public var trustUserHeader = false
    @Flag(name: .customLong("no-group-commit"), help: "One transaction per order (for benchmarks).")
    public var noGroupCommit = false
    @Option(help: "Where orders go (env DESK_BROKER; default paper).") public var broker: BrokerKind?
    @Option(
        name: .customLong("corporate-actions"),
        help:
            "JSON lines of splits and dividends the paper venues apply on their ex-dates, e.g. {\"type\":\"split\",\"symbol\":\"AAPL\",\"ex_date\":\"2026-03-02\",\"ratio\":\"4\"}."
    )
    public var corporateActions: String?
    @OptionGroup public var market: MarketOptions
    @OptionGroup public var strategies: StrategyOptions

    public init() {}

    /// The configuration these options and `environment` describe, or what is wrong with them.
    public func resolve(_ environment: DeskEnvironment = DeskEnvironment()) throws(ConfigurationError)
        -> DeskConfiguration
    {
        var configuration = DeskConfiguration()
        configuration.host = listeners.host ?? environment[.host] ?? "127.0.0.1"
        configuration.port = try environment.resolve(listeners.port, Settings.port) ?? 8080
        configuration.databasePath = database.path ?? environment[.database] ?? "./trading_desk.db"
        configuration.unixSocketPath = listeners.unixSocket ?? environment[.unixSocket]
        switch environment[.trustUserHeader] {
        case nil, "0", "false": configuration.trustUserHeader = trustUserHeader
        case "1", "true": configuration.trustUserHeader = true
        case let other?: throw ConfigurationError("DESK_TRUST_USER_HEADER=\(other) must be 1 or 0")
        }
        configuration.groupCommit = !noGroupCommit
        if let raw = environment.values[DeskConfiguration.pauseAfterMoveVariable], !raw.isEmpty {
            guard let seconds = Double(raw), seconds >= 0, seconds.isFinite else {
                throw ConfigurationError(
                    "\(DeskConfiguration.pauseAfterMoveVariable)=\(raw) must be a number of seconds (a test's hook)")
            }
            configuration.pauseAfterMove = .milliseconds(Int64(seconds * 1000))
        }
        if let raw = environment.values[DeskConfiguration.corporateActionsIntervalVariable], !raw.isEmpty {
            guard let seconds = Double(raw), seconds > 0, seconds <= 86_400 else {
                throw ConfigurationError(
                    "\(DeskConfiguration.corporateActionsIntervalVariable)=\(raw) must be a number of seconds, more than 0 and at most 86400"
                )
            }
            configuration.corporateActionsInterval = .milliseconds(Int64(seconds * 1000))
        }
        configuration.connections = try listeners.connections(environment)
        if let bytes = try environment.resolve(listeners.maxBodySize, Settings.maxBodySize) {
            configuration.maximumBodySize = bytes
        }
        configuration.unixSocketGroup = try Self.socketGroup(listeners.socketGroup ?? environment[.socketGroup])
        var loaded: DeskConfigFile?
        if let file = config ?? environment[.config] {
            loaded = try configuration.adopt(configFile: file)
        }
        try resolveVenues(&configuration, file: loaded, environment)
        if let path = corporateActions {
            do { configuration.corporateActions = try CorporateActionFile.load(path: path) } catch {
                throw ConfigurationError("--corporate-actions \(error)")
            }
        }
        configuration.feed = try market.resolve(environment)
        if strategies.strategiesDir ?? environment[.strategiesDirectory] != nil && configuration.unixSocketPath == nil {
            // Sandboxed strategies reach the desk through this socket.
            let ledgerFolder = URL(fileURLWithPath: configuration.databasePath).deletingLastPathComponent()
            configuration.unixSocketPath = ledgerFolder.appendingPathComponent("desk.sock").path
        }
        if let path = configuration.unixSocketPath, path.utf8.count > 100 {
            throw ConfigurationError("unix socket path \(path) is too long: at most 100 bytes (a kernel limit)")
        }
        let tcpHost = ["0.0.0.0", "::", ""].contains(configuration.host) ? "127.0.0.1" : configuration.host
        configuration.runtime = try strategies.resolve(
            environment, deskSocket: configuration.unixSocketPath ?? "", ledgerPath: configuration.databasePath,
            deskTCPURL: "http://\(tcpHost.contains(":") ? "[\(tcpHost)]" : tcpHost):\(configuration.port)")
        if let caps = loaded?.caps { configuration.runtime?.memberCaps = caps }
        return configuration
    }

    /// The venues: the config file's (`paper` always), `--broker alpaca`'s
    /// `alpaca` from the `APCA_API_*` variables; `--broker` chooses the default
    /// over `default_venue`. Each venue's keys are read from the variables it names.
    func resolveVenues(_ configuration: inout DeskConfiguration, file: DeskConfigFile?, _ environment: DeskEnvironment)
        throws(ConfigurationError)
    {
        var venues = file?.venues ?? configuration.venues
        var defaultVenue = file?.defaultVenue ?? configuration.defaultVenue
        switch try environment.resolve(broker, .broker) {
        case nil: break
        case .paper?: defaultVenue = DeskConfiguration.paperVenue
        case .alpaca?:
            let name = BrokerKind.alpaca.rawValue
            guard !venues.contains(where: { $0.name == name }) else {
                throw ConfigurationError(
                    "--broker alpaca makes the venue \"\(name)\" from APCA_API_KEY_ID and APCA_API_SECRET_KEY, and the config file has a venue of that name too: drop --broker (DESK_BROKER) and set \"default_venue\": \"\(name)\" instead"
                )
            }
            venues.append(
                VenueConfiguration(
                    name: name,
                    settings: AlpacaVenue.Settings(
                        account: try AlpacaAccount.settings(for: "--broker alpaca", environment))))
            defaultVenue = name
        }
        configuration.venues = try venues.map { venue throws(ConfigurationError) in
            var resolved = venue
            do throws(VenueConfigurationError) {
                resolved.settings = try venue.settings.resolved(environment: environment.values)
            } catch {
                throw ConfigurationError("venue \"\(venue.name)\" (\(venue.kind)) \(error.message)")
            }
            return resolved
        }
        configuration.defaultVenue = defaultVenue
    }

    /// `--socket-group`/DESK_SOCKET_GROUP: a gid or the name of a group; without
    /// one, `DeskConfiguration.defaultSocketGroup` when the desk runs as root,
    /// else the desk's own gid.
    static func socketGroup(_ raw: String?, runningAsRoot: Bool = getuid() == 0) throws(ConfigurationError) -> UInt32 {
        guard let raw else { return runningAsRoot ? DeskConfiguration.defaultSocketGroup : getgid() }
        if let gid = UInt32(raw) { return gid }
        if let entry = getgrnam(raw) { return entry.pointee.gr_gid }
        throw ConfigurationError(
            "socket group \"\(raw)\" is neither a gid nor a group on this machine: pass a number such as \(DeskConfiguration.defaultSocketGroup) or an existing group's name"
        )
    }
}

/// The club's Alpaca account from the seed's variables.
public enum AlpacaAccount {
    /// For `use` (`--broker alpaca`, `--feed alpaca`): APCA_API_KEY_ID and APCA_API_SECRET_KEY (required),
    /// APCA_API_BASE_URL, APCA_API_DATA_URL, APCA_API_DATA_STREAM_URL, APCA_DATA_FEED.
    public static func settings(for use: String, _ environment: DeskEnvironment) throws(ConfigurationError)
        -> AlpacaSettings
    {
        let keys: [DeskVariable] = [.alpacaKeyID, .alpacaSecretKey]
        let missing = keys.filter { environment[$0] == nil }.map(\.rawValue)
        guard let keyID = environment[.alpacaKeyID], let secret = environment[.alpacaSecretKey] else {
            throw ConfigurationError(
                "\(use) needs \(missing.joined(separator: " and ")) in the environment (the club's Alpaca keys); APCA_API_BASE_URL defaults to \(AlpacaSettings.paperBaseURL)"
            )
        }
        let base = environment[.alpacaBaseURL] ?? AlpacaSettings.paperBaseURL
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw ConfigurationError(
                "APCA_API_BASE_URL=\(base) must start with https:// (or http:// for a local test double)")
        }
        let stream = environment[.alpacaDataStreamURL] ?? AlpacaSettings.dataStreamURL
        guard stream.hasPrefix("wss://") || stream.hasPrefix("ws://") else {
            throw ConfigurationError(
                "APCA_API_DATA_STREAM_URL=\(stream) must start with wss:// (or ws:// for a local test double), e.g. \(AlpacaSettings.dataStreamURL)"
            )
        }
        let feed = environment[.alpacaDataFeed] ?? "iex"
        guard ["iex", "sip"].contains(feed) else {
            throw ConfigurationError("APCA_DATA_FEED=\(feed) must be iex or sip")
        }
        return AlpacaSettings(
            keyID: keyID, secretKey: secret, baseURL: base,
            dataURL: environment[.alpacaDataURL] ?? AlpacaSettings.dataURL,
            dataStreamURL: stream, dataFeed: feed)
    }
}

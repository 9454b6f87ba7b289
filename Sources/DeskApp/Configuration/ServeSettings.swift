import DeskAlpaca
import DeskBroker
import DeskCore
import DeskHTTP
import DeskMarketData
import DeskRunner
import Foundation

/// `desk serve`'s settings as given (flags win over environment variables),
/// turned into a `DeskConfiguration` with errors that name the setting.
public struct ServeSettings: Sendable {
    public var host: String?
    public var port: Int?
    public var unixSocket: String?
    public var databasePath: String?
    public var configFile: String?
    public var trustUserHeader: Bool
    public var noGroupCommit: Bool
    /// `synthetic` (default), `replay`, or `none`.
    public var feed: String?
    /// The file for `--feed replay`.
    public var replayFile: String?
    /// `recorded`, `fast`, or a factor like `10x`.
    public var replaySpeed: String?
    public var feedRate: Double?
    public var feedSeed: UInt64?
    /// `AAPL=190,MSFT=420` for the synthetic feed.
    public var symbols: String?
    /// Folder of strategies to supervise; nil: `STRATEGIES_DIR`, else no supervisor.
    public var strategiesDirectory: String?
    public var logsDirectory: String?
    public var python: String?
    public var pythonPath: String?
    /// Run strategies without network isolation, limits or a separate user.
    public var noSandbox: Bool
    /// Seconds a stopped strategy has between SIGTERM and SIGKILL (default 5).
    public var stopGrace: Double?
    /// `paper` (default) or `alpaca`.
    public var broker: String?
    /// What runs strategies whose config.json names no runtime: `process` (default) or `docker`.
    public var runtime: String?
    /// The strategy image (default `trading-desk-strategy`).
    public var dockerImage: String?
    /// A Docker network for containers to reach the desk over TCP; nil: no network.
    public var dockerNetwork: String?
    /// How containers on `dockerNetwork` reach the desk (`http://host:port`).
    public var dockerDeskURL: String?
    /// Seconds a connection may sit idle (`--idle-timeout`).
    public var idleTimeout: String?
    /// Seconds for a request's head once its first byte came (`--header-timeout`).
    public var headerTimeout: String?
    /// Seconds for a request's body once its head came (`--body-timeout`).
    public var bodyTimeout: String?
    /// Connections each listener holds at once (`--max-connections`).
    public var maxConnections: Int?
    /// The unix socket's group: a gid or a group name (`--socket-group`).
    public var socketGroup: String?

    public init(
        host: String? = nil, port: Int? = nil, unixSocket: String? = nil, databasePath: String? = nil,
        configFile: String? = nil, trustUserHeader: Bool = false, noGroupCommit: Bool = false, feed: String? = nil,
        replayFile: String? = nil, replaySpeed: String? = nil, feedRate: Double? = nil, feedSeed: UInt64? = nil,
        symbols: String? = nil, strategiesDirectory: String? = nil, logsDirectory: String? = nil,
        python: String? = nil, pythonPath: String? = nil, noSandbox: Bool = false, broker: String? = nil,
        runtime: String? = nil, dockerImage: String? = nil, dockerNetwork: String? = nil, dockerDeskURL: String? = nil,
        stopGrace: Double? = nil, idleTimeout: String? = nil, headerTimeout: String? = nil,
        bodyTimeout: String? = nil, maxConnections: Int? = nil, socketGroup: String? = nil
    ) {
        self.stopGrace = stopGrace
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maxConnections = maxConnections
        self.socketGroup = socketGroup
        self.broker = broker
        self.runtime = runtime
        self.dockerImage = dockerImage
        self.dockerNetwork = dockerNetwork
        self.dockerDeskURL = dockerDeskURL
        self.feed = feed
        self.replayFile = replayFile
        self.replaySpeed = replaySpeed
        self.feedRate = feedRate
        self.feedSeed = feedSeed
        self.symbols = symbols
        self.strategiesDirectory = strategiesDirectory
        self.logsDirectory = logsDirectory
        self.python = python
        self.pythonPath = pythonPath
        self.noSandbox = noSandbox
        self.host = host
        self.port = port
        self.unixSocket = unixSocket
        self.databasePath = databasePath
        self.configFile = configFile
        self.trustUserHeader = trustUserHeader
        self.noGroupCommit = noGroupCommit
    }

    /// A setting that cannot be used.
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Resolves flags and `environment` (PORT, DB_PATH, DESK_UNIX_SOCKET,
    /// DESK_CONFIG, DESK_TRUST_USER_HEADER, DESK_HOST) into a configuration.
    public func resolve(environment: [String: String]) -> Result<DeskConfiguration, Problem> {
        var configuration = DeskConfiguration()
        configuration.host = host ?? environment["DESK_HOST"] ?? "127.0.0.1"
        switch Self.wholeNumber(
            port, variable: "PORT", environment: environment, default: 8080, range: 0...65_535, name: "port",
            hint: " (0 picks a free port)")
        {
        case .success(let value): configuration.port = value
        case .failure(let problem): return .failure(problem)
        }
        configuration.databasePath = databasePath ?? environment["DB_PATH"] ?? "./trading_desk.db"
        configuration.unixSocketPath = unixSocket ?? environment["DESK_UNIX_SOCKET"]
        if let path = configuration.unixSocketPath, path.utf8.count > 100 {
            return .failure(
                Problem(message: "unix socket path \(path) is too long: at most 100 bytes (a kernel limit)"))
        }
        let trustFlag = environment["DESK_TRUST_USER_HEADER"]
        switch trustFlag {
        case nil, "", "0", "false": configuration.trustUserHeader = trustUserHeader
        case "1", "true": configuration.trustUserHeader = true
        case let other?:
            return .failure(Problem(message: "DESK_TRUST_USER_HEADER=\(other) must be 1 or 0"))
        }
        configuration.groupCommit = !noGroupCommit
        switch resolveConnections(environment: environment) {
        case .success(let connections): configuration.connections = connections
        case .failure(let problem): return .failure(problem)
        }
        switch Self.resolveSocketGroup(socketGroup ?? environment["DESK_SOCKET_GROUP"]) {
        case .success(let group): configuration.unixSocketGroup = group
        case .failure(let problem): return .failure(problem)
        }
        if let file = configFile ?? environment["DESK_CONFIG"] {
            configuration.configFilePath = URL(fileURLWithPath: file).standardizedFileURL.path
            switch DeskConfigFile.load(path: file) {
            case .success(let loaded):
                configuration.risk = loaded.risk
                configuration.session = loaded.session
            case .failure(let problem):
                return .failure(Problem(message: "config file \(problem)"))
            }
        }
        switch Self.resolveBroker(broker ?? environment["DESK_BROKER"], environment: environment) {
        case .success(let broker): configuration.broker = broker
        case .failure(let problem): return .failure(problem)
        }
        switch resolveFeed(environment: environment) {
        case .success(let feed): configuration.feed = feed
        case .failure(let problem): return .failure(problem)
        }
        if let directory = strategiesDirectory ?? environment["STRATEGIES_DIR"] {
            let databaseFolder = URL(fileURLWithPath: configuration.databasePath).deletingLastPathComponent()
            let defaultPythonPath = DeskCheckout.defaultPythonPath(checkout: DeskCheckout.locate()).pythonPath
            if configuration.unixSocketPath == nil {
                // Sandboxed strategies reach the desk through this socket.
                configuration.unixSocketPath = databaseFolder.appendingPathComponent("desk.sock").path
            }
            let defaultRuntime: StrategyRuntime
            switch Self.resolveRuntime(runtime ?? environment["DESK_RUNTIME"]) {
            case .success(let resolved): defaultRuntime = resolved
            case .failure(let problem): return .failure(problem)
            }
            let docker: DockerSettings
            switch resolveDocker(
                environment: environment, deskSocket: configuration.unixSocketPath!,
                ledgerPath: configuration.databasePath)
            {
            case .success(let resolved): docker = resolved
            case .failure(let problem): return .failure(problem)
            }
            let grace = stopGrace ?? 5
            guard grace >= 0 && grace <= 3600 else {
                return .failure(Problem(message: "--stop-grace \(grace) must be 0 to 3600 seconds"))
            }
            configuration.runtime = RuntimeSettings(
                strategiesDirectory: URL(fileURLWithPath: directory).standardizedFileURL,
                logsDirectory: URL(fileURLWithPath: logsDirectory ?? databaseFolder.appendingPathComponent("logs").path)
                    .standardizedFileURL,
                python: python ?? SupervisorConfiguration.defaultPython(environment: environment),
                pythonPath: pythonPath ?? environment["DESK_PYTHONPATH"] ?? defaultPythonPath,
                sandbox: noSandbox ? .none : SandboxOptions(), stopGrace: .milliseconds(Int64(grace * 1000)),
                defaultRuntime: defaultRuntime, docker: docker)
        }
        return .success(configuration)
    }

    /// Timeouts and the connection cap from flags, else DESK_IDLE_TIMEOUT,
    /// DESK_HEADER_TIMEOUT, DESK_BODY_TIMEOUT (seconds, decimals allowed) and
    /// DESK_MAX_CONNECTIONS, else `ConnectionSettings`' defaults.
    func resolveConnections(environment: [String: String]) -> Result<ConnectionSettings, Problem> {
        var settings = ConnectionSettings()
        let timeouts: [(String?, String, String, WritableKeyPath<ConnectionSettings, Duration>)] = [
            (idleTimeout, "DESK_IDLE_TIMEOUT", "--idle-timeout", \.idleTimeout),
            (headerTimeout, "DESK_HEADER_TIMEOUT", "--header-timeout", \.requestHeaderTimeout),
            (bodyTimeout, "DESK_BODY_TIMEOUT", "--body-timeout", \.requestBodyTimeout),
        ]
        for (flag, variable, flagName, keyPath) in timeouts {
            guard let raw = flag ?? environment[variable] else { continue }
            let source = flag != nil ? "\(flagName) \(raw)" : "\(variable)=\(raw)"
            guard case .success(let seconds) = ExactDecimal.parse(raw), seconds > 0, seconds <= 86_400 else {
                return .failure(
                    Problem(message: "\(source) must be a number of seconds above 0 and at most 86400, e.g. 30 or 0.5"))
            }
            let milliseconds = NSDecimalNumber(decimal: ExactDecimal.rounded(seconds * 1000, scale: 0)).int64Value
            settings[keyPath: keyPath] = .milliseconds(max(milliseconds, 1))
        }
        switch Self.wholeNumber(
            maxConnections, variable: "DESK_MAX_CONNECTIONS", environment: environment,
            default: settings.maximumConnections, range: 1...100_000, name: "max connections", hint: " (per listener)")
        {
        case .success(let value): settings.maximumConnections = value
        case .failure(let problem): return .failure(problem)
        }
        return .success(settings)
    }

    /// A whole number from its flag, else its environment variable, else `default`, within `range`.
    static func wholeNumber(
        _ flag: Int?, variable: String, environment: [String: String], default value: Int, range: ClosedRange<Int>,
        name: String, hint: String
    ) -> Result<Int, Problem> {
        let allowed = "\(range.lowerBound)-\(range.upperBound)\(hint)"
        var resolved = value
        if let flag {
            resolved = flag
        } else if let raw = environment[variable] {
            guard let number = Int(raw) else {
                return .failure(Problem(message: "\(variable)=\(raw) is not a whole number: use \(allowed)"))
            }
            resolved = number
        }
        guard range.contains(resolved) else {
            return .failure(Problem(message: "\(name) \(resolved) is out of range: use \(allowed)"))
        }
        return .success(resolved)
    }

    /// `--socket-group`/DESK_SOCKET_GROUP: a gid or the name of a group; without
    /// one, `DeskConfiguration.defaultSocketGroup` when the desk runs as root,
    /// else the desk's own gid.
    static func resolveSocketGroup(_ raw: String?, runningAsRoot: Bool = getuid() == 0) -> Result<UInt32, Problem> {
        guard let raw, !raw.isEmpty else {
            return .success(runningAsRoot ? DeskConfiguration.defaultSocketGroup : getgid())
        }
        if let gid = UInt32(raw) { return .success(gid) }
        if let entry = getgrnam(raw) { return .success(entry.pointee.gr_gid) }
        return .failure(
            Problem(
                message:
                    "socket group \"\(raw)\" is neither a gid nor a group on this machine: pass a number such as \(DeskConfiguration.defaultSocketGroup) or an existing group's name"
            ))
    }

    /// `paper`, or `alpaca` with the seed's variables: APCA_API_KEY_ID and
    /// APCA_API_SECRET_KEY (required), APCA_API_BASE_URL (default the paper
    /// endpoint), APCA_API_DATA_URL, APCA_API_DATA_STREAM_URL, APCA_DATA_FEED.
    static func resolveBroker(_ name: String?, environment: [String: String]) -> Result<BrokerSetting, Problem> {
        switch name ?? "paper" {
        case "paper": return .success(.paper)
        case "alpaca":
            return alpacaSettings(for: "--broker alpaca", environment: environment).map {
                .alpaca($0, AlpacaBroker.Options())
            }
        case let other:
            return .failure(Problem(message: "--broker \(other) is not a broker: use paper or alpaca"))
        }
    }

    /// The club's Alpaca account from the seed's variables, for `use` (`--broker alpaca`, `--feed alpaca`):
    /// APCA_API_KEY_ID and APCA_API_SECRET_KEY (required), APCA_API_BASE_URL, APCA_API_DATA_URL,
    /// APCA_API_DATA_STREAM_URL, APCA_DATA_FEED.
    static func alpacaSettings(for use: String, environment: [String: String]) -> Result<AlpacaSettings, Problem> {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let missing = ["APCA_API_KEY_ID", "APCA_API_SECRET_KEY"].filter { value($0) == nil }
        if !missing.isEmpty {
            return .failure(
                Problem(
                    message:
                        "\(use) needs \(missing.joined(separator: " and ")) in the environment (the club's Alpaca keys); APCA_API_BASE_URL defaults to \(AlpacaSettings.paperBaseURL)"
                ))
        }
        let base = value("APCA_API_BASE_URL") ?? AlpacaSettings.paperBaseURL
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            return .failure(
                Problem(
                    message: "APCA_API_BASE_URL=\(base) must start with https:// (or http:// for a local test double)"))
        }
        let stream = value("APCA_API_DATA_STREAM_URL") ?? AlpacaSettings.dataStreamURL
        guard stream.hasPrefix("wss://") || stream.hasPrefix("ws://") else {
            return .failure(
                Problem(
                    message:
                        "APCA_API_DATA_STREAM_URL=\(stream) must start with wss:// (or ws:// for a local test double), e.g. \(AlpacaSettings.dataStreamURL)"
                ))
        }
        let feed = value("APCA_DATA_FEED") ?? "iex"
        guard ["iex", "sip"].contains(feed) else {
            return .failure(Problem(message: "APCA_DATA_FEED=\(feed) must be iex or sip"))
        }
        return .success(
            AlpacaSettings(
                keyID: value("APCA_API_KEY_ID")!, secretKey: value("APCA_API_SECRET_KEY")!, baseURL: base,
                dataURL: value("APCA_API_DATA_URL") ?? AlpacaSettings.dataURL, dataStreamURL: stream, dataFeed: feed))
    }

    /// `process` (default) or `docker`.
    static func resolveRuntime(_ name: String?) -> Result<StrategyRuntime, Problem> {
        guard let name else { return .success(.process) }
        guard let runtime = StrategyRuntime(rawValue: name) else {
            return .failure(Problem(message: "--runtime \(name) is not a strategy runtime: use process or docker"))
        }
        return .success(runtime)
    }

    /// Docker settings from flags and DOCKER_IMAGE, NETWORK_NAME, DESK_CONTAINER_URL,
    /// DESK_DOCKER and the docker CLI's own DOCKER_* variables. Without a network,
    /// containers have none and reach the desk through `deskSocket`.
    func resolveDocker(environment: [String: String], deskSocket: String, ledgerPath: String) -> Result<
        DockerSettings, Problem
    > {
        func given(_ flag: String?, _ variable: String) -> String? {
            (flag ?? environment[variable]).flatMap { $0.isEmpty ? nil : $0 }
        }
        let image = given(dockerImage, "DOCKER_IMAGE") ?? DockerSettings.defaultImage
        guard image.first.map({ $0.isLetter || $0.isNumber }) == true, !image.contains(where: \.isWhitespace) else {
            return .failure(
                Problem(message: "docker image \"\(image)\" is not an image name such as trading-desk-strategy"))
        }
        var network = ContainerNetwork.none(deskSocket: deskSocket)
        if let name = given(dockerNetwork, "NETWORK_NAME"), name != "none" {
            guard Identifier.isSafe(name) else {
                return .failure(
                    Problem(message: "docker network \"\(name)\" is not a network name (letters, digits, _ and -)"))
            }
            guard let url = given(dockerDeskURL, "DESK_CONTAINER_URL") else {
                return .failure(
                    Problem(
                        message:
                            "--docker-network \(name) needs --docker-desk-url (env DESK_CONTAINER_URL): how containers on that network reach the desk, e.g. http://desk:8080"
                    ))
            }
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                return .failure(Problem(message: "--docker-desk-url \(url) must start with http:// or https://"))
            }
            network = .named(name, deskURL: url)
        }
        let absoluteLedger = URL(fileURLWithPath: ledgerPath).standardizedFileURL.path
        return .success(
            DockerSettings(
                docker: given(nil, "DESK_DOCKER") ?? "docker", image: image, network: network,
                instance: DockerSettings.instance(forLedgerPath: absoluteLedger),
                clientEnvironment: DockerSettings.clientEnvironment(from: environment)))
    }

    func resolveFeed(environment: [String: String]) -> Result<FeedSetting, Problem> {
        switch feed ?? environment["DESK_FEED"] ?? "synthetic" {
        case "none": return .success(.none)
        case "synthetic":
            var prices = FeedSetting.defaultSymbols
            if let symbols = symbols ?? environment["DESK_SYMBOLS"] {
                prices = [:]
                for pair in symbols.split(separator: ",") {
                    let parts = pair.split(separator: "=")
                    guard parts.count == 2, (try? OrderValidation.validateSymbol(String(parts[0]))) != nil,
                        case .success(let price) = ExactDecimal.parse(String(parts[1])), price > 0
                    else {
                        return .failure(
                            Problem(message: "symbols \"\(pair)\" must look like AAPL=190.50 (comma-separated)"))
                    }
                    prices[String(parts[0])] = price
                }
            }
            let rate = feedRate ?? 20
            guard rate >= 0 else {
                return .failure(Problem(message: "feed rate must be ≥ 0 ticks per second (0: as fast as possible)"))
            }
            return .success(.synthetic(symbols: prices, ticksPerSecond: rate, seed: feedSeed ?? 1))
        case "replay":
            guard let file = replayFile else {
                return .failure(Problem(message: "--feed replay needs --replay-file FILE (.csv or .jsonl)"))
            }
            guard let speed = ReplaySpeed.parse(replaySpeed ?? "recorded") else {
                return .failure(
                    Problem(
                        message: "replay speed \"\(replaySpeed ?? "")\" must be recorded, fast or a factor like 10x"))
            }
            return .success(.replay(path: file, speed: speed))
        case "alpaca":
            return resolveAlpacaFeed(environment: environment)
        case let other:
            return .failure(Problem(message: "feed \"\(other)\" must be synthetic, replay, alpaca or none"))
        }
    }

    /// `--feed alpaca`: the keys (APCA_API_KEY_ID, APCA_API_SECRET_KEY, required),
    /// APCA_API_DATA_STREAM_URL (default Alpaca's v2 stock stream), APCA_DATA_FEED
    /// (iex or sip), and the symbols streamed while a strategy wants every symbol:
    /// `--symbols`/DESK_SYMBOLS (`AAPL,MSFT`; `AAPL=190` forms are read for their
    /// symbol), else the synthetic feed's default symbols.
    func resolveAlpacaFeed(environment: [String: String]) -> Result<FeedSetting, Problem> {
        let settings: AlpacaSettings
        switch Self.alpacaSettings(for: "--feed alpaca", environment: environment) {
        case .success(let resolved): settings = resolved
        case .failure(let problem): return .failure(problem)
        }
        var defaultSymbols = Set(FeedSetting.defaultSymbols.keys)
        if let list = symbols ?? environment["DESK_SYMBOLS"] {
            defaultSymbols = []
            for item in list.split(separator: ",") {
                let symbol = String(item.split(separator: "=", maxSplits: 1).first ?? "")
                guard (try? OrderValidation.validateSymbol(symbol)) != nil else {
                    return .failure(Problem(message: "symbols \"\(item)\" must look like AAPL (comma-separated)"))
                }
                defaultSymbols.insert(symbol)
            }
        }
        return .success(.alpaca(settings, defaultSymbols: defaultSymbols))
    }
}

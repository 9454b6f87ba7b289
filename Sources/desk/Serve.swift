import ArgumentParser
import DeskApp
import DeskCLI
import DeskIdentity
import Foundation
import Logging

/// `desk serve`: run the desk server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the desk server (paper or Alpaca broker, SQLite ledger).",
        discussion: """
            Environment: PORT (8080), DB_PATH (./trading_desk.db), DESK_UNIX_SOCKET, DESK_CONFIG, \
            DESK_TRUST_USER_HEADER=1, DESK_HOST, DESK_FEED, DESK_SYMBOLS, STRATEGIES_DIR, DESK_PYTHON, \
            DESK_PYTHONPATH, DESK_BROKER, DESK_RUNTIME, DOCKER_IMAGE, NETWORK_NAME, DESK_CONTAINER_URL, \
            DESK_DOCKER, DESK_IDLE_TIMEOUT, DESK_HEADER_TIMEOUT, DESK_BODY_TIMEOUT, DESK_MAX_CONNECTIONS, \
            DESK_SOCKET_GROUP, LOG_LEVEL; for --broker alpaca: APCA_API_KEY_ID, APCA_API_SECRET_KEY, \
            APCA_API_BASE_URL, APCA_API_DATA_URL, APCA_API_DATA_STREAM_URL, APCA_DATA_FEED; for --feed alpaca: \
            APCA_API_KEY_ID, APCA_API_SECRET_KEY, APCA_API_DATA_STREAM_URL, APCA_DATA_FEED.
            """)

    @Option(help: "TCP address to listen on (env DESK_HOST; default 127.0.0.1).") var host: String?
    @Option(help: "TCP port (env PORT; default 8080; 0 picks a free port).") var port: Int?
    @Option(name: .customLong("unix-socket"), help: "Also listen on this unix socket (env DESK_UNIX_SOCKET).")
    var unixSocket: String?
    @OptionGroup var database: DatabaseOptions
    @Option(help: "JSON config file with risk limits and the session close (env DESK_CONFIG).") var config: String?
    @Flag(
        name: .customLong("trust-user-header"),
        help: "DEVELOPMENT ONLY: accept the seed's X-User-ID header without a token (env DESK_TRUST_USER_HEADER=1).")
    var trustUserHeader = false
    @Flag(name: .customLong("no-group-commit"), help: "One transaction per order (for benchmarks).")
    var noGroupCommit = false
    @Option(help: "Where orders go: paper (default) or alpaca (env DESK_BROKER).") var broker: String?
    @OptionGroup var connections: ConnectionOptions
    @OptionGroup var market: MarketOptions
    @OptionGroup var runtime: RuntimeOptions

    func run() async throws {
        let settings = ServeSettings(
            host: host, port: port, unixSocket: unixSocket, databasePath: database.path, configFile: config,
            trustUserHeader: trustUserHeader, noGroupCommit: noGroupCommit, feed: market.feed,
            replayFile: market.replayFile, replaySpeed: market.replaySpeed, feedRate: market.feedRate,
            feedSeed: market.feedSeed, symbols: market.symbols, strategiesDirectory: runtime.strategiesDir,
            logsDirectory: runtime.logsDir, python: runtime.python, pythonPath: runtime.pythonPath,
            noSandbox: runtime.noSandbox, broker: broker, runtime: runtime.runtime, dockerImage: runtime.dockerImage,
            dockerNetwork: runtime.dockerNetwork, dockerDeskURL: runtime.dockerDeskURL, stopGrace: runtime.stopGrace,
            idleTimeout: connections.idleTimeout, headerTimeout: connections.headerTimeout,
            bodyTimeout: connections.bodyTimeout, maxConnections: connections.maxConnections,
            socketGroup: connections.socketGroup)
        let configuration: DeskConfiguration
        switch settings.resolve(environment: ProcessInfo.processInfo.environment) {
        case .success(let resolved): configuration = resolved
        case .failure(let problem): throw ValidationError(problem.message)
        }
        do {
            try await DeskServerMain.serve(configuration: configuration)
        } catch let error as DeskStartupError {
            throw DeskCommandError(error.message)
        }
    }
}

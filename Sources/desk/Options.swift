import ArgumentParser
import DeskApp
import DeskCLI
import DeskClient
import DeskIdentity
import Foundation

/// Which ledger file a command reads or writes.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: "SQLite ledger file (env DB_PATH; default ./trading_desk.db).")
    var path: String?

    var resolvedPath: String { path ?? ProcessInfo.processInfo.environment["DB_PATH"] ?? "./trading_desk.db" }
}

/// How a command reaches a running desk's admin API.
struct ServerOptions: ParsableArguments {
    @Option(help: "Desk URL (env DESK_SERVER_URL; default http://localhost:8080; unix:///path works).")
    var server: String?

    @Option(help: "Admin token (env DESK_ADMIN_TOKEN; default: desk-admin.token beside the database).")
    var token: String?

    @OptionGroup var database: DatabaseOptions

    /// Where the desk running on `--db`'s ledger listens, from its lock file.
    var runningDeskURL: String? {
        guard case .running(let record?) = DeskLock.probe(database: database.resolvedPath) else { return nil }
        return record.url ?? record.unixSocket.map { "unix://\($0)" }
    }

    func connection() throws -> DeskConnection {
        let environment = ProcessInfo.processInfo.environment
        let url = server ?? environment["DESK_SERVER_URL"] ?? runningDeskURL ?? "http://localhost:8080"
        let tokenFile = AdminTokenFile.path(forDatabase: database.resolvedPath)
        guard let token = token ?? environment["DESK_ADMIN_TOKEN"] ?? AdminTokenFile.read(path: tokenFile) else {
            throw DeskCommandError(
                "no admin token: pass --token, set DESK_ADMIN_TOKEN, or run this where `desk serve` wrote \(tokenFile)")
        }
        return DeskConnection(serverURL: url, token: token)
    }
}

/// A command that was well formed but could not do what it was asked: printed
/// as `Error: <message>` with exit status 1, without the usage text (which
/// ArgumentParser's `ValidationError` prints, with status 64, for bad arguments).
struct DeskCommandError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Runs `body` with a connection and turns transport failures into a clear message.
func withDesk<T>(_ options: ServerOptions, _ body: (DeskConnection) async throws -> T) async throws -> T {
    let connection = try options.connection()
    do {
        let result = try await body(connection)
        try? await connection.shutdown()
        return result
    } catch let failure as DeskConnection.Failure {
        try? await connection.shutdown()
        switch failure {
        case .unreachable(let url, _):
            throw DeskCommandError(
                "no desk is answering at \(url). Start one with `desk serve` (or point --server / DESK_SERVER_URL at it)."
            )
        case .refused(let status, let message):
            throw DeskCommandError(
                "the desk refused (\(status)): \(message.isEmpty ? "it gave no reason" : message)")
        }
    }
}

/// Timeouts and connection limits of `desk serve`'s listeners.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .customLong("idle-timeout"),
        help: "Seconds a connection may sit idle between requests (env DESK_IDLE_TIMEOUT; default 60).")
    var idleTimeout: String?
    @Option(
        name: .customLong("header-timeout"),
        help: "Seconds for a request's head once its first byte came (env DESK_HEADER_TIMEOUT; default 10).")
    var headerTimeout: String?
    @Option(
        name: .customLong("body-timeout"),
        help: "Seconds for a request's body once its head came (env DESK_BODY_TIMEOUT; default 30).")
    var bodyTimeout: String?
    @Option(
        name: .customLong("max-connections"),
        help: "Connections each listener holds at once; more wait (env DESK_MAX_CONNECTIONS; default 256).")
    var maxConnections: Int?
    @Option(
        name: .customLong("socket-group"),
        help:
            "Group of the unix socket (mode 0660), a gid or name (env DESK_SOCKET_GROUP; default 60999 when run as root, else the desk's own group)."
    )
    var socketGroup: String?
}

/// A strategy as the user named it: its folder name, or a path to its folder
/// (`strategies/example_alice/` is `example_alice`).
func strategyName(_ given: String) -> String {
    let trimmed = given.hasSuffix("/") ? String(given.reversed().drop { $0 == "/" }.reversed()) : given
    return trimmed.split(separator: "/").last.map(String.init) ?? given
}

/// Where market data comes from.
struct MarketOptions: ParsableArguments {
    @Option(help: "Market data: synthetic (default), replay, alpaca or none (env DESK_FEED).") var feed: String?
    @Option(name: .customLong("replay-file"), help: "CSV or JSON-lines file for --feed replay.") var replayFile: String?
    @Option(name: .customLong("replay-speed"), help: "recorded (default), fast, or a factor like 10x.")
    var replaySpeed: String?
    @Option(name: .customLong("feed-rate"), help: "Synthetic ticks per second (default 20; 0 = as fast as possible).")
    var feedRate: Double?
    @Option(name: .customLong("feed-seed"), help: "Synthetic feed seed (default 1).") var feedSeed: UInt64?
    @Option(
        help:
            "Synthetic symbols and start prices, e.g. AAPL=190,MSFT=420; for --feed alpaca the symbols streamed to strategies that want every symbol (env DESK_SYMBOLS)."
    ) var symbols: String?
}

/// How strategies run.
struct RuntimeOptions: ParsableArguments {
    @Option(name: .customLong("strategies-dir"), help: "Supervise the strategies in this folder (env STRATEGIES_DIR).")
    var strategiesDir: String?
    @Option(name: .customLong("logs-dir"), help: "Strategy logs (default: logs/ beside the database).") var logsDir:
        String?
    @Option(help: "Python interpreter for strategies (env DESK_PYTHON; default /usr/bin/python3).") var python: String?
    @Option(name: .customLong("python-path"), help: "PYTHONPATH for strategies (env DESK_PYTHONPATH).")
    var pythonPath: String?
    @Flag(
        name: .customLong("no-sandbox"),
        help:
            "Run strategies as the desk's own user, without namespaces, limits or separate users (otherwise strategies do not start where the sandbox cannot be built)."
    )
    var noSandbox = false
    @Option(
        name: .customLong("stop-grace"), help: "Seconds a stopped strategy has between SIGTERM and SIGKILL (default 5)."
    )
    var stopGrace: Double?
    @Option(
        help: "What runs strategies without a runtime in config.json: process (default) or docker (env DESK_RUNTIME).")
    var runtime: String?
    @Option(
        name: .customLong("docker-image"), help: "Strategy image (env DOCKER_IMAGE; default trading-desk-strategy).")
    var dockerImage: String?
    @Option(
        name: .customLong("docker-network"),
        help:
            "Put containers on this Docker network and let them reach the desk over TCP (env NETWORK_NAME; default: no network, the desk's unix socket)."
    )
    var dockerNetwork: String?
    @Option(
        name: .customLong("docker-desk-url"),
        help: "How containers on --docker-network reach the desk, e.g. http://desk:8080 (env DESK_CONTAINER_URL).")
    var dockerDeskURL: String?
}

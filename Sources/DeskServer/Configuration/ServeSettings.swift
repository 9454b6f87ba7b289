import DeskBroker
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

    public init(
        host: String? = nil, port: Int? = nil, unixSocket: String? = nil, databasePath: String? = nil,
        configFile: String? = nil, trustUserHeader: Bool = false, noGroupCommit: Bool = false
    ) {
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
        if let port {
            configuration.port = port
        } else if let raw = environment["PORT"] {
            guard let value = Int(raw) else {
                return .failure(Problem(message: "PORT=\(raw) is not a port number (0-65535)"))
            }
            configuration.port = value
        }
        guard (0...65_535).contains(configuration.port) else {
            return .failure(
                Problem(message: "port \(configuration.port) is out of range: use 0-65535 (0 picks a free port)"))
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
        if let file = configFile ?? environment["DESK_CONFIG"] {
            switch DeskConfigFile.load(path: file) {
            case .success(let loaded):
                configuration.risk = loaded.risk
                configuration.session = loaded.session
            case .failure(let problem):
                return .failure(Problem(message: "config file \(problem)"))
            }
        }
        return .success(configuration)
    }
}

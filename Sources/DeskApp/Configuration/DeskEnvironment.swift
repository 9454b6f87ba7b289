import ArgumentParser
import DeskCore
import DeskLedger
import Foundation

/// Every environment variable the desk reads, in one table: the flag each one
/// stands in for (a flag wins over its variable), and what it means. `desk serve
/// --help` and the README list them from here.
public enum DeskVariable: String, CaseIterable, Sendable {
    case port = "PORT"
    case host = "DESK_HOST"
    case database = "DB_PATH"
    case unixSocket = "DESK_UNIX_SOCKET"
    case socketGroup = "DESK_SOCKET_GROUP"
    case idleTimeout = "DESK_IDLE_TIMEOUT"
    case headerTimeout = "DESK_HEADER_TIMEOUT"
    case bodyTimeout = "DESK_BODY_TIMEOUT"
    case maxConnections = "DESK_MAX_CONNECTIONS"
    case reservedConnections = "DESK_RESERVED_CONNECTIONS"
    case connectionsPerAddress = "DESK_CONNECTIONS_PER_ADDRESS"
    case connectionsPerMember = "DESK_CONNECTIONS_PER_MEMBER"
    case streamAuthTimeout = "DESK_STREAM_AUTH_TIMEOUT"
    case maxBodySize = "DESK_MAX_BODY_SIZE"
    case config = "DESK_CONFIG"
    case trustUserHeader = "DESK_TRUST_USER_HEADER"
    case broker = "DESK_BROKER"
    case feed = "DESK_FEED"
    case symbols = "DESK_SYMBOLS"
    case strategiesDirectory = "STRATEGIES_DIR"
    case python = "DESK_PYTHON"
    case pythonPath = "DESK_PYTHONPATH"
    case runtime = "DESK_RUNTIME"
    case dockerImage = "DOCKER_IMAGE"
    case dockerNetwork = "NETWORK_NAME"
    case dockerDeskURL = "DESK_CONTAINER_URL"
    case docker = "DESK_DOCKER"
    case logLevel = "LOG_LEVEL"
    case serverURL = "DESK_SERVER_URL"
    case adminToken = "DESK_ADMIN_TOKEN"
    case token = "DESK_TOKEN"
    case alpacaKeyID = "APCA_API_KEY_ID"
    case alpacaSecretKey = "APCA_API_SECRET_KEY"
    case alpacaBaseURL = "APCA_API_BASE_URL"
    case alpacaDataURL = "APCA_API_DATA_URL"
    case alpacaDataStreamURL = "APCA_API_DATA_STREAM_URL"
    case alpacaDataFeed = "APCA_DATA_FEED"
    /// `desk backtest` only: `full` brings back a live desk's fsync per commit (to compare).
    case backtestLedgerDurability = "DESK_BACKTEST_LEDGER_DURABILITY"

    /// The flag this variable stands in for, if there is one.
    public var flag: String? {
        switch self {
        case .port: "--port"
        case .host: "--host"
        case .database: "--db"
        case .unixSocket: "--unix-socket"
        case .socketGroup: "--socket-group"
        case .idleTimeout: "--idle-timeout"
        case .headerTimeout: "--header-timeout"
        case .bodyTimeout: "--body-timeout"
        case .maxConnections: "--max-connections"
        case .reservedConnections: "--reserved-connections"
        case .connectionsPerAddress: "--connections-per-address"
        case .connectionsPerMember: "--connections-per-member"
        case .streamAuthTimeout: "--stream-auth-timeout"
        case .maxBodySize: "--max-body-size"
        case .config: "--config"
        case .trustUserHeader: "--trust-user-header"
        case .broker: "--broker"
        case .feed: "--feed"
        case .symbols: "--symbols"
        case .strategiesDirectory: "--strategies-dir"
        case .python: "--python"
        case .pythonPath: "--python-path"
        case .runtime: "--runtime"
        case .dockerImage: "--docker-image"
        case .dockerNetwork: "--docker-network"
        case .dockerDeskURL: "--docker-desk-url"
        case .serverURL: "--server"
        case .adminToken, .token: "--token"
        case .docker, .logLevel, .alpacaKeyID, .alpacaSecretKey, .alpacaBaseURL, .alpacaDataURL,
            .alpacaDataStreamURL, .alpacaDataFeed, .backtestLedgerDurability:
            nil
        }
    }

    /// Read by `desk serve` (the others by the commands that talk to a desk).
    public var isServeSetting: Bool { ![.serverURL, .adminToken, .token, .backtestLedgerDurability].contains(self) }

    /// `PORT`, `DESK_HOST`, …: the variables `desk serve` reads, for its help.
    public static var serveList: String { allCases.filter(\.isServeSetting).map(\.rawValue).joined(separator: ", ") }
}

/// The process environment, read through `DeskVariable`. An empty value counts as unset.
public struct DeskEnvironment: Sendable {
    public var values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) { self.values = values }

    /// The variable's value, if it is set and not empty.
    public subscript(_ variable: DeskVariable) -> String? {
        values[variable.rawValue].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The flag's value if given, else the variable's read by the flag's own rules.
    public func resolve<Value: ExpressibleByArgument>(_ flag: Value?, _ variable: DeskVariable)
        throws(ConfigurationError)
        -> Value?
    {
        if let flag { return flag }
        guard let raw = self[variable] else { return nil }
        guard let value = Value(argument: raw) else {
            let allowed = Value.allValueStrings.isEmpty ? "" : ": use \(Value.allValueStrings.joined(separator: ", "))"
            throw ConfigurationError("\(variable.rawValue)=\(raw) is not a valid \(variable.flag ?? "value")\(allowed)")
        }
        return value
    }

    /// The flag's value if given, else the variable's read by `setting`'s rule.
    public func resolve<Value>(_ flag: Value?, _ setting: Setting<Value>) throws(ConfigurationError) -> Value? {
        if let flag { return flag }
        guard let raw = self[setting.variable] else { return nil }
        do { return try setting.parse(raw, "\(setting.variable.rawValue)=\(raw)") } catch {
            throw ConfigurationError(error.message)
        }
    }
}

extension DeskEnvironment {
    /// The durability of a backtest's ledger: `.backtest` (no fsync per commit, made
    /// whole when it closes) unless `DESK_BACKTEST_LEDGER_DURABILITY` says `full` (a
    /// live desk's fsync per commit, to compare).
    public func backtestLedgerDurability() throws(ConfigurationError) -> LedgerDurability {
        guard let raw = self[.backtestLedgerDurability] else { return .backtest }
        guard let durability = LedgerDurability(rawValue: raw) else {
            throw ConfigurationError(
                "\(DeskVariable.backtestLedgerDurability.rawValue)=\(raw) is not a ledger durability: use \(LedgerDurability.allCases.map(\.rawValue).joined(separator: " or "))"
            )
        }
        return durability
    }
}

/// A setting whose flag and environment variable are read by one rule, with
/// messages that name whichever was given (`--idle-timeout 0 …`, `DESK_IDLE_TIMEOUT=0 …`).
public struct Setting<Value>: Sendable {
    public let flag: String
    public let variable: DeskVariable
    /// Reads the text; the second argument names its source for the message.
    let parse: @Sendable (_ text: String, _ source: String) throws(SettingProblem) -> Value

    /// The flag's transform (`@Option(transform:)`): refusals are usage errors.
    public var transform: @Sendable (String) throws -> Value {
        { [self] text in
            do throws(SettingProblem) { return try parse(text, "\(flag) \(text)") } catch {
                throw ValidationError(error.message)
            }
        }
    }

}

extension Setting where Value == Int {
    /// A whole number within `range`; `hint` follows the range in messages.
    public static func wholeNumber(_ variable: DeskVariable, range: ClosedRange<Int>, hint: String = "") -> Setting {
        Setting(flag: variable.flag!, variable: variable) { text, source throws(SettingProblem) in
            let allowed = "\(range.lowerBound)-\(range.upperBound)\(hint)"
            guard let number = Int(text) else {
                throw SettingProblem("\(source) is not a whole number: use \(allowed)")
            }
            guard range.contains(number) else { throw SettingProblem("\(source) is out of range: use \(allowed)") }
            return number
        }
    }
}

extension Setting where Value == Duration {
    /// Seconds above 0 and at most a day, decimals allowed (`0.5`), in the desk's one decimal syntax.
    public static func seconds(_ variable: DeskVariable) -> Setting {
        Setting(flag: variable.flag!, variable: variable) { text, source throws(SettingProblem) in
            guard case .success(let seconds) = ExactDecimal.parse(text), seconds > 0, seconds <= 86_400 else {
                throw SettingProblem("\(source) must be a number of seconds above 0 and at most 86400, e.g. 30 or 0.5")
            }
            let milliseconds = NSDecimalNumber(decimal: ExactDecimal.rounded(seconds * 1000, scale: 0)).int64Value
            return .milliseconds(max(milliseconds, 1))
        }
    }
}

/// Why a setting's text cannot be used.
public struct SettingProblem: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// A configuration that cannot be used: a setting, an environment variable, the
/// config file. `desk serve` prints it as `Error: …` and exits 1.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

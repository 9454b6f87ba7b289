import DeskCore
import Foundation

/// Resource limits for one strategy, whichever backend runs it.
public struct StrategyLimits: Sendable, Equatable {
    /// Memory, bytes (`"memory": "512m"`); nil: the backend's default. The process
    /// backend limits address space (default 1g), the docker backend the
    /// container's memory (default 512m).
    public var memoryBytes: UInt64?
    /// CPU seconds before the kernel stops it (`"cpu_seconds": 3600`).
    public var cpuSeconds: UInt64
    /// Processes and threads (`"max_processes": 64`).
    public var maxProcesses: UInt64
    /// Open files (`"open_files": 256`).
    public var openFiles: UInt64
    /// Share of CPUs (`"cpus": 0.5`), docker backend only; nil: its default (0.5).
    public var cpus: Double?
    /// Its disk, bytes (`"disk": "256m"`): HOME, `/tmp`, `/var/tmp` and `/dev/shm`
    /// together, and the largest file it may write; nil: the desk's default
    /// (`SandboxOptions.privateFolderBytes`; docker: `ContainerSpec.defaultDiskBytes`, its HOME's size).
    public var diskBytes: UInt64?

    /// The process backend's address space limit when config.json sets none.
    public static let defaultAddressSpace: UInt64 = 1 << 30

    public init(
        memoryBytes: UInt64? = nil, cpuSeconds: UInt64 = 86_400, maxProcesses: UInt64 = 64, openFiles: UInt64 = 256,
        cpus: Double? = nil, diskBytes: UInt64? = nil
    ) {
        self.diskBytes = diskBytes
        self.memoryBytes = memoryBytes
        self.cpuSeconds = cpuSeconds
        self.maxProcesses = maxProcesses
        self.openFiles = openFiles
        self.cpus = cpus
    }
}

/// When a strategy that exits is started again.
public struct RestartSettings: Sendable, Equatable {
    public enum Policy: String, Sendable {
        /// Only after a non-zero exit or a signal.
        case onFailure = "on-failure"
        /// After any exit.
        case always
        /// Never.
        case never
    }

    public var policy: Policy
    /// Restarts in a row (without a stable run between) before the strategy is marked failed.
    public var maxRestarts: Int
    public var backoffInitial: Duration
    public var backoffMax: Duration
    /// A run this long resets the count of restarts in a row.
    public var stableAfter: Duration

    /// The most restarts in a row a config.json may ask for.
    public static let maximumRestarts = 100
    /// The shortest backoff a config.json may ask for, seconds: with `maximumRestarts`,
    /// what keeps a strategy that exits at once from restarting many times a second.
    public static let minimumBackoffSeconds = 0.5
    /// The longest backoff a config.json may ask for, seconds (a day).
    public static let maximumBackoffSeconds = 86_400.0

    public init(
        policy: Policy = .onFailure, maxRestarts: Int = 5, backoffInitial: Duration = .seconds(1),
        backoffMax: Duration = .seconds(60), stableAfter: Duration = .seconds(60)
    ) {
        self.policy = policy
        self.maxRestarts = maxRestarts
        self.backoffInitial = backoffInitial
        self.backoffMax = backoffMax
        self.stableAfter = stableAfter
    }
}

/// What a strategy may ask to read on stdin besides market data (config.json's `events`).
public enum StrategyEvent: String, Sendable, CaseIterable {
    /// Its own orders' fills, cancels, expiries and rejections, as lines
    /// (`OrderEventLine`) merged into its feed in order.
    case fills
}

/// A strategy's `config.json`: the original's keys (`user_id`, `name`,
/// `description`, `version`, `env`) plus `symbols`, `limits`, `restart`, `runtime`, `events`.
public struct StrategyConfig: Sendable, Equatable {
    public var member: String
    public var name: String
    public var description: String
    public var version: String
    public var environment: [String: String]
    /// Symbols whose market data it receives; nil for all.
    public var symbols: Set<String>?
    public var limits: StrategyLimits
    public var restart: RestartSettings
    /// `process` or `docker`; nil: the desk's default (`desk serve --runtime`).
    public var runtime: StrategyRuntime?
    /// What it reads on stdin besides market data; empty (the default): market data only.
    public var events: Set<StrategyEvent>

    /// The configuration of a strategy folder without a config.json: the folder names the member.
    public static func defaults(folder: String) -> StrategyConfig {
        StrategyConfig(
            member: folder, name: folder, description: "", version: "", environment: [:], symbols: nil,
            limits: StrategyLimits(), restart: RestartSettings(), runtime: nil, events: [])
    }

    /// Environment names the desk sets itself; config.json may not override them.
    public static let reservedEnvironment: Set<String> = [
        "DESK_SERVER_URL", "DESK_TOKEN", "USER_ID", "STRATEGY_NAME", "PATH", "PYTHONPATH", "HOME", "TMPDIR", "LANG",
        "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE",
    ]

    /// The interpreter's variables config.json may set: they change how it
    /// behaves, never what code it loads.
    public static let allowedPythonVariables: Set<String> = [
        "PYTHONHASHSEED", "PYTHONIOENCODING", "PYTHONWARNINGS", "PYTHONFAULTHANDLER", "PYTHONUTF8",
    ]

    /// Variables that make the C library, a shell or an interpreter load or run
    /// something else (besides every `LD_*`, `GLIBC_*`, `MALLOC_*` and `PYTHON*` one).
    static let loaderVariables: Set<String> = [
        "GCONV_PATH", "HOSTALIASES", "LOCALDOMAIN", "RES_OPTIONS", "NLSPATH", "LOCPATH", "TZDIR", "OPENSSL_CONF",
        "OPENSSL_MODULES", "BASH_ENV", "ENV", "IFS", "SHELLOPTS", "PS4", "PERL5LIB", "PERLLIB", "PERL5OPT", "RUBYLIB",
        "RUBYOPT", "NODE_OPTIONS", "NODE_PATH", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "CLASSPATH",
    ]

    /// Why config.json may not set the variable `name`, or nil when it may.
    ///
    /// An allow-list of shape (`A-Z`, digits and `_`, as environment names are
    /// written), then every family of names the desk, the dynamic loader, the C
    /// library or an interpreter reads to decide what runs. The sandbox launcher
    /// gives the environment to the strategy's own process only, after every
    /// protection; this rule keeps even that process running the code its folder holds.
    public static func environmentRefusal(_ name: String) -> String? {
        guard let first = name.unicodeScalars.first, ("A"..."Z").contains(first) || first == "_",
            name.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        else {
            return "an environment name is capital letters, digits and _, starting with a letter or _"
        }
        if reservedEnvironment.contains(name) { return "the desk sets it itself" }
        if name.hasPrefix("DESK_") || name.hasPrefix("APCA_") { return "DESK_* and APCA_* names are the desk's own" }
        if name.hasPrefix("LD_") { return "LD_* variables change what the dynamic loader loads into the process" }
        if name.hasPrefix("GLIBC_") || name.hasPrefix("MALLOC_") {
            return "GLIBC_* and MALLOC_* variables change how the C library behaves"
        }
        if name.hasPrefix("PYTHON") && !allowedPythonVariables.contains(name) {
            return
                "PYTHON* variables change what the interpreter loads and runs; allowed: \(allowedPythonVariables.sorted().joined(separator: ", "))"
        }
        if loaderVariables.contains(name) { return "it makes the C library, a shell or an interpreter load other code" }
        return nil
    }

    /// Reads config.json's bytes for the strategy in `folder` (which names the
    /// member when the file does not); `path` labels problems, which carry the
    /// line, column and key at fault; `runtimes` are those its `runtime` may name.
    public static func parse(
        _ bytes: [UInt8], folder: String, path: String, runtimes: StrategyRuntimes = .standard
    ) -> Result<StrategyConfig, ConfigProblem> {
        var decoder = StrictJSONDecoder()
        decoder.userInfo[folderKey] = folder
        decoder.userInfo[StrategyRuntimes.userInfoKey] = runtimes
        do {
            return .success(try decoder.decode(StrategyConfig.self, from: bytes))
        } catch {
            if error.path.isEmpty {
                return .failure(
                    ConfigProblem(
                        path: path, line: error.line, column: error.column, key: nil,
                        message: "not valid JSON: \(error.message)"))
            }
            let message =
                error.allowedKeys.map { "unknown key; allowed: \($0.joined(separator: ", "))" } ?? error.message
            return .failure(
                ConfigProblem(path: path, line: error.line, column: error.column, key: error.key, message: message))
        }
    }

    /// `parse` of a text.
    public static func parse(_ text: String, folder: String, path: String) -> Result<StrategyConfig, ConfigProblem> {
        parse(Array(text.utf8), folder: folder, path: path)
    }

    /// Where `init(from:)` finds the strategy's folder name (`Decoder.userInfo`).
    public static let folderKey = CodingUserInfoKey(rawValue: "desk.strategy-folder")!

    /// `"512m"`, `"1g"`, `"65536k"`, `"1048576"` → bytes.
    static func parseBytes(_ text: String) -> UInt64? {
        let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
        let units: [(String, UInt64)] = [("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10), ("b", 1)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let value = UInt64(lower.dropLast()), value > 0 else { return nil }
            return value * factor
        }
        return UInt64(lower).flatMap { $0 > 0 ? $0 : nil }
    }
}

/// A config.json that cannot be used: file, line, key and what is wrong.
public struct ConfigProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    /// Where in the file (1-based); nil for a problem with the folder itself.
    public var line: Int?
    public var column: Int?
    public var key: String?
    public var message: String

    public init(path: String, line: Int? = nil, column: Int? = nil, key: String?, message: String) {
        self.path = path
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    /// `path:line:column: "key": message`.
    public var description: String {
        let position = [line, column].compactMap { $0 }.map { ":\($0)" }.joined()
        return "\(path)\(position): \(key.map { "\"\($0)\": " } ?? "")\(message)"
    }
}

extension StrategyConfig: Decodable {
    enum Keys: String, CodingKey {
        case member, userId = "user_id", name, description, version, env, symbols, limits, restart, runtime
        case events
    }

    /// config.json's keys: `member` (or the seed's `user_id`), `name`, `description`,
    /// `version`, `env`, `symbols`, `limits`, `restart`, `runtime`, `events` (a list of
    /// `StrategyEvent` names, e.g. `["fills"]`); each optional.
    public init(from decoder: any Decoder) throws {
        self = .defaults(folder: decoder.userInfo[Self.folderKey] as? String ?? "")
        let container = try decoder.container(keyedBy: Keys.self)
        if let member = try decoder.decodeIfPresent(String.self, "member", alias: "user_id") {
            guard Identifier.isSafe(member) else {
                let key: Keys = container.contains(.member) ? .member : .userId
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container, debugDescription: "must be a member id: \(Identifier.rule)")
            }
            self.member = member
        }
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? name
        description = try container.decodeIfPresent(String.self, forKey: .description) ?? description
        version = try container.decodeIfPresent(String.self, forKey: .version) ?? version
        if container.contains(.env) {
            let env = try container.nestedContainer(keyedBy: NamedKey.self, forKey: .env)
            for key in env.allKeys {
                let value = try env.decode(String.self, forKey: key)
                if let refusal = Self.environmentRefusal(key.stringValue) {
                    throw DecodingError.dataCorruptedError(
                        forKey: key, in: env, debugDescription: "env \(key.stringValue) is refused: \(refusal)")
                }
                environment[key.stringValue] = value
            }
        }
        if let list = try? container.decodeIfPresent([String].self, forKey: .symbols) {
            guard !list.isEmpty else {
                throw DecodingError.dataCorruptedError(
                    forKey: .symbols, in: container,
                    debugDescription: "must be a non-empty list of tickers, e.g. [\"AAPL\"]")
            }
            for symbol in list {
                do { _ = try OrderValidation.validateSymbol(symbol) } catch {
                    throw DecodingError.dataCorruptedError(
                        forKey: .symbols, in: container, debugDescription: error.message)
                }
            }
            symbols = Set(list)
        } else if container.contains(.symbols) {
            throw DecodingError.dataCorruptedError(
                forKey: .symbols, in: container,
                debugDescription: "must be a non-empty list of tickers, e.g. [\"AAPL\"]")
        }
        limits = try container.decodeIfPresent(StrategyLimits.self, forKey: .limits) ?? limits
        restart = try container.decodeIfPresent(RestartSettings.self, forKey: .restart) ?? restart
        if container.contains(.runtime) {
            let runtimes = decoder.userInfo[StrategyRuntimes.userInfoKey] as? StrategyRuntimes ?? .standard
            guard let text = try? container.decode(String.self, forKey: .runtime),
                let runtime = StrategyRuntime(rawValue: text), runtimes[runtime] != nil
            else {
                throw DecodingError.dataCorruptedError(
                    forKey: .runtime, in: container,
                    debugDescription: "must be one of \(runtimes.names.map { "\"\($0)\"" }.joined(separator: ", "))")
            }
            self.runtime = runtime
        }
        if container.contains(.events) {
            let allowed = StrategyEvent.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            guard let names = try? container.decode([String].self, forKey: .events) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .events, in: container,
                    debugDescription: "must be a list of event names, e.g. [\"fills\"]; allowed: \(allowed)")
            }
            for name in names {
                guard let event = StrategyEvent(rawValue: name) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .events, in: container,
                        debugDescription: "unknown event \(OrderValidation.quoted(name)); allowed: \(allowed)")
                }
                events.insert(event)
            }
        }
    }
}

extension StrategyLimits: Decodable {
    enum Keys: String, CodingKey {
        case memory, cpuSeconds = "cpu_seconds", maxProcesses = "max_processes", openFiles = "open_files", cpus
        case disk
    }

    /// `limits`: `memory` and `disk` (`"512m"`), `cpu_seconds`, `max_processes`, `open_files` (positive whole numbers),
    /// `cpus` (a share of CPUs, docker only); the defaults for what is left out.
    public init(from decoder: any Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: Keys.self)
        if container.contains(.memory) {
            guard let text = try? container.decode(String.self, forKey: .memory),
                let bytes = StrategyConfig.parseBytes(text)
            else {
                throw DecodingError.dataCorruptedError(
                    forKey: .memory, in: container,
                    debugDescription: "limits.memory must be a size such as \"512m\" or \"1g\"")
            }
            memoryBytes = bytes
        }
        if container.contains(.disk) {
            guard let text = try? container.decode(String.self, forKey: .disk),
                let bytes = StrategyConfig.parseBytes(text), bytes >= 1 << 20
            else {
                throw DecodingError.dataCorruptedError(
                    forKey: .disk, in: container,
                    debugDescription: "limits.disk must be a size of at least 1m, such as \"256m\" or \"1g\"")
            }
            diskBytes = bytes
        }
        for (key, keyPath) in [
            (Keys.cpuSeconds, \Self.cpuSeconds), (.maxProcesses, \.maxProcesses), (.openFiles, \.openFiles),
        ]
        where container.contains(key) {
            guard let whole = try? container.decode(UInt64.self, forKey: key), whole > 0 else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container,
                    debugDescription: "limits.\(key.rawValue) must be a positive whole number")
            }
            self[keyPath: keyPath] = whole
        }
        if container.contains(.cpus) {
            guard let share = try? container.decode(Double.self, forKey: .cpus), share > 0, share.isFinite else {
                throw DecodingError.dataCorruptedError(
                    forKey: .cpus, in: container,
                    debugDescription: "limits.cpus must be a number > 0, e.g. 0.5 (a share of CPUs)")
            }
            cpus = share
        }
    }
}

extension RestartSettings: Decodable {
    enum Keys: String, CodingKey {
        case policy, maxRestarts = "max_restarts", backoffInitial = "backoff_initial_seconds"
        case backoffMax = "backoff_max_seconds"
    }

    /// `restart`: `policy` (`on-failure`, `always`, `never`), `max_restarts`, and the
    /// backoff's `backoff_initial_seconds` and `backoff_max_seconds`.
    public init(from decoder: any Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: Keys.self)
        if container.contains(.policy) {
            guard let text = try? container.decode(String.self, forKey: .policy), let policy = Policy(rawValue: text)
            else {
                throw DecodingError.dataCorruptedError(
                    forKey: .policy, in: container,
                    debugDescription: "restart.policy must be \"on-failure\", \"always\" or \"never\"")
            }
            self.policy = policy
        }
        if container.contains(.maxRestarts) {
            guard let count = try? container.decode(Int.self, forKey: .maxRestarts),
                (0...Self.maximumRestarts).contains(count)
            else {
                throw DecodingError.dataCorruptedError(
                    forKey: .maxRestarts, in: container,
                    debugDescription: "restart.max_restarts must be a whole number from 0 to \(Self.maximumRestarts)")
            }
            maxRestarts = count
        }
        for (key, keyPath) in [(Keys.backoffInitial, \Self.backoffInitial), (.backoffMax, \.backoffMax)]
        where container.contains(key) {
            guard let seconds = try? container.decode(Double.self, forKey: key),
                (Self.minimumBackoffSeconds...Self.maximumBackoffSeconds).contains(seconds)
            else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container,
                    debugDescription:
                        "restart.\(key.rawValue) must be a number of seconds from \(Self.minimumBackoffSeconds) to \(Int(Self.maximumBackoffSeconds))"
                )
            }
            self[keyPath: keyPath] = .seconds(seconds)
        }
    }
}

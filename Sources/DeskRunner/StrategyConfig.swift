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

    /// The process backend's address space limit when config.json sets none.
    public static let defaultAddressSpace: UInt64 = 1 << 30

    public init(
        memoryBytes: UInt64? = nil, cpuSeconds: UInt64 = 86_400, maxProcesses: UInt64 = 64, openFiles: UInt64 = 256,
        cpus: Double? = nil
    ) {
        self.memoryBytes = memoryBytes
        self.cpuSeconds = cpuSeconds
        self.maxProcesses = maxProcesses
        self.openFiles = openFiles
        self.cpus = cpus
    }
}

/// What runs a strategy: a sandboxed child process or a Docker container.
public enum StrategyRuntime: String, Sendable, CaseIterable {
    case process, docker
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

/// A strategy's `config.json`: the original's keys (`user_id`, `name`,
/// `description`, `version`, `env`) plus `symbols`, `limits`, `restart`, `runtime`.
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

    /// The configuration of a strategy folder without a config.json: the folder names the member.
    public static func defaults(folder: String) -> StrategyConfig {
        StrategyConfig(
            member: folder, name: folder, description: "", version: "", environment: [:], symbols: nil,
            limits: StrategyLimits(), restart: RestartSettings(), runtime: nil)
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

    static let knownKeys = [
        "user_id", "name", "description", "version", "env", "symbols", "limits", "restart", "runtime",
    ]

    /// Parses config.json text for the strategy in `folder`; `path` labels errors.
    public static func parse(_ text: String, folder: String, path: String) -> Result<StrategyConfig, ConfigProblem> {
        var config = defaults(folder: folder)
        do throws(StrictJSON.Problem) {
            try StrictJSON.check(text)
        } catch {
            return .failure(
                ConfigProblem(
                    path: path, line: error.line, column: error.column, key: nil,
                    message: "not valid JSON: \(error.message)"))
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            return .failure(
                ConfigProblem(path: path, line: 1, key: nil, message: "the top level must be a JSON object"))
        }
        func problem(_ key: String, _ message: String) -> ConfigProblem {
            ConfigProblem(path: path, line: JSONErrorPosition.line(ofKey: key, in: text), key: key, message: message)
        }
        if let unknown = object.keys.sorted().first(where: { !knownKeys.contains($0) }) {
            return .failure(
                problem(unknown, "unknown key; allowed: \(knownKeys.joined(separator: ", "))"))
        }
        if let value = object["user_id"] {
            guard let member = value as? String, Identifier.isSafe(member) else {
                return .failure(problem("user_id", "must be a member id: \(Identifier.rule)"))
            }
            config.member = member
        }
        for key in ["name", "description", "version"] {
            guard let value = object[key] else { continue }
            guard let text = value as? String else { return .failure(problem(key, "must be a string")) }
            switch key {
            case "name": config.name = text
            case "description": config.description = text
            default: config.version = text
            }
        }
        if let value = object["env"] {
            guard let env = value as? [String: Any] else {
                return .failure(problem("env", "must be an object of NAME: \"value\" strings"))
            }
            for (name, raw) in env.sorted(by: { $0.key < $1.key }) {
                guard let string = raw as? String else {
                    return .failure(problem(name, "env \(name) must be a string (write numbers in quotes)"))
                }
                if let refusal = environmentRefusal(name) {
                    return .failure(problem(name, "env \(name) is refused: \(refusal)"))
                }
                config.environment[name] = string
            }
        }
        if let value = object["symbols"] {
            guard let list = value as? [String], !list.isEmpty else {
                return .failure(problem("symbols", "must be a non-empty list of tickers, e.g. [\"AAPL\"]"))
            }
            for symbol in list {
                do { _ = try OrderValidation.validateSymbol(symbol) } catch {
                    return .failure(problem("symbols", error.message))
                }
            }
            config.symbols = Set(list)
        }
        if let value = object["limits"] {
            guard let limits = value as? [String: Any] else { return .failure(problem("limits", "must be an object")) }
            for (key, raw) in limits.sorted(by: { $0.key < $1.key }) {
                switch key {
                case "memory":
                    guard let text = raw as? String, let bytes = parseBytes(text) else {
                        return .failure(problem("memory", "limits.memory must be a size such as \"512m\" or \"1g\""))
                    }
                    config.limits.memoryBytes = bytes
                case "cpu_seconds", "max_processes", "open_files":
                    guard let number = raw as? NSNumber, !(raw is Bool),
                        let whole = UInt64(exactly: number.doubleValue),
                        whole > 0
                    else {
                        return .failure(problem(key, "limits.\(key) must be a positive whole number"))
                    }
                    switch key {
                    case "cpu_seconds": config.limits.cpuSeconds = whole
                    case "max_processes": config.limits.maxProcesses = whole
                    default: config.limits.openFiles = whole
                    }
                case "cpus":
                    guard let number = raw as? NSNumber, !(raw is Bool), number.doubleValue > 0,
                        number.doubleValue.isFinite
                    else {
                        return .failure(problem(key, "limits.cpus must be a number > 0, e.g. 0.5 (a share of CPUs)"))
                    }
                    config.limits.cpus = number.doubleValue
                default:
                    return .failure(
                        problem(
                            key,
                            "unknown limit \"\(key)\"; allowed: memory, cpu_seconds, max_processes, open_files, cpus"))
                }
            }
        }
        if let value = object["restart"] {
            guard let restart = value as? [String: Any] else {
                return .failure(problem("restart", "must be an object"))
            }
            for (key, raw) in restart.sorted(by: { $0.key < $1.key }) {
                switch key {
                case "policy":
                    guard let text = raw as? String, let policy = RestartSettings.Policy(rawValue: text) else {
                        return .failure(
                            problem("policy", "restart.policy must be \"on-failure\", \"always\" or \"never\""))
                    }
                    config.restart.policy = policy
                case "max_restarts", "backoff_initial_seconds", "backoff_max_seconds":
                    guard let number = raw as? NSNumber, !(raw is Bool), number.doubleValue >= 0 else {
                        return .failure(problem(key, "restart.\(key) must be a number ≥ 0"))
                    }
                    switch key {
                    case "max_restarts": config.restart.maxRestarts = number.intValue
                    case "backoff_initial_seconds": config.restart.backoffInitial = .seconds(number.doubleValue)
                    default: config.restart.backoffMax = .seconds(number.doubleValue)
                    }
                default:
                    return .failure(
                        problem(
                            key,
                            "unknown restart setting \"\(key)\"; allowed: policy, max_restarts, backoff_initial_seconds, backoff_max_seconds"
                        ))
                }
            }
        }
        if let value = object["runtime"] {
            guard let text = value as? String, let runtime = StrategyRuntime(rawValue: text) else {
                return .failure(problem("runtime", "must be \"process\" or \"docker\""))
            }
            config.runtime = runtime
        }
        return .success(config)
    }

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

/// Finding where in a JSON text something is, for error messages.
enum JSONErrorPosition {
    /// The line where `"key"` first appears as a key (1 when it cannot be found).
    static func line(ofKey key: String, in text: String) -> Int {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where line.contains("\"\(key)\"") {
            return index + 1
        }
        return 1
    }
}

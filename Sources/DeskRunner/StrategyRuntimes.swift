import Foundation

/// What runs a strategy, by name: `process` (a sandboxed child process),
/// `docker` (a container), or any runtime a desk registers (`StrategyRuntimes`),
/// the way a Kubernetes backend would plug in. config.json's `runtime` and
/// `--runtime` name one.
public struct StrategyRuntime: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// A runtime's name: lowercase letters, digits, `-` and `_`, starting with a letter; nil otherwise.
    public init?(rawValue: String) {
        guard let first = rawValue.first, first.isLowercase, first.isASCII,
            rawValue.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") })
        else { return nil }
        self.rawValue = rawValue
    }

    private init(known: String) { rawValue = known }

    /// A sandboxed child process of the desk (`ProcessBackend`).
    public static let process = StrategyRuntime(known: "process")
    /// A Docker container (`DockerBackend`).
    public static let docker = StrategyRuntime(known: "docker")

    public var description: String { rawValue }
}

/// What a runtime's factory builds its backend from.
public struct RuntimeContext: Sendable {
    /// The supervisor's configuration (docker settings, sandbox, Python).
    public var configuration: SupervisorConfiguration
    /// The sandbox as probed once for this desk.
    public var plan: SandboxPlan
    /// The sandbox launcher, when it is installed (containers start through it to get clean signals).
    public var launcher: String? {
        FileManager.default.isExecutableFile(atPath: plan.launcher) ? plan.launcher : nil
    }

    /// A context for `configuration` and its probed `plan`.
    public init(configuration: SupervisorConfiguration, plan: SandboxPlan) {
        self.configuration = configuration
        self.plan = plan
    }
}

/// One strategy runtime: its name, the factory of its backend, and where an
/// Alpaca SDK inside one of its strategies reaches the desk.
public struct RuntimeRegistration: Sendable {
    public var runtime: StrategyRuntime
    /// The backend, or nil when this desk cannot offer the runtime (docker without its settings).
    public var makeBackend: @Sendable (RuntimeContext) -> (any StrategyBackend)?
    /// The desk's Alpaca-compatible API as a strategy of this runtime reaches it; nil: it cannot.
    public var alpacaURL: @Sendable (SupervisorConfiguration) -> String?

    /// A runtime named `runtime`, built by `makeBackend`.
    public init(
        _ runtime: StrategyRuntime, alpacaURL: @escaping @Sendable (SupervisorConfiguration) -> String? = { _ in nil },
        makeBackend: @escaping @Sendable (RuntimeContext) -> (any StrategyBackend)?
    ) {
        self.runtime = runtime
        self.alpacaURL = alpacaURL
        self.makeBackend = makeBackend
    }
}

/// The runtimes a desk offers, each registered with its factory: the runtime
/// registry. A new runtime is a `StrategyBackend` and one registration; the
/// supervisor and the configuration know none by name.
public struct StrategyRuntimes: Sendable {
    /// Every registration, in the order registered.
    public private(set) var all: [RuntimeRegistration] = []

    /// No runtimes yet.
    public init() {}

    /// `process` and `docker`: what `desk serve` offers.
    public static let standard = StrategyRuntimes()
        .registering(RuntimeRegistration(.process, alpacaURL: \.alpacaURL) { ProcessBackend(plan: $0.plan) })
        .registering(
            RuntimeRegistration(.docker, alpacaURL: DockerBackend.alpacaURL) { context in
                context.configuration.docker.map { DockerBackend(settings: $0, launcher: context.launcher) }
            })

    /// These runtimes and `registration` (replacing one of the same name).
    public func registering(_ registration: RuntimeRegistration) -> StrategyRuntimes {
        var runtimes = self
        runtimes.all.removeAll { $0.runtime == registration.runtime }
        runtimes.all.append(registration)
        return runtimes
    }

    /// The registration of `runtime`, when there is one.
    public subscript(runtime: StrategyRuntime) -> RuntimeRegistration? { all.first { $0.runtime == runtime } }

    /// Where `StrategyConfig.parse` hands the runtimes to the config it decodes.
    static let userInfoKey = CodingUserInfoKey(rawValue: "desk.strategy-runtimes")!

    /// Every registered runtime's name, in the order registered.
    public var names: [String] { all.map(\.runtime.rawValue) }

    /// The backends this desk can offer, by runtime.
    public func backends(_ context: RuntimeContext) -> [StrategyRuntime: any StrategyBackend] {
        var backends: [StrategyRuntime: any StrategyBackend] = [:]
        for registration in all { backends[registration.runtime] = registration.makeBackend(context) }
        return backends
    }
}

extension DockerBackend {
    /// A container reaches the desk only on a named Docker network (at its desk URL); with no network, not at all.
    @Sendable static func alpacaURL(_ configuration: SupervisorConfiguration) -> String? {
        guard case .named(_, let url)? = configuration.docker?.network else { return nil }
        return url
    }
}

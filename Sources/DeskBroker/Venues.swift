import DeskCore
import Foundation
import Logging

/// Why venues cannot be configured or built as given: the message says what was
/// wrong and what is allowed.
public struct VenueConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What every venue factory builds with, besides its own settings.
public struct VenueContext: Sendable {
    /// The desk's last prices (paper venues fill from them).
    public var prices: PriceBook
    /// Where times come from: the wall clock, or a backtest's data.
    public var clock: any DeskClock
    public var logger: Logger

    /// A context over `prices` and `clock`.
    public init(prices: PriceBook, clock: any DeskClock = WallClock(), logger: Logger) {
        self.prices = prices
        self.clock = clock
        self.logger = logger
    }
}

/// One kind of venue: its settings as read from a `venues` entry of the config
/// file (the keys besides `broker` and `requires_approval`), and the factory
/// that builds a venue from them. A new broker is one type conforming to this,
/// registered in `VenueKinds`.
public protocol VenueSettings: Sendable, Decodable {
    /// The kind these settings make (the entry's `broker`).
    static var kind: VenueKind { get }
    /// These settings with what they name in the environment read (an account's
    /// keys); the error names the variable that is missing.
    func resolved(environment: [String: String]) throws(VenueConfigurationError) -> Self
    /// A venue named `name`, from resolved settings.
    func makeVenue(name: String, context: VenueContext) -> any Venue
    /// The exchange's sessions the venue's broker publishes for `days`, by day; nil when it
    /// publishes none. The desk's calendar takes them in place of its own rules.
    func publishedSessions(_ days: ClosedRange<TradingDay>) async throws -> [TradingDay: SessionHours]?
}

extension VenueSettings {
    /// Settings that name nothing in the environment are resolved already.
    public func resolved(environment: [String: String]) throws(VenueConfigurationError) -> Self { self }

    /// The exchange's sessions the venue's broker publishes for `days` (Alpaca's
    /// `GET /v2/calendar`), by day; nil when it publishes none (the paper broker).
    public func publishedSessions(_ days: ClosedRange<TradingDay>) async throws -> [TradingDay: SessionHours]? {
        nil
    }
}

/// The kinds of venue a desk knows, each with how its settings are read: the
/// venue registry. `DeskApp` registers the standard kinds; a test may register more.
public struct VenueKinds: Sendable {
    /// Reads one kind's settings from a `venues` entry.
    public typealias Reader = @Sendable (any Decoder) throws -> any VenueSettings
    private var readers: [VenueKind: Reader] = [:]

    /// No kinds yet.
    public init() {}

    /// Adds (or replaces) the kind `Settings` makes.
    public mutating func register<Settings: VenueSettings>(_ type: Settings.Type) {
        readers[Settings.kind] = { decoder in try Settings(from: decoder) }
    }

    /// These kinds and the kind `Settings` makes.
    public func registering<Settings: VenueSettings>(_ type: Settings.Type) -> VenueKinds {
        var kinds = self
        kinds.register(type)
        return kinds
    }

    /// How `kind`'s settings are read, when it is registered.
    public func reader(for kind: VenueKind) -> Reader? { readers[kind] }

    /// Every registered kind, in alphabetical order (for messages).
    public var kinds: [VenueKind] { readers.keys.sorted() }
}

/// A venue as configured: its name, its kind's settings, and what issue 25's
/// promotions need to know about it.
public struct VenueConfiguration: Sendable {
    /// The venue's name (`paper`, `live`, `alpaca_b`).
    public var name: String
    /// Its kind's settings (resolved before the desk builds it).
    public var settings: any VenueSettings
    /// A strategy moves to this venue only with an officer's approval.
    public var requiresApproval: Bool
    /// Fewest days a strategy must have traded on the venue it comes from (`promotion.min_paper_days`).
    public var minPaperDays: Int?
    /// Fewest fills it must have there (`promotion.min_fills`).
    public var minFills: Int?

    /// A venue named `name` built from `settings`, with what a strategy moving onto it needs.
    public init(
        name: String, settings: any VenueSettings, requiresApproval: Bool = false, minPaperDays: Int? = nil,
        minFills: Int? = nil
    ) {
        self.name = name
        self.settings = settings
        self.requiresApproval = requiresApproval
        self.minPaperDays = minPaperDays
        self.minFills = minFills
    }

    /// The kind its settings make.
    public var kind: VenueKind { type(of: settings).kind }

    /// The rules a set of venues must keep: names are identifiers and unique, the
    /// default is one of them. Returns the problem, or nil when they are fine.
    public static func problem(names: [String], defaultVenue: String) -> String? {
        var seen: Set<String> = []
        for name in names {
            guard Identifier.isSafe(name) else { return "venue name \"\(name)\" is not a name: \(Identifier.rule)" }
            guard seen.insert(name).inserted else { return "venue \"\(name)\" is configured twice" }
        }
        guard seen.contains(defaultVenue) else {
            return
                "default_venue \"\(defaultVenue)\" is not a configured venue: use one of \(names.sorted().joined(separator: ", "))"
        }
        return nil
    }
}

/// Every venue of one desk, by name, with the one orders go to unless told
/// otherwise (`default_venue`).
public struct Venues: Sendable {
    /// Every venue, in configuration order.
    public let all: [any Venue]
    /// Where orders go by default.
    public let defaultVenue: any Venue

    /// `venues` with `defaultName` as the default; refused when the names break
    /// `VenueConfiguration.problem`'s rules.
    public init(_ venues: [any Venue], defaultName: String) throws(VenueConfigurationError) {
        if let problem = VenueConfiguration.problem(names: venues.map(\.name), defaultVenue: defaultName) {
            throw VenueConfigurationError(problem)
        }
        all = venues
        defaultVenue = venues.first { $0.name == defaultName } ?? venues[0]
    }

    /// Builds each configured venue with its kind's factory.
    public init(
        _ configurations: [VenueConfiguration], defaultName: String, context: VenueContext
    ) throws(VenueConfigurationError) {
        try self.init(
            configurations.map { $0.settings.makeVenue(name: $0.name, context: context) }, defaultName: defaultName)
    }

    /// The venue named `name`.
    public subscript(name: String) -> (any Venue)? { all.first { $0.name == name } }

    /// Every venue's name, in configuration order.
    public var names: [String] { all.map(\.name) }

    /// Ends every venue's updates (the desk is done with them).
    public func finish() { for venue in all { venue.finish() } }
}

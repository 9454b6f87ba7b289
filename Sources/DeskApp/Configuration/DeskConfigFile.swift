import DeskBroker
import DeskCore
import DeskHTTP
import DeskPromotion
import DeskRunner
import DeskServices
import Foundation

/// The desk's JSON config file (`desk serve --config FILE`, `DESK_CONFIG`):
///
/// ```json
/// {
///   "risk": {
///     "defaults": {"max_order_qty": "1000", "max_order_notional": "250000", "max_position": "5000",
///                  "max_open_orders": 50, "orders_per_second": 10, "order_burst": 20,
///                  "allowed_symbols": ["AAPL", "MSFT"], "denied_symbols": ["GME"]},
///     "members": {"alice": {"max_order_qty": "100", "loss": {"live": {"strategy": {"max_daily_loss": "250"}}}}}
///   },
///   "session": {"calendar": "nyse"},
///   "strategies": {
///     "defaults": {"max_strategies": 5, "memory": "1g", "cpu_seconds": 86400, "cpus": 1, "disk": "256m"},
///     "members": {"alice": {"max_strategies": 10}},
///     "upload": {"max_files": 1000, "max_bytes": "16m"}
///   },
///   "web": {"session_hours": 8, "live_interval_seconds": 1, "pnl_interval_seconds": 5, "pnl_retention_days": 90,
///           "sessions_per_member": 20, "max_sessions": 10000},
///   "venues": {
///     "paper": {"broker": "paper"},
///     "live": {"broker": "alpaca", "base_url": "https://api.alpaca.markets",
///              "key_id_variable": "APCA_LIVE_KEY_ID", "secret_key_variable": "APCA_LIVE_SECRET_KEY",
///              "requires_approval": true, "promotion": {"min_paper_days": 5, "min_fills": 20},
///              "loss": {"strategy": {"max_daily_loss": "500", "max_drawdown": "1500"},
///                       "member": {"max_position_value": "20000"}, "on_breach": "demote"}}
///   },
///   "default_venue": "paper",
///   "research": {"concurrency": 1, "member_concurrency": 1, "member_cpu_seconds_per_day": 7200}
/// }
/// ```
/// Each venue's `broker` is a kind registered in `VenueKinds` (`paper`, `alpaca`),
/// which reads the entry's other keys; `paper` is there even when not listed.
/// Decimal limits are strings or whole numbers; `null` removes a default limit.
/// Read by `StrictJSONDecoder`: a key given twice or one the file does not have
/// is an error with its line and column.
public struct DeskConfigFile: Sendable {
    public var risk: RiskPolicy
    public var session: SessionCalendar
    /// What each member's strategies may have at most.
    public var caps = MemberCapsPolicy()
    /// The most a deployed strategy's archive may hold.
    public var upload = ArchiveLimits()
    /// The web desk's sessions, live updates and P&L history.
    public var web = WebSettings()
    /// The venues, in name order, `paper` first (their keys not yet read from the environment);
    /// nil when the file has no `venues`.
    public var venues: [VenueConfiguration]?
    /// Where orders go unless told otherwise (`default_venue`), when the file says.
    public var defaultVenue: String?
    /// The loss rules: each venue's `loss`, with the members' overrides (`risk.members.NAME.loss`).
    public var loss = LossPolicy()
    /// Backtests as a service, the recorded feed, a Ray cluster (`research`).
    public var research = ResearchSettings()

    /// Reads and checks a config file.
    public static func load(path: String, kinds: VenueKinds = .standard) throws(ConfigurationError) -> DeskConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("config file \(path): cannot read the file")
        }
        return try parse(Array(data), path: path, kinds: kinds)
    }

    /// Parses config JSON; `path` only labels errors (`config file desk.json:3:3: …`);
    /// `kinds` are the venue kinds a `venues` entry may name.
    public static func parse(_ bytes: [UInt8], path: String, kinds: VenueKinds = .standard) throws(ConfigurationError)
        -> DeskConfigFile
    {
        let file: File
        var decoder = StrictJSONDecoder()
        decoder.userInfo[VenueKinds.userInfoKey] = kinds
        do { file = try decoder.decode(File.self, from: bytes) } catch {
            throw ConfigurationError("config file \(path):\(error.line):\(error.column): \(error.message)")
        }
        var config = DeskConfigFile(risk: RiskPolicy(), session: SessionCalendar())
        if file.venues != nil || file.defaultVenue != nil {
            var venues = (file.venues ?? [:]).sorted { $0.key < $1.key }.map {
                VenueConfiguration(
                    name: $0.key, settings: $0.value.settings, requiresApproval: $0.value.requiresApproval,
                    minPaperDays: $0.value.promotion?.minPaperDays?.value, minFills: $0.value.promotion?.minFills?.value
                )
            }
            let paper = DeskConfiguration.paperVenue
            if let index = venues.firstIndex(where: { $0.name == paper }) {
                guard venues[index].kind == .paper else {
                    throw ConfigurationError(
                        "config file \(path): venues.\(paper) is the desk's embedded paper broker: its broker must be \"paper\", not \"\(venues[index].kind)\" (give the account another name)"
                    )
                }
                venues.insert(venues.remove(at: index), at: 0)
            } else {
                venues.insert(VenueConfiguration(name: paper, settings: PaperVenue.Settings()), at: 0)
            }
            let defaultVenue = file.defaultVenue ?? paper
            if let problem = VenueConfiguration.problem(names: venues.map(\.name), defaultVenue: defaultVenue) {
                throw ConfigurationError("config file \(path): \(problem)")
            }
            config.venues = venues
            config.defaultVenue = defaultVenue
        }
        if let defaults = file.risk?.defaults {
            if defaults.loss != nil {
                throw ConfigurationError(
                    "config file \(path): risk.defaults.loss: loss rules are set per venue (venues.NAME.loss), and per member in risk.members.NAME.loss.VENUE"
                )
            }
            config.risk.defaults = defaults.applied(to: .standard)
        }
        if file.risk?.defaults?.venueCapital != nil {
            throw ConfigurationError(
                "config file \(path): risk.defaults.capital must be one amount; capital per venue is given per member (risk.members.NAME.capital)"
            )
        }
        config.loss = try lossPolicy(
            venues: (file.venues ?? [:]).compactMapValues(\.loss),
            members: (file.risk?.members ?? [:]).compactMapValues(\.loss),
            venueNames: config.venues?.map(\.name) ?? [DeskConfiguration.paperVenue], path: path)
        for (member, limits) in file.risk?.members ?? [:] {
            config.risk.members[member] = limits.override
            if let venueCapital = limits.venueCapital { config.risk.venueCapital[member] = venueCapital }
        }
        if let session = file.session {
            config.session = try session.calendar(path: path)
        }
        if let strategies = file.strategies {
            config.caps.defaults = strategies.defaults?.caps ?? MemberCaps()
            for (member, caps) in strategies.members ?? [:] {
                guard Identifier.isSafe(member) else {
                    throw ConfigurationError(
                        "config file \(path): strategies.members: \"\(member)\" is not a member id: \(Identifier.rule)")
                }
                config.caps.members[member] = caps.caps
            }
            if let upload = strategies.upload {
                config.upload = ArchiveLimits(
                    maxEntries: upload.maxFiles?.value ?? config.upload.maxEntries,
                    maxBytes: upload.maxBytes.map { Int($0.value) } ?? config.upload.maxBytes)
            }
        }
        if let web = file.web {
            if let hours = web.sessionHours { config.web.sessionLifetime = .seconds(hours.value * 3600) }
            if let seconds = web.liveInterval { config.web.liveInterval = .seconds(seconds.value) }
            if let seconds = web.pnlInterval { config.web.pnlInterval = .seconds(seconds.value) }
            if let days = web.pnlRetentionDays { config.web.pnlRetentionDays = days.value }
            if let count = web.sessionsPerMember { config.web.sessionsPerMember = count.value }
            if let count = web.maximumSessions { config.web.maximumSessions = count.value }
        }
        if let research = file.research {
            if let value = research.concurrency { config.research.concurrency = value.value }
            if let value = research.memberConcurrency { config.research.memberConcurrency = value.value }
            if let value = research.memberQueued { config.research.memberQueued = value.value }
            if let value = research.memberCPUSecondsPerDay { config.research.memberCPUSecondsPerDay = value.value }
            if let value = research.jobs { config.research.jobs = value.value }
            if let value = research.feedRetentionDays {
                guard value >= 0 else {
                    throw ConfigurationError(
                        "config file \(path): research.feed_retention_days must be 0 (no recording) or more days")
                }
                config.research.feedRetentionDays = value
            }
            config.research.dataFolder = research.dataFolder
            if let address = research.rayAddress {
                guard address.hasPrefix("ray://") else {
                    throw ConfigurationError(
                        "config file \(path): research.ray_address \"\(address)\" must be a Ray client address, ray://HOST:PORT"
                    )
                }
                config.research.rayAddress = address
            }
            config.research.rayPython = research.rayPython
        }
        return config
    }

    /// The file as written.
    struct File: Decodable {
        var risk: Risk?
        var session: Session?
        var strategies: Strategies?
        var web: Web?
        var venues: [String: VenueEntry]?
        var defaultVenue: String?
        var research: Research?

        enum CodingKeys: String, CodingKey {
            case risk, session, strategies, web, venues, research, defaultVenue = "default_venue"
        }
    }

    /// `research`: see `ResearchSettings`.
    struct Research: Decodable {
        var concurrency: PositiveWholeNumber?
        var memberConcurrency: PositiveWholeNumber?
        var memberQueued: PositiveWholeNumber?
        var memberCPUSecondsPerDay: PositiveWholeNumber?
        var jobs: PositiveWholeNumber?
        var dataFolder: String?
        var feedRetentionDays: Int?
        var rayAddress: String?
        var rayPython: String?

        enum CodingKeys: String, CodingKey {
            case concurrency, jobs
            case memberConcurrency = "member_concurrency", memberQueued = "member_queued"
            case memberCPUSecondsPerDay = "member_cpu_seconds_per_day", dataFolder = "data_folder"
            case feedRetentionDays = "feed_retention_days", rayAddress = "ray_address", rayPython = "ray_python"
        }
    }

    /// One entry of `venues`: `broker` names its kind, whose settings read the rest;
    /// `requires_approval` and `promotion` are what a strategy moving onto it needs.
    struct VenueEntry: Decodable {
        var settings: any VenueSettings
        var requiresApproval: Bool
        /// The venue's loss rules (`loss`), when given.
        var loss: LossRulesEntry?
        var promotion: Promotion?

        /// `"promotion": {"min_paper_days": 5, "min_fills": 20}`.
        struct Promotion: Decodable {
            var minPaperDays: PositiveWholeNumber?
            var minFills: PositiveWholeNumber?

            enum CodingKeys: String, CodingKey {
                case minPaperDays = "min_paper_days", minFills = "min_fills"
            }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: NamedKey.self)
            let kinds = decoder.userInfo[VenueKinds.userInfoKey] as? VenueKinds ?? .standard
            let kind = VenueKind(try container.decode(String.self, forKey: NamedKey("broker")))
            guard let read = kinds.reader(for: kind) else {
                throw DecodingError.dataCorruptedError(
                    forKey: NamedKey("broker"), in: container,
                    debugDescription:
                        "\(path(decoder)): broker \"\(kind)\" is not a kind of venue: use \(kinds.kinds.map(\.rawValue).joined(separator: " or "))"
                )
            }
            requiresApproval = try container.decodeIfPresent(Bool.self, forKey: NamedKey("requires_approval")) ?? false
            promotion = try container.decodeIfPresent(Promotion.self, forKey: NamedKey("promotion"))
            settings = try read(decoder)
            // After the kind's keys, so messages list the kind's keys where they always were.
            loss = try container.decodeIfPresent(LossRulesFileEntry.self, forKey: NamedKey("loss"))?.entry
        }
    }

    struct Strategies: Decodable {
        var defaults: Caps?
        var members: [String: Caps]?
        var upload: Upload?
    }

    /// One member's (or the default) caps.
    struct Caps: Decodable {
        var maxStrategies: PositiveWholeNumber?
        var memory: Size?
        var cpuSeconds: PositiveWholeNumber?
        var cpus: PositiveRate?
        var disk: Size?

        var caps: MemberCaps {
            MemberCaps(
                maxStrategies: maxStrategies?.value, memoryBytes: memory?.value,
                cpuSeconds: cpuSeconds.map { UInt64($0.value) }, cpus: cpus?.value, diskBytes: disk?.value)
        }

        enum CodingKeys: String, CodingKey {
            case maxStrategies = "max_strategies", memory, cpuSeconds = "cpu_seconds", cpus, disk
        }
    }

    struct Upload: Decodable {
        var maxFiles: PositiveWholeNumber?
        var maxBytes: Size?

        enum CodingKeys: String, CodingKey {
            case maxFiles = "max_files", maxBytes = "max_bytes"
        }
    }

    struct Web: Decodable {
        var sessionHours: PositiveRate?
        var liveInterval: PositiveRate?
        var pnlInterval: PositiveRate?
        var pnlRetentionDays: PositiveWholeNumber?
        var sessionsPerMember: PositiveWholeNumber?
        var maximumSessions: PositiveWholeNumber?

        enum CodingKeys: String, CodingKey {
            case sessionHours = "session_hours", liveInterval = "live_interval_seconds"
            case pnlInterval = "pnl_interval_seconds", pnlRetentionDays = "pnl_retention_days"
            case sessionsPerMember = "sessions_per_member", maximumSessions = "max_sessions"
        }
    }

    struct Risk: Decodable {
        var defaults: Limits?
        var members: [String: Limits]?
    }

    /// `session`: `{"calendar": "nyse"}` (the default: the exchange's hours, holidays and early
    /// closes) or `{"calendar": "daily", "close": "HH:MM", "time_zone": "…"}` (every day closes
    /// then); `close` or `time_zone` alone mean `daily`, as before the desk knew the exchange.
    struct Session: Decodable {
        var calendar: String?
        var close: String?
        var timeZone: String?

        enum CodingKeys: String, CodingKey {
            case calendar, close, timeZone = "time_zone"
        }

        /// The calendar the entry asks for.
        func calendar(path: String) throws(ConfigurationError) -> SessionCalendar {
            switch calendar ?? (close == nil && timeZone == nil ? "nyse" : "daily") {
            case "nyse":
                guard close == nil && timeZone == nil else {
                    throw ConfigurationError(
                        "config file \(path): session: the nyse calendar has its own hours (09:30 to 16:00 America/New_York, 13:00 on early closes); close and time_zone go with \"calendar\": \"daily\""
                    )
                }
                return SessionCalendar()
            case "daily":
                switch SessionCalendar.parse(close: close ?? "16:00", timeZone: timeZone ?? "America/New_York") {
                case .success(let calendar): return calendar
                case .failure(let error): throw ConfigurationError("config file \(path): session: \(error)")
                }
            case let other:
                throw ConfigurationError(
                    "config file \(path): session: calendar \"\(other)\" is unknown: use \"nyse\" (the exchange's sessions, holidays and early closes) or \"daily\" (every day closes at session.close)"
                )
            }
        }
    }

    /// One set of limits: each is left as it is, set, or (in `defaults`) removed with null.
    /// `capital` may be one amount (every venue) or an object of amounts by venue name.
    struct Limits: Decodable {
        /// What the entry sets.
        var override = RiskLimitsOverride()
        /// The limits it sets to null.
        var removed: Set<RiskLimitField> = []
        /// A member's loss rules per venue (`loss`: venue → rules over the venue's).
        var loss: [String: LossRulesEntry]?
        /// Capital by venue name, when `capital` is an object.
        var venueCapital: [String: Decimal]?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: NamedKey.self)
            for reader in LimitFieldReader.all where container.contains(NamedKey(reader.field.name)) {
                let key = NamedKey(reader.field.name)
                // `capital` may be an object: an amount per venue.
                if reader.field == RiskLimits.field(\.capital),
                    (try? container.nestedContainer(keyedBy: NamedKey.self, forKey: key)) != nil
                {
                    venueCapital = try container.decode([String: PositiveDecimal].self, forKey: key).mapValues(\.value)
                    continue
                }
                if try container.decodeNil(forKey: NamedKey(reader.field.name)) {
                    removed.insert(reader.field)
                } else {
                    try reader.read(container, &override)
                }
            }
            loss = try container.decodeIfPresent([String: LossRulesFileEntry].self, forKey: NamedKey("loss"))?
                .mapValues(\.entry)
        }

        /// `base` with these limits set and the nulls removed.
        func applied(to base: RiskLimits) -> RiskLimits {
            base.overridden(by: override).removing(removed)
        }
    }
}

/// How the config file reads each limit of `RiskLimits.fields` (whose table gives its key and what
/// removing it means): a new limit needs one line in `all`.
struct LimitFieldReader {
    let field: RiskLimitField
    let read: (KeyedDecodingContainer<NamedKey>, inout RiskLimitsOverride) throws -> Void

    /// One reader per limit, in the order of `RiskLimits.fields`.
    static var all: [LimitFieldReader] {
        let readers = [
            reader(\.maxOrderQty, PositiveDecimal.self),
            reader(\.maxOrderNotional, PositiveDecimal.self),
            reader(\.maxPosition, PositiveDecimal.self),
            reader(\.maxOpenOrders, PositiveWholeNumber.self),
            reader(\.ordersPerSecond, PositiveRate.self),
            reader(\.orderBurst, PositiveWholeNumber.self),
            reader(\.allowedSymbols, Symbols.self),
            reader(\.deniedSymbols, Symbols.self) { $0 },
            reader(\.capital, PositiveDecimal.self),
        ]
        return RiskLimits.fields.map { field in
            guard let reader = readers.first(where: { $0.field == field }) else {
                preconditionFailure("the config file has no reader for the limit \(field.name)")
            }
            return reader
        }
    }

    /// Reads the optional limit at `target` with `Reader`.
    private static func reader<Reader: LimitReader>(
        _ target: WritableKeyPath<RiskLimits, Reader.Value?>, _ kind: Reader.Type
    ) -> LimitFieldReader {
        reader(target, kind, as: Optional.some)
    }

    /// Reads the limit at `target` with `Reader`, whose value `convert` makes the limit's.
    private static func reader<Reader: LimitReader, Value>(
        _ target: WritableKeyPath<RiskLimits, Value>, _: Reader.Type, as convert: @escaping (Reader.Value) -> Value
    ) -> LimitFieldReader {
        let field = RiskLimits.field(target)
        return LimitFieldReader(field: field) { container, override in
            override.set(target, to: convert(try container.decode(Reader.self, forKey: NamedKey(field.name)).value))
        }
    }
}

/// How one kind of limit is read from the file.
protocol LimitReader: Decodable {
    associatedtype Value
    var value: Value { get }
}

/// The dotted path of the value being decoded, for messages.
private func path(_ decoder: any Decoder) -> String {
    "\"" + decoder.codingPath.map(\.stringValue).joined(separator: ".") + "\""
}

/// A positive decimal: a string in the desk's decimal syntax, or a whole number.
struct PositiveDecimal: LimitReader {
    var value: Decimal

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self), case .success(let number) = ExactDecimal.parse(text),
            number > 0
        {
            value = number
        } else if let number = try? container.decode(Decimal.self), number > 0, number == number.rounded(0) {
            value = number
        } else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription:
                    "\(path(decoder)) must be a positive decimal: a string like \"2500.50\" or a whole number")
        }
    }
}

/// A positive whole number.
struct PositiveWholeNumber: LimitReader {
    var value: Int

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let number = try? container.decode(Int.self), number > 0 else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\(path(decoder)) must be a positive whole number")
        }
        value = number
    }
}

/// A positive rate (orders per second, decimals allowed).
struct PositiveRate: LimitReader {
    var value: Double

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let number = try? container.decode(Double.self), number > 0, number.isFinite else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\(path(decoder)) must be a positive number")
        }
        value = number
    }
}

/// A size in bytes: `"512m"`, `"1g"`, `"65536k"`, or a whole number of bytes.
struct Size: LimitReader {
    var value: UInt64

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(UInt64.self), number > 0 {
            value = number
        } else if let text = try? container.decode(String.self), let bytes = MemberCaps.parseSize(text) {
            value = bytes
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\(path(decoder)) must be a size such as \"512m\" or \"1g\"")
        }
    }
}

/// A list of ticker symbols.
struct Symbols: LimitReader {
    var value: Set<String>

    init(from decoder: any Decoder) throws {
        guard let list = try? [String](from: decoder) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "\(path(decoder)) must be a list of symbols"))
        }
        for symbol in list {
            do { _ = try OrderValidation.validateSymbol(symbol) } catch {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "\(path(decoder)): \(error.message)"))
            }
        }
        value = Set(list)
    }
}

extension Decimal {
    /// This number rounded to `scale` decimals, half away from zero.
    fileprivate func rounded(_ scale: Int) -> Decimal { ExactDecimal.rounded(self, scale: scale) }
}

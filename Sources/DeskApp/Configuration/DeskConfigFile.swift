import DeskBroker
import DeskCore
import Foundation

/// The desk's JSON config file (`desk serve --config FILE`, `DESK_CONFIG`):
///
/// ```json
/// {
///   "risk": {
///     "defaults": {"max_order_qty": "1000", "max_order_notional": "250000", "max_position": "5000",
///                  "max_open_orders": 50, "orders_per_second": 10, "order_burst": 20,
///                  "allowed_symbols": ["AAPL", "MSFT"], "denied_symbols": ["GME"]},
///     "members": {"alice": {"max_order_qty": "100"}}
///   },
///   "session": {"close": "16:00", "time_zone": "America/New_York"}
/// }
/// ```
/// Decimal limits are strings or whole numbers; `null` removes a default limit.
/// Read by `StrictJSONDecoder`: a key given twice or one the file does not have
/// is an error with its line and column.
public struct DeskConfigFile: Sendable, Equatable {
    public var risk: RiskPolicy
    public var session: SessionCalendar

    /// Reads and checks a config file.
    public static func load(path: String) throws(ConfigurationError) -> DeskConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("config file \(path): cannot read the file")
        }
        return try parse(Array(data), path: path)
    }

    /// Parses config JSON; `path` only labels errors (`config file desk.json:3:3: …`).
    public static func parse(_ bytes: [UInt8], path: String) throws(ConfigurationError) -> DeskConfigFile {
        let file: File
        do { file = try StrictJSONDecoder().decode(File.self, from: bytes) } catch {
            throw ConfigurationError("config file \(path):\(error.line):\(error.column): \(error.message)")
        }
        var config = DeskConfigFile(risk: RiskPolicy(), session: SessionCalendar())
        if let defaults = file.risk?.defaults { config.risk.defaults = defaults.applied(to: .standard) }
        for (member, limits) in file.risk?.members ?? [:] { config.risk.members[member] = limits.override }
        if let session = file.session {
            switch SessionCalendar.parse(
                close: session.close ?? "16:00", timeZone: session.timeZone ?? "America/New_York")
            {
            case .success(let calendar): config.session = calendar
            case .failure(let error): throw ConfigurationError("config file \(path): session: \(error)")
            }
        }
        return config
    }

    /// The file as written.
    struct File: Decodable {
        var risk: Risk?
        var session: Session?
    }

    struct Risk: Decodable {
        var defaults: Limits?
        var members: [String: Limits]?
    }

    struct Session: Decodable {
        var close: String?
        var timeZone: String?

        enum CodingKeys: String, CodingKey {
            case close, timeZone = "time_zone"
        }
    }

    /// One set of limits; each is left as it is, set, or (in `defaults`) removed with null.
    struct Limits: Decodable {
        var maxOrderQty: Limit<PositiveDecimal>
        var maxOrderNotional: Limit<PositiveDecimal>
        var maxPosition: Limit<PositiveDecimal>
        var maxOpenOrders: Limit<PositiveWholeNumber>
        var ordersPerSecond: Limit<PositiveRate>
        var orderBurst: Limit<PositiveWholeNumber>
        var allowedSymbols: Limit<Symbols>
        var deniedSymbols: Limit<Symbols>

        enum CodingKeys: String, CodingKey {
            case maxOrderQty = "max_order_qty", maxOrderNotional = "max_order_notional", maxPosition = "max_position"
            case maxOpenOrders = "max_open_orders", ordersPerSecond = "orders_per_second", orderBurst = "order_burst"
            case allowedSymbols = "allowed_symbols", deniedSymbols = "denied_symbols"
        }

        /// `base` with these limits set and the nulls removed.
        func applied(to base: RiskLimits) -> RiskLimits {
            var limits = base.overridden(by: override)
            if maxOrderQty == .removed { limits.maxOrderQty = nil }
            if maxOrderNotional == .removed { limits.maxOrderNotional = nil }
            if maxPosition == .removed { limits.maxPosition = nil }
            if maxOpenOrders == .removed { limits.maxOpenOrders = nil }
            if ordersPerSecond == .removed { limits.ordersPerSecond = nil }
            if orderBurst == .removed { limits.orderBurst = nil }
            if allowedSymbols == .removed { limits.allowedSymbols = nil }
            if deniedSymbols == .removed { limits.deniedSymbols = [] }
            return limits
        }

        /// What a member's entry changes (a null there changes nothing).
        var override: RiskLimitsOverride {
            RiskLimitsOverride(
                maxOrderQty: maxOrderQty.value?.value, maxOrderNotional: maxOrderNotional.value?.value,
                maxPosition: maxPosition.value?.value, maxOpenOrders: maxOpenOrders.value?.value,
                ordersPerSecond: ordersPerSecond.value?.value, orderBurst: orderBurst.value?.value,
                allowedSymbols: allowedSymbols.value?.value, deniedSymbols: deniedSymbols.value?.value)
        }
    }
}

/// A limit as the file has it: not there, `null`, or a value.
enum Limit<Value: Decodable & Equatable>: Decodable, Equatable {
    case absent, removed
    case set(Value)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = container.decodeNil() ? .removed : .set(try container.decode(Value.self))
    }

    var value: Value? {
        if case .set(let value) = self { return value }
        return nil
    }
}

extension KeyedDecodingContainer {
    /// A limit whose key is missing is `absent`.
    func decode<Value>(_ type: Limit<Value>.Type, forKey key: Key) throws -> Limit<Value> {
        try decodeIfPresent(type, forKey: key) ?? .absent
    }
}

/// The dotted path of the value being decoded, for messages.
private func path(_ decoder: any Decoder) -> String {
    "\"" + decoder.codingPath.map(\.stringValue).joined(separator: ".") + "\""
}

/// A positive decimal: a string in the desk's decimal syntax, or a whole number.
struct PositiveDecimal: Decodable, Equatable {
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
struct PositiveWholeNumber: Decodable, Equatable {
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
struct PositiveRate: Decodable, Equatable {
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

/// A list of ticker symbols.
struct Symbols: Decodable, Equatable {
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

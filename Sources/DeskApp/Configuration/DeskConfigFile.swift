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
public struct DeskConfigFile: Sendable, Equatable {
    public var risk: RiskPolicy
    public var session: SessionCalendar

    /// A config file that cannot be used: where and why.
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { "\(path): \(message)" }
    }

    static let limitKeys = [
        "max_order_qty", "max_order_notional", "max_position", "max_open_orders", "orders_per_second", "order_burst",
        "allowed_symbols", "denied_symbols",
    ]

    /// Reads and checks a config file.
    public static func load(path: String) -> Result<DeskConfigFile, Problem> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(Problem(path: path, message: "cannot read the file"))
        }
        return parse(data, path: path)
    }

    /// Parses config JSON; `path` only labels errors.
    public static func parse(_ data: Data, path: String) -> Result<DeskConfigFile, Problem> {
        // The desk's one reading of JSON: a key given twice (two "alice" entries) is an error, not the last one.
        do { _ = try StrictJSON.check(Array(data)) } catch {
            return .failure(Problem(path: "\(path):\(error.line):\(error.column)", message: error.message))
        }
        do {
            guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                return .failure(Problem(path: path, message: "the top level must be a JSON object"))
            }
            try checkKeys(root, allowed: ["risk", "session"], at: "")
            var config = DeskConfigFile(risk: RiskPolicy(), session: SessionCalendar())
            if let risk = root["risk"] {
                guard let risk = risk as? [String: Any] else { throw message("\"risk\" must be an object") }
                try checkKeys(risk, allowed: ["defaults", "members"], at: "risk.")
                if let defaults = risk["defaults"] {
                    config.risk.defaults = RiskLimits.standard.overridden(
                        by: try limits(defaults, at: "risk.defaults"))
                    // A null in defaults removes that limit.
                    if let object = defaults as? [String: Any] { config.risk.defaults.removeNulls(object) }
                }
                if let members = risk["members"] {
                    guard let members = members as? [String: Any] else {
                        throw message("\"risk.members\" must be an object of member id to limits")
                    }
                    for (member, value) in members {
                        config.risk.members[member] = try limits(value, at: "risk.members.\(member)")
                    }
                }
            }
            if let session = root["session"] {
                guard let session = session as? [String: Any] else { throw message("\"session\" must be an object") }
                try checkKeys(session, allowed: ["close", "time_zone"], at: "session.")
                let close = session["close"] as? String ?? "16:00"
                let zone = session["time_zone"] as? String ?? "America/New_York"
                switch SessionCalendar.parse(close: close, timeZone: zone) {
                case .success(let calendar): config.session = calendar
                case .failure(let error): throw message("session: \(error)")
                }
            }
            return .success(config)
        } catch let problem as ProblemMessage {
            return .failure(Problem(path: path, message: problem.text))
        } catch {
            return .failure(Problem(path: path, message: "not valid JSON: \(error.localizedDescription)"))
        }
    }

    private struct ProblemMessage: Error { var text: String }
    private static func message(_ text: String) -> ProblemMessage { ProblemMessage(text: text) }

    private static func checkKeys(_ object: [String: Any], allowed: [String], at prefix: String) throws {
        for key in object.keys.sorted() where !allowed.contains(key) {
            throw message("unknown key \"\(prefix)\(key)\"; allowed here: \(allowed.joined(separator: ", "))")
        }
    }

    private static func limits(_ value: Any, at path: String) throws -> RiskLimitsOverride {
        guard let object = value as? [String: Any] else { throw message("\"\(path)\" must be an object of limits") }
        try checkKeys(object, allowed: limitKeys, at: "\(path).")
        var result = RiskLimitsOverride()
        result.maxOrderQty = try decimal(object["max_order_qty"], at: "\(path).max_order_qty")
        result.maxOrderNotional = try decimal(object["max_order_notional"], at: "\(path).max_order_notional")
        result.maxPosition = try decimal(object["max_position"], at: "\(path).max_position")
        result.maxOpenOrders = try integer(object["max_open_orders"], at: "\(path).max_open_orders")
        result.orderBurst = try integer(object["order_burst"], at: "\(path).order_burst")
        if let rate = object["orders_per_second"], !(rate is NSNull) {
            guard let number = rate as? NSNumber, !(rate is Bool), number.doubleValue > 0 else {
                throw message("\"\(path).orders_per_second\" must be a positive number")
            }
            result.ordersPerSecond = number.doubleValue
        }
        result.allowedSymbols = try symbols(object["allowed_symbols"], at: "\(path).allowed_symbols")
        result.deniedSymbols = try symbols(object["denied_symbols"], at: "\(path).denied_symbols")
        return result
    }

    private static func decimal(_ value: Any?, at path: String) throws -> Decimal? {
        guard let value, !(value is NSNull) else { return nil }
        if let text = value as? String, case .success(let number) = ExactDecimal.parse(text), number > 0 {
            return number
        }
        if let number = value as? NSNumber, !(value is Bool), let whole = Int64(exactly: number.doubleValue), whole > 0
        {
            return Decimal(whole)
        }
        throw message("\"\(path)\" must be a positive decimal: a string like \"2500.50\" or a whole number")
    }

    private static func integer(_ value: Any?, at path: String) throws -> Int? {
        guard let value, !(value is NSNull) else { return nil }
        if let number = value as? NSNumber, !(value is Bool), let whole = Int(exactly: number.doubleValue), whole > 0 {
            return whole
        }
        throw message("\"\(path)\" must be a positive whole number")
    }

    private static func symbols(_ value: Any?, at path: String) throws -> Set<String>? {
        guard let value, !(value is NSNull) else { return nil }
        guard let list = value as? [String] else { throw message("\"\(path)\" must be a list of symbols") }
        for symbol in list {
            do { _ = try OrderValidation.validateSymbol(symbol) } catch {
                throw message("\"\(path)\": \(error.message)")
            }
        }
        return Set(list)
    }
}

extension RiskLimits {
    /// Clears every limit that `object` sets to JSON null.
    mutating func removeNulls(_ object: [String: Any]) {
        for (key, value) in object where value is NSNull {
            switch key {
            case "max_order_qty": maxOrderQty = nil
            case "max_order_notional": maxOrderNotional = nil
            case "max_position": maxPosition = nil
            case "max_open_orders": maxOpenOrders = nil
            case "orders_per_second": ordersPerSecond = nil
            case "order_burst": orderBurst = nil
            case "allowed_symbols": allowedSymbols = nil
            case "denied_symbols": deniedSymbols = []
            default: break
            }
        }
    }
}

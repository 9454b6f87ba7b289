import Foundation

/// A split (a reverse split when `ratio` < 1) or a cash dividend of one symbol,
/// effective on its ex-date: from a `--corporate-actions` file or Alpaca's
/// announcements.
public struct CorporateAction: Sendable, Hashable {
    /// What the action does.
    public enum Kind: Sendable, Hashable {
        /// `ratio` new shares for each one held (4 for a 4-for-1 split, 0.25 for a 1-for-4 reverse split).
        case split(ratio: Decimal)
        /// `amount` in cash per share held when the ex-date begins, paid on `payableDate`.
        case dividend(amount: Decimal, payableDate: TradingDay)
    }

    /// Names the action once and for all (the ledger records each action applied under it).
    public var id: String
    public var symbol: String
    public var exDate: TradingDay
    public var kind: Kind

    /// An action; `id` defaults to one made of what it is (`split:AAPL:2026-03-02:4`).
    public init(id: String? = nil, symbol: String, exDate: TradingDay, kind: Kind) {
        self.symbol = symbol
        self.exDate = exDate
        self.kind = kind
        self.id =
            id
            ?? {
                switch kind {
                case .split(let ratio): "split:\(symbol):\(exDate):\(ExactDecimal.plain(ratio))"
                case .dividend(let amount, let payable):
                    "dividend:\(symbol):\(exDate):\(payable):\(ExactDecimal.plain(amount))"
                }
            }()
    }

    /// `split` or `dividend` (the audit line's and the ledger's word).
    public var type: String {
        switch kind {
        case .split: "split"
        case .dividend: "dividend"
        }
    }

    /// What the action is, in words (`4-for-1 split of AAPL on 2026-03-02`).
    public var summary: String {
        switch kind {
        case .split(let ratio):
            "split of \(symbol) by \(ExactDecimal.plain(ratio)) on \(exDate)"
        case .dividend(let amount, let payable):
            "dividend of \(ExactDecimal.plain(amount)) per share of \(symbol), ex \(exDate), payable \(payable)"
        }
    }
}

extension CorporateAction {
    /// When the action takes effect: the start of its ex-date in `calendar`'s time zone.
    public func takesEffect(in calendar: SessionCalendar) -> Date {
        calendar.date(exDate, at: ClockTime(hour: 0, minute: 0))
    }

    /// The symbol's price once the action has taken effect, from its last price before: a
    /// split divides it by the ratio (to 9 decimals), a dividend leaves it to the market.
    public func adjustedPrice(_ last: Decimal) -> Decimal {
        switch kind {
        case .split(let ratio): ExactDecimal.rounded(last / ratio, scale: 9)
        case .dividend: last
        }
    }
}

/// What a corporate action did to one book's position.
public struct CorporateActionEffect: Sendable, Equatable {
    public var before: Position
    public var after: Position
    /// Cash the holder received (negative: paid, for a short): a dividend, or cash in lieu of a fraction.
    public var cash: Decimal
}

extension CorporateAction {
    /// What the action does to `position`. A split multiplies the quantity by the ratio
    /// and leaves the cost basis as it was; when the holding was whole shares and the new
    /// quantity is not, the fraction is paid out as cash in lieu at `price` per new share
    /// (Alpaca's practice), realizing it against its share of the cost. A dividend pays
    /// quantity × amount, booked into realized P&L.
    public func effect(on position: Position, price: Decimal?) -> CorporateActionEffect {
        var after = position
        let cash: Decimal
        switch kind {
        case .split(let ratio): cash = after.applySplit(ratio: ratio, cashInLieuPrice: price)
        case .dividend(let amount, _): cash = after.applyDividend(amount: amount)
        }
        return CorporateActionEffect(before: position, after: after, cash: cash)
    }
}

/// A `--corporate-actions` file: JSON lines, each
/// `{"type":"split","symbol":"AAPL","ex_date":"2026-03-02","ratio":"4"}` or
/// `{"type":"dividend","symbol":"AAPL","ex_date":"2026-03-02","payable_date":"2026-03-09","amount":"0.25"}`
/// (decimals as strings; blank lines are skipped).
public enum CorporateActionFile {
    /// Reads the file at `path`; problems name `path:line`.
    public static func load(path: String) throws(CorporateActionFileError) -> [CorporateAction] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CorporateActionFileError("\(path): cannot read the corporate actions file")
        }
        return try parse(Array(data), path: path)
    }

    /// Reads the lines of `bytes`, in ex-date order (ties keep the file's order); `path` labels errors.
    public static func parse(_ bytes: [UInt8], path: String) throws(CorporateActionFileError) -> [CorporateAction] {
        var actions: [CorporateAction] = []
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let text = Array(line)
            if text.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            let place = "\(path):\(index + 1)"
            let entry: Line
            do { entry = try StrictJSONDecoder().decode(Line.self, from: text) } catch {
                throw CorporateActionFileError("\(place):\(error.column): \(error.message)")
            }
            do { actions.append(try entry.action()) } catch { throw CorporateActionFileError("\(place): \(error)") }
        }
        return actions.enumerated().sorted { ($0.element.exDate, $0.offset) < ($1.element.exDate, $1.offset) }
            .map(\.element)
    }

    struct Line: Decodable {
        var type: String
        var symbol: String
        var exDate: String
        var ratio: String?
        var amount: String?
        var payableDate: String?

        enum CodingKeys: String, CodingKey {
            case type, symbol, exDate = "ex_date", ratio, amount, payableDate = "payable_date"
        }

        func action() throws(CorporateActionFileError) -> CorporateAction {
            guard (try? OrderValidation.validateSymbol(symbol)) != nil else {
                throw CorporateActionFileError("symbol \(OrderValidation.quoted(symbol)) is not a symbol (AAPL)")
            }
            guard let exDay = TradingDay(exDate) else {
                throw CorporateActionFileError(
                    "ex_date \(OrderValidation.quoted(exDate)) is not a date: use YYYY-MM-DD")
            }
            switch type {
            case "split":
                guard amount == nil, payableDate == nil else {
                    throw CorporateActionFileError("a split has ratio only (no amount or payable_date)")
                }
                let ratio = try Self.positive(ratio, "ratio", example: "\"4\" for 4-for-1, \"0.25\" for 1-for-4")
                return CorporateAction(symbol: symbol, exDate: exDay, kind: .split(ratio: ratio))
            case "dividend":
                guard ratio == nil else { throw CorporateActionFileError("a dividend has no ratio") }
                let amount = try Self.positive(amount, "amount", example: "\"0.25\" per share")
                guard let payableDate else {
                    throw CorporateActionFileError("a dividend needs payable_date (YYYY-MM-DD)")
                }
                guard let payable = TradingDay(payableDate), payable >= exDay else {
                    throw CorporateActionFileError(
                        "payable_date \(OrderValidation.quoted(payableDate)) must be a date (YYYY-MM-DD) on or after ex_date"
                    )
                }
                return CorporateAction(
                    symbol: symbol, exDate: exDay, kind: .dividend(amount: amount, payableDate: payable))
            default:
                throw CorporateActionFileError(
                    "type \(OrderValidation.quoted(type)) is not a corporate action: use \"split\" or \"dividend\"")
            }
        }

        static func positive(_ text: String?, _ name: String, example: String) throws(CorporateActionFileError)
            -> Decimal
        {
            guard let text else {
                throw CorporateActionFileError("\(name) is missing: a decimal string, e.g. \(example)")
            }
            guard case .success(let value) = ExactDecimal.parse(text), value > 0 else {
                throw CorporateActionFileError(
                    "\(name) \(OrderValidation.quoted(text)) must be a positive decimal string, e.g. \(example)")
            }
            return value
        }
    }
}

/// A corporate actions file that cannot be used: `file:line: what was wrong and what is allowed`.
public struct CorporateActionFileError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

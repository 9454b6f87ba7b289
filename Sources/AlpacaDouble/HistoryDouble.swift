import DeskCore
import DeskMarketData
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import Synchronization

/// Alpaca's historical stock data REST on loopback: `GET /v2/stocks/bars` and
/// `GET /v2/stocks/trades` for several symbols, paged by `next_page_token`, with
/// the account's rate limit (`X-RateLimit-*` headers, 429 beyond it). The data is
/// a seeded walk per symbol over regular trading hours (09:30–16:00 New York,
/// weekdays), the same for the same request, so tests and the sample file are
/// reproducible.
public final class HistoryDouble: Sendable {
    public let keyID: String
    public let secretKey: String
    /// Requests allowed per rolling minute.
    public let requestsPerMinute: Int

    private struct State {
        var window: [Date] = []
        var requests: [String] = []
        var failNext = 0
    }
    private let state = Mutex(State())

    public init(keyID: String = "PKTESTDOUBLE", secretKey: String = "double-secret", requestsPerMinute: Int = 200) {
        self.keyID = keyID
        self.secretKey = secretKey
        self.requestsPerMinute = requestsPerMinute
    }

    /// The query strings of every data request, in order.
    public var requests: [String] { state.withLock { $0.requests } }

    /// The next `count` requests answer 429 (with a reset one second ahead).
    public func rateLimitNext(_ count: Int) { state.withLock { $0.failNext = count } }

    /// Adds the routes to `router`.
    public func register(on router: Router<BasicWebSocketRequestContext>) {
        router.get("v2/stocks/bars") { request, _ in self.answer(request, trades: false) }
        router.get("v2/stocks/trades") { request, _ in self.answer(request, trades: true) }
        router.get("_double/history/requests") { _, _ in
            let data = (try? JSONSerialization.data(withJSONObject: self.requests)) ?? Data("[]".utf8)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.post("_double/history/rate-limit-next") { request, context in
            struct Count: Decodable { var count: Int }
            let body = try await request.decode(as: Count.self, context: context)
            self.rateLimitNext(body.count)
            return Response(status: .ok)
        }
    }

    /// Bar sizes the double knows, in seconds.
    static let timeframes: [String: Int] = ["1Min": 60, "5Min": 300, "15Min": 900, "1Hour": 3600, "1Day": 86_400]

    func answer(_ request: Request, trades: Bool) -> Response {
        let query = request.uri.queryParameters
        let now = Date()
        let (limited, remaining) = state.withLock { state -> (Bool, Int) in
            state.requests.append(request.uri.query ?? "")
            state.window = state.window.filter { now.timeIntervalSince($0) < 60 }
            if state.failNext > 0 {
                state.failNext -= 1
                return (true, 0)
            }
            if state.window.count >= requestsPerMinute { return (true, 0) }
            state.window.append(now)
            return (false, requestsPerMinute - state.window.count)
        }
        var headers: HTTPFields = [
            HTTPField.Name("X-RateLimit-Limit")!: "\(requestsPerMinute)",
            HTTPField.Name("X-RateLimit-Remaining")!: "\(remaining)",
            HTTPField.Name("X-RateLimit-Reset")!: "\(Int(now.timeIntervalSince1970) + 1)",
            .contentType: "application/json",
        ]
        func reply(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            headers[.contentLength] = "\(data.count)"
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        if request.headers[HTTPField.Name("APCA-API-KEY-ID")!] != keyID
            || request.headers[HTTPField.Name("APCA-API-SECRET-KEY")!] != secretKey
        {
            return reply(.unauthorized, ["message": "unauthorized."])
        }
        if limited { return reply(.tooManyRequests, ["message": "too many requests."]) }
        let symbols = (query.get("symbols") ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
        guard !symbols.isEmpty else { return reply(.badRequest, ["message": "symbols is required"]) }
        guard let start = query.get("start").flatMap(UTCTimestamp.parse),
            let end = query.get("end").flatMap(UTCTimestamp.parse), start < end
        else {
            return reply(.unprocessableContent, ["message": "start and end must be RFC-3339 times, start before end"])
        }
        let timeframe = query.get("timeframe") ?? "1Min"
        guard trades || Self.timeframes[timeframe] != nil else {
            return reply(.unprocessableContent, ["message": "invalid timeframe"])
        }
        let limit = min(max(Int(query.get("limit") ?? "1000") ?? 1000, 1), 10_000)
        let offset =
            query.get("page_token").flatMap { Data(base64Encoded: $0) }
            .flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
        // Every point of every symbol, symbol by symbol, in time order; a page is a slice.
        var points: [(symbol: String, record: [String: Any])] = []
        for symbol in symbols.sorted() {
            let series =
                trades
                ? Self.trades(symbol: symbol, from: start, to: end)
                : Self.bars(symbol: symbol, seconds: Self.timeframes[timeframe]!, from: start, to: end)
            points += series.map { (symbol, $0) }
        }
        let page = points.dropFirst(offset).prefix(limit)
        var grouped: [String: [[String: Any]]] = [:]
        for point in page { grouped[point.symbol, default: []].append(point.record) }
        let next: Any =
            offset + page.count < points.count ? Data("\(offset + page.count)".utf8).base64EncodedString() : NSNull()
        return reply(.ok, [trades ? "trades" : "bars": grouped, "next_page_token": next])
    }

    /// The sessions' minutes in [from, to): 09:30–16:00 New York on weekdays.
    static func sessionTimes(from: Date, to: Date, step: Int) -> [Date] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "America/New_York")!
        var times: [Date] = []
        var day = calendar.startOfDay(for: from)
        while day < to {
            let weekday = calendar.component(.weekday, from: day)
            if weekday != 1 && weekday != 7 {
                let open = calendar.date(bySettingHour: 9, minute: 30, second: 0, of: day)!
                let close = calendar.date(bySettingHour: 16, minute: 0, second: 0, of: day)!
                if step >= 86_400 {
                    if day >= calendar.startOfDay(for: from) && open < to && open >= from.addingTimeInterval(-86_400) {
                        times.append(day)
                    }
                } else {
                    var time = open
                    while time < close {
                        if time >= from && time < to { times.append(time) }
                        time = time.addingTimeInterval(Double(step))
                    }
                }
            }
            day = calendar.date(byAdding: .day, value: 1, to: day)!
        }
        return times
    }

    /// A seeded walk in cents: the same prices for the same symbol and time.
    static func price(symbol: String, at time: Date, step: Int) -> Int {
        var hash: UInt64 = 1_469_598_103_934_665_603
        for byte in symbol.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        let base = 5_000 + Int(hash % 40_000)
        let index = Int(time.timeIntervalSince1970) / max(step, 60)
        var walk = hash ^ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15
        walk ^= walk >> 31
        let drift = Int(truncatingIfNeeded: (UInt64(truncatingIfNeeded: index) &* 2_654_435_761) % 2_001) - 1_000
        return max(100, base + drift + Int(walk % 97) - 48)
    }

    static func bars(symbol: String, seconds: Int, from: Date, to: Date) -> [[String: Any]] {
        sessionTimes(from: from, to: to, step: seconds).map { time in
            let close = price(symbol: symbol, at: time, step: seconds)
            let open = price(symbol: symbol, at: time.addingTimeInterval(-Double(seconds)), step: seconds)
            let spread = 3 + (close + open) % 11
            return [
                "t": UTCTimestamp.iso8601(time), "o": cents(open),
                "h": cents(max(open, close) + spread), "l": cents(min(open, close) - spread), "c": cents(close),
                "v": 1_000 + close % 5_000, "n": 10 + close % 90, "vw": cents((open + close) / 2),
            ]
        }
    }

    static func trades(symbol: String, from: Date, to: Date) -> [[String: Any]] {
        sessionTimes(from: from, to: to, step: 60).enumerated().map { index, time in
            let value = price(symbol: symbol, at: time, step: 60)
            return [
                "t": UTCTimestamp.iso8601(time.addingTimeInterval(17)), "p": cents(value),
                "s": 100 * (1 + value % 5), "x": "V", "c": ["@"], "i": index + 1, "z": "C",
            ]
        }
    }

    /// Cents as the float Alpaca sends (`177.5`).
    static func cents(_ value: Int) -> Double { Double(value) / 100 }
}

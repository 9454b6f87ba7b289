import AsyncHTTPClient
import DeskCore
import DeskMarketData
import Foundation
import NIOCore
import NIOHTTP1

/// What `desk data fetch` asks Alpaca's historical data REST for.
public struct HistoryRequest: Sendable, Equatable {
    /// Bars of this size, or trades.
    public enum Series: Sendable, Equatable {
        case bars(timeframe: String)
        case trades
    }

    public var symbols: [String]
    public var start: Date
    public var end: Date
    public var series: Series
    /// The data feed (`iex`, `sip`).
    public var feed: String
    /// Points per page (Alpaca allows up to 10,000).
    public var pageSize: Int

    /// Bar sizes as Alpaca names them, shortest first, with their length in seconds.
    public static let barSizes: KeyValuePairs<String, Int> = [
        "1Min": 60, "5Min": 300, "15Min": 900, "1Hour": 3600, "1Day": 86_400,
    ]

    /// The names of `barSizes`, in order.
    public static var timeframes: [String] { barSizes.map(\.key) }

    /// How long a bar of `timeframe` lasts, in seconds (a minute for a name it does not know).
    public static func seconds(_ timeframe: String) -> Int {
        barSizes.first { $0.key == timeframe }?.value ?? 60
    }

    public init(
        symbols: [String], start: Date, end: Date, series: Series, feed: String = "iex", pageSize: Int = 10_000
    ) {
        self.symbols = symbols
        self.start = start
        self.end = end
        self.series = series
        self.feed = feed
        self.pageSize = pageSize
    }

    /// The path and query of the page after `pageToken` (the first page without one).
    public func path(pageToken: String?) -> String {
        var items = [
            URLQueryItem(name: "symbols", value: symbols.joined(separator: ",")),
            URLQueryItem(name: "start", value: UTCTimestamp.iso8601(start)),
            URLQueryItem(name: "end", value: UTCTimestamp.iso8601(end)),
            URLQueryItem(name: "limit", value: "\(pageSize)"),
            URLQueryItem(name: "feed", value: feed),
            URLQueryItem(name: "sort", value: "asc"),
        ]
        var path = "/v2/stocks/trades"
        if case .bars(let timeframe) = series {
            path = "/v2/stocks/bars"
            items.append(URLQueryItem(name: "timeframe", value: timeframe))
        }
        if let pageToken { items.append(URLQueryItem(name: "page_token", value: pageToken)) }
        var components = URLComponents()
        components.queryItems = items
        // "+" is a space to most servers: spell it out.
        let query = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        return "\(path)?\(query)"
    }
}

/// One page of Alpaca's answer, read: its ticks and the token of the next page.
public struct HistoryPage: Sendable, Equatable {
    public var ticks: [Tick]
    public var nextPageToken: String?

    /// Reads `{"bars": {SYMBOL: [{t, o, h, l, c, v}, …]}, "next_page_token": …}` (or
    /// `"trades"` with `{t, p, s}`). A bar becomes one tick at its end (its start
    /// `t` plus its length: a strategy sees a bar once it is complete) at its close
    /// `c`, with its open, high, low and volume; a trade one tick at
    /// its price and size. Numbers are read through their shortest text, so they
    /// stay the decimals Alpaca meant.
    public static func read(_ body: Data, series: HistoryRequest.Series) throws(HistoryProblem) -> HistoryPage {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw HistoryProblem(message: "Alpaca's answer is not a JSON object")
        }
        let key = series == .trades ? "trades" : "bars"
        var ticks: [Tick] = []
        if let groups = object[key] as? [String: Any] {
            for symbol in groups.keys.sorted() {
                guard let points = groups[symbol] as? [[String: Any]] else {
                    throw HistoryProblem(message: "\(key) of \(symbol) is not a list")
                }
                for point in points {
                    ticks.append(try tick(point, symbol: symbol, series: series))
                }
            }
        } else if !(object[key] is NSNull) && object[key] != nil {
            throw HistoryProblem(message: "\"\(key)\" is not an object of symbols")
        }
        let token = object["next_page_token"] as? String
        return HistoryPage(ticks: ticks, nextPageToken: token?.isEmpty == false ? token : nil)
    }

    static func tick(_ point: [String: Any], symbol: String, series: HistoryRequest.Series) throws(HistoryProblem)
        -> Tick
    {
        guard let time = (point["t"] as? String).flatMap(UTCTimestamp.parse) else {
            throw HistoryProblem(message: "a point of \(symbol) has no time t")
        }
        func number(_ key: String) -> Decimal? {
            (point[key] as? NSNumber).flatMap { AlpacaDataProtocol.decimal($0.doubleValue) }
        }
        switch series {
        case .trades:
            guard let price = number("p"), price > 0 else {
                throw HistoryProblem(message: "a trade of \(symbol) at \(UTCTimestamp.iso8601(time)) has no price p")
            }
            return Tick(symbol: symbol, price: price, at: time, size: number("s"), kind: .trade)
        case .bars(let timeframe):
            guard let close = number("c"), close > 0, let open = number("o"), let high = number("h"),
                let low = number("l")
            else {
                throw HistoryProblem(message: "a bar of \(symbol) at \(UTCTimestamp.iso8601(time)) lacks o, h, l or c")
            }
            return Tick(
                symbol: symbol, price: close, at: time.addingTimeInterval(Double(HistoryRequest.seconds(timeframe))),
                kind: .bar,
                bar: BarFields(open: open, high: high, low: low, volume: number("v") ?? 0))
        }
    }
}

/// Why history could not be fetched.
public struct HistoryProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Fetches every page of a `HistoryRequest` from Alpaca's data REST with the
/// account's keys, waiting out 429s until `X-RateLimit-Reset`.
public struct HistoryFetcher: Sendable {
    public let settings: AlpacaSettings
    /// Longest wait for a rate limit to reset before giving up.
    public var maximumWait: Duration = .seconds(120)

    public init(settings: AlpacaSettings) { self.settings = settings }

    /// Every tick of `request`, in Alpaca's order (symbol by symbol, each in time
    /// order); `progress` hears the count after each page.
    public func fetch(_ request: HistoryRequest, progress: @Sendable (Int) -> Void = { _ in })
        async throws(HistoryProblem) -> [Tick]
    {
        let client = HTTPClient.shared
        var ticks: [Tick] = []
        var token: String?
        repeat {
            let body = try await page(client, url: settings.dataURL + request.path(pageToken: token))
            let page = try HistoryPage.read(body, series: request.series)
            ticks += page.ticks
            token = page.nextPageToken
            progress(ticks.count)
        } while token != nil
        return ticks.sorted { $0.at != $1.at ? $0.at < $1.at : $0.symbol < $1.symbol }
    }

    private func page(_ client: HTTPClient, url: String) async throws(HistoryProblem) -> Data {
        let started = ContinuousClock.now
        while true {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "APCA-API-KEY-ID", value: settings.keyID)
            request.headers.add(name: "APCA-API-SECRET-KEY", value: settings.secretKey)
            let response: HTTPClientResponse
            let body: ByteBuffer
            do {
                response = try await client.execute(request, timeout: .seconds(60))
                body = try await response.body.collect(upTo: 64 << 20)
            } catch {
                throw HistoryProblem(message: "cannot reach Alpaca's data API at \(settings.dataURL): \(error)")
            }
            switch response.status.code {
            case 200: return Data(body.readableBytesView)
            case 429:
                let reset = response.headers.first(name: "X-RateLimit-Reset").flatMap(Double.init)
                let wait = max(0.2, (reset ?? Date().timeIntervalSince1970 + 1) - Date().timeIntervalSince1970)
                if ContinuousClock.now - started + .milliseconds(Int64(wait * 1000)) > maximumWait {
                    throw HistoryProblem(message: "Alpaca kept answering 429 (rate limit) for \(maximumWait)")
                }
                try? await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
            case 401, 403:
                throw HistoryProblem(
                    message:
                        "Alpaca refused the keys (\(response.status.code)): check APCA_API_KEY_ID and APCA_API_SECRET_KEY"
                )
            default:
                let text = String(buffer: body).prefix(300)
                throw HistoryProblem(message: "Alpaca answered \(response.status.code): \(text)")
            }
        }
    }
}

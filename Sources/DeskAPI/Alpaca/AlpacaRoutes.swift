/// The Alpaca-compatible API: the routes of Alpaca's Trading API v2 and Market
/// Data v2 that the desk serves under `/v2`, for alpaca-py and other Alpaca
/// clients pointed at the desk. Every one is scoped to the calling member.
public enum AlpacaRoutes {
    /// `POST /v2/orders`: `AlpacaOrderRequest` → `AlpacaOrderView`.
    public static let placeOrder = Route(.post, "/v2/orders")
    /// `GET /v2/orders?…`: `[AlpacaOrderView]` (`AlpacaOrdersQuery`).
    public static let orders = Route(.get, "/v2/orders")
    /// `DELETE /v2/orders`: cancels every open order; 207 `[AlpacaCancelResult]`.
    public static let cancelOrders = Route(.delete, "/v2/orders")
    /// `GET /v2/orders:by_client_order_id?client_order_id=…`: `AlpacaOrderView`.
    public static let orderByClientId = Route(.get, "/v2/orders:by_client_order_id")
    /// `GET /v2/orders/{id}`: `AlpacaOrderView`.
    public static let order = Route(.get, "/v2/orders/{id}")
    /// `DELETE /v2/orders/{id}`: 204.
    public static let cancelOrder = Route(.delete, "/v2/orders/{id}")
    /// `PATCH /v2/orders/{id}`: replaces a working order (`AlpacaReplaceRequest`); answers the new order.
    public static let replaceOrder = Route(.patch, "/v2/orders/{id}")
    /// `GET /v2/positions`: `[AlpacaPositionView]`.
    public static let positions = Route(.get, "/v2/positions")
    /// `DELETE /v2/positions?cancel_orders=…`: 207 `[AlpacaCloseResult]`.
    public static let closePositions = Route(.delete, "/v2/positions")
    /// `GET /v2/positions/{symbol}`: `AlpacaPositionView`.
    public static let position = Route(.get, "/v2/positions/{symbol}")
    /// `DELETE /v2/positions/{symbol}?qty=|percentage=`: the closing `AlpacaOrderView`.
    public static let closePosition = Route(.delete, "/v2/positions/{symbol}")
    /// `GET /v2/account`: `AlpacaAccountView`, the member's allocation.
    public static let account = Route(.get, "/v2/account")
    /// `GET /v2/clock`: `AlpacaClockView`.
    public static let clock = Route(.get, "/v2/clock")
    /// `GET /v2/calendar?start=&end=`: `[AlpacaCalendarDay]`.
    public static let calendar = Route(.get, "/v2/calendar")
    /// `GET /v2/assets/{symbol}`: `AlpacaAssetView`.
    public static let asset = Route(.get, "/v2/assets/{symbol}")
    /// `GET /v2/stocks/{symbol}/trades/latest`.
    public static let latestTrade = Route(.get, "/v2/stocks/{symbol}/trades/latest")
    /// `GET /v2/stocks/{symbol}/quotes/latest`.
    public static let latestQuote = Route(.get, "/v2/stocks/{symbol}/quotes/latest")
    /// `GET /v2/stocks/{symbol}/bars/latest`.
    public static let latestBar = Route(.get, "/v2/stocks/{symbol}/bars/latest")
    /// `GET /v2/stocks/trades/latest?symbols=…`.
    public static let latestTrades = Route(.get, "/v2/stocks/trades/latest")
    /// `GET /v2/stocks/quotes/latest?symbols=…`.
    public static let latestQuotes = Route(.get, "/v2/stocks/quotes/latest")
    /// `GET /v2/stocks/bars/latest?symbols=…`.
    public static let latestBars = Route(.get, "/v2/stocks/bars/latest")

    /// Every `/v2` REST route, in the order a 404 lists them.
    public static let all: [Route] = [
        placeOrder, orders, cancelOrders, orderByClientId, order, cancelOrder, replaceOrder, positions,
        closePositions, position, closePosition, account, clock, calendar, asset, latestTrade, latestQuote,
        latestBar, latestTrades, latestQuotes, latestBars,
    ]

    /// The WebSocket streams: `trade_updates` at `/stream` (and `/stream/`, as the older SDK asks).
    public static let tradingStreamPaths = ["/stream", "/stream/"]
    /// Whether `path` is in the Alpaca API's part of the desk (`/v2/…`, `/stream`):
    /// what no route there takes is answered in Alpaca's error shape.
    public static func covers(_ path: String) -> Bool {
        path == "/v2" || path.hasPrefix("/v2/") || path.hasPrefix("/v2:") || tradingStreamPaths.contains(path)
    }

    /// Alpaca's 405 naming the methods `path` takes, or its 404 listing what the desk serves.
    public static func refusal(method: String, path: String) -> AlpacaError {
        let methods = all.filter { $0.matches(path) }.map(\.method.rawValue)
        if !methods.isEmpty {
            return AlpacaError(
                status: 405, message: "method not allowed: \(path) takes \(methods.joined(separator: ", "))")
        }
        let listed = all.map(\.description).joined(separator: ", ")
        return AlpacaError(
            status: 404,
            message:
                "endpoint not found: \(method) \(path) is not part of the desk's Alpaca-compatible API, which serves \(listed); streams at /stream (trade_updates) and /v2/iex, /v2/sip, /v2/test"
        )
    }

    /// The market data stream's feeds, at `/v2/<feed>`; all carry the desk's own feed.
    public static let dataStreamFeeds = ["iex", "sip", "test"]
}

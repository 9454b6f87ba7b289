import Foundation

/// Where the Alpaca account and its streams are, and its keys. Read from the
/// seed's environment variables; the keys never appear in `description`.
public struct AlpacaSettings: Sendable, CustomStringConvertible {
    public static let paperBaseURL = "https://paper-api.alpaca.markets"
    public static let dataURL = "https://data.alpaca.markets"
    public static let dataStreamURL = "wss://stream.data.alpaca.markets/v2"

    public var keyID: String
    public var secretKey: String
    /// Trading REST base (`APCA_API_BASE_URL`), without `/v2`.
    public var baseURL: String
    /// Market data REST (`APCA_API_DATA_URL`).
    public var dataURL: String
    /// Market data stream base (`APCA_API_DATA_STREAM_URL`); the feed is appended.
    public var dataStreamURL: String
    /// `iex` or `sip` (`APCA_DATA_FEED`).
    public var dataFeed: String

    public init(
        keyID: String, secretKey: String, baseURL: String = paperBaseURL, dataURL: String = dataURL,
        dataStreamURL: String = dataStreamURL, dataFeed: String = "iex"
    ) {
        self.keyID = keyID
        self.secretKey = secretKey
        self.baseURL = baseURL
        self.dataURL = dataURL
        self.dataStreamURL = dataStreamURL
        self.dataFeed = dataFeed
    }

    /// The trade_updates stream: `<base>/stream` with http(s) turned into ws(s), as Alpaca's SDKs derive it.
    public var tradingStreamURL: String {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        if url.hasPrefix("https://") {
            url = "wss://" + url.dropFirst("https://".count)
        } else if url.hasPrefix("http://") {
            url = "ws://" + url.dropFirst("http://".count)
        }
        return url + "/stream"
    }

    public var description: String {
        "Alpaca at \(baseURL) (key \(AlpacaSettings.redacted(keyID))), data \(dataStreamURL)/\(dataFeed)"
    }

    /// The first four characters of a key, the rest hidden.
    public static func redacted(_ key: String) -> String { String(key.prefix(4)) + "…" }
}

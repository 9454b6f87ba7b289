import AlpacaBroker
import AlpacaData
import Testing

@Suite("Alpaca settings")
struct AlpacaSettingsTests {
    @Test(
        "the trade_updates stream is derived from the base URL",
        arguments: [
            ("https://paper-api.alpaca.markets", "wss://paper-api.alpaca.markets/stream"),
            ("https://api.alpaca.markets/", "wss://api.alpaca.markets/stream"),
            ("http://127.0.0.1:9000", "ws://127.0.0.1:9000/stream"),
        ])
    func streamURL(base: String, stream: String) {
        #expect(AlpacaSettings(keyID: "k", secretKey: "s", baseURL: base).tradingStreamURL == stream)
    }

    @Test("the description never shows the secret, only the key's first characters")
    func redaction() {
        let settings = AlpacaSettings(keyID: "PKABCDEFGHIJ", secretKey: "topsecretvalue")
        #expect(!settings.description.contains("topsecretvalue"))
        #expect(!settings.description.contains("PKABCDEFGHIJ"))
        #expect(settings.description.contains("PKAB…"))
    }
}

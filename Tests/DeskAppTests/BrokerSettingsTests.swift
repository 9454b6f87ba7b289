import AlpacaBroker
import DeskApp
import DeskAppTestSupport
import Testing

@Suite("Choosing the broker")
struct BrokerSettingsTests {
    static let keys = ["APCA_API_KEY_ID": "PKKEY", "APCA_API_SECRET_KEY": "secret-value"]

    @Test(
        "--broker and the APCA_* variables are checked with messages that say what to set",
        arguments: [
            ([], [:], nil),
            (["--broker", "paper"], [:], nil),
            (["--broker", "alpaca"], [:], "--broker alpaca needs APCA_API_KEY_ID and APCA_API_SECRET_KEY"),
            (["--broker", "alpaca"], ["APCA_API_KEY_ID": "PKKEY"], "--broker alpaca needs APCA_API_SECRET_KEY"),
            (
                ["--broker", "alpaca"], keys.merging(["APCA_API_BASE_URL": "ftp://x"]) { $1 },
                "APCA_API_BASE_URL=ftp://x must start with https://"
            ),
            (
                ["--broker", "alpaca"], keys.merging(["APCA_DATA_FEED": "otc"]) { $1 },
                "APCA_DATA_FEED=otc must be iex or sip"
            ),
            (["--broker", "alpaca"], keys, nil),
            (
                ["--broker", "ib"], [:],
                "The value 'ib' is invalid for '--broker <broker>'. Please provide one of 'paper' and 'alpaca'."
            ),
            ([], ["DESK_BROKER": "ib"], "DESK_BROKER=ib is not a valid --broker: use paper, alpaca"),
        ] as [([String], [String: String], String?)])
    func broker(arguments: [String], environment: [String: String], problem: String?) {
        switch serveConfiguration(arguments, environment) {
        case .success(let configuration):
            #expect(problem == nil)
            #expect(configuration.defaultVenue == (arguments.last ?? "paper"))
            #expect(configuration.venues.map(\.name) == (arguments.last == "alpaca" ? ["paper", "alpaca"] : ["paper"]))
        case .failure(let failure):
            #expect(problem.map { failure.message.hasPrefix($0) } == true, "\(failure.message)")
        }
    }

    @Test("the default Alpaca endpoint is the paper one, the stream derived from it; the secret is never described")
    func defaults() throws {
        guard case .success(let configuration) = serveConfiguration(["--broker", "alpaca"], Self.keys),
            let venue = configuration.venues.first(where: { $0.name == "alpaca" }),
            let settings = (venue.settings as? AlpacaVenue.Settings)?.account
        else {
            Issue.record("expected an Alpaca configuration")
            return
        }
        #expect(settings.baseURL == "https://paper-api.alpaca.markets")
        #expect(settings.tradingStreamURL == "wss://paper-api.alpaca.markets/stream")
        #expect(settings.dataFeed == "iex")
        #expect(!"\(settings)".contains("secret-value"))
    }
}

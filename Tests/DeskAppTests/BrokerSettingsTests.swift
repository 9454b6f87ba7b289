import DeskApp
import DeskAppTestSupport
import DeskHTTP
import DeskIdentity
import Testing

@Suite("Choosing the broker")
struct BrokerSettingsTests {
    static let keys = ["APCA_API_KEY_ID": "PKKEY", "APCA_API_SECRET_KEY": "secret-value"]

    @Test(
        "--broker and the APCA_* variables are checked with messages that say what to set",
        arguments: [
            (nil, [:], nil),
            ("paper", [:], nil),
            ("alpaca", [:], "--broker alpaca needs APCA_API_KEY_ID and APCA_API_SECRET_KEY"),
            ("alpaca", ["APCA_API_KEY_ID": "PKKEY"], "--broker alpaca needs APCA_API_SECRET_KEY"),
            (
                "alpaca", keys.merging(["APCA_API_BASE_URL": "ftp://x"]) { $1 },
                "APCA_API_BASE_URL=ftp://x must start with https://"
            ),
            ("alpaca", keys.merging(["APCA_DATA_FEED": "otc"]) { $1 }, "APCA_DATA_FEED=otc must be iex or sip"),
            ("alpaca", keys, nil),
            ("ib", [:], "--broker ib is not a broker: use paper or alpaca"),
        ] as [(String?, [String: String], String?)])
    func broker(flag: String?, environment: [String: String], problem: String?) {
        switch ServeSettings(broker: flag).resolve(environment: environment) {
        case .success(let configuration):
            #expect(problem == nil)
            #expect(configuration.broker.name == (flag ?? "paper"))
        case .failure(let failure):
            #expect(problem.map { failure.message.hasPrefix($0) } == true, "\(failure.message)")
        }
    }

    @Test("the default Alpaca endpoint is the paper one, the stream derived from it; the secret is never described")
    func defaults() throws {
        guard case .success(let configuration) = ServeSettings(broker: "alpaca").resolve(environment: Self.keys),
            case .alpaca(let settings, _) = configuration.broker
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

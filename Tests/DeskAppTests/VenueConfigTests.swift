import AlpacaBroker
import DeskApp
import DeskAppTestSupport
import DeskBroker
import DeskCore
import DeskPromotion
import DeskTestSupport
import Foundation
import Testing

/// A kind no desk ships: registered by a test alone, the way a new broker would plug in.
struct StubVenueSettings: VenueSettings {
    static let kind = VenueKind("stub")
    var label: String

    func makeVenue(name: String, context: VenueContext) -> any Venue {
        PaperVenue(name: name, prices: context.prices, clock: context.clock)
    }
}

@Suite("Venues in the config file")
struct VenueConfigTests {
    static let live =
        #""live": {"broker": "alpaca", "base_url": "http://127.0.0.1:9", "key_id_variable": "LIVE_KEY", "secret_key_variable": "LIVE_SECRET", "requires_approval": true}"#
    static let keys = ["LIVE_KEY": "PKLIVE", "LIVE_SECRET": "live-secret-value"]

    static func parse(_ text: String, kinds: VenueKinds = .standard) throws(ConfigurationError) -> DeskConfigFile {
        try DeskConfigFile.parse(Array(text.utf8), path: "desk.json", kinds: kinds)
    }

    @Test(
        "good venues: paper always first, the rest by name, the default as given (paper without one)",
        arguments: [
            (#"{}"#, nil, nil),
            (#"{"default_venue": "paper"}"#, ["paper"], "paper"),
            (#"{"venues": {"paper_b": {"broker": "paper"}}}"#, ["paper", "paper_b"], "paper"),
            (
                #"{"venues": {"# + live + #", "paper": {"broker": "paper"}}, "default_venue": "live"}"#,
                ["paper", "live"], "live"
            ),
        ] as [(String, [String]?, String?)])
    func goodVenues(text: String, names: [String]?, defaultVenue: String?) throws {
        let config = try Self.parse(text)
        #expect(config.venues?.map(\.name) == names)
        #expect(config.defaultVenue == defaultVenue)
    }

    @Test("a venue's promotion rules: requires_approval, min_paper_days and min_fills, none when not given")
    func promotionRules() throws {
        let config = try Self.parse(
            #"{"venues": {"gated": {"broker": "paper", "requires_approval": true, "promotion": {"min_paper_days": 5, "min_fills": 20}}}}"#
        )
        let gated = try #require(config.venues?.first { $0.name == "gated" })
        #expect(gated.requiresApproval && gated.minPaperDays == 5 && gated.minFills == 20)
        let paper = try #require(config.venues?.first { $0.name == "paper" })
        #expect(!paper.requiresApproval && paper.minPaperDays == nil && paper.minFills == nil)
        var desk = DeskConfiguration()
        desk.venues = config.venues ?? []
        #expect(
            desk.promotionRules
                == PromotionRules(venues: [
                    "paper": VenueEntryRules(),
                    "gated": VenueEntryRules(requiresApproval: true, minPaperDays: 5, minFills: 20),
                ]))
    }

    @Test("an Alpaca venue keeps its URL, the names of its key variables and requires_approval; no keys")
    func alpacaEntry() throws {
        let config = try Self.parse(#"{"venues": {\#(Self.live)}}"#)
        let live = try #require(config.venues?.first { $0.name == "live" })
        #expect(live.kind == .alpaca && live.requiresApproval)
        let settings = try #require(live.settings as? AlpacaVenue.Settings)
        #expect(settings.baseURL == "http://127.0.0.1:9")
        #expect(settings.keyIDVariable == "LIVE_KEY" && settings.secretKeyVariable == "LIVE_SECRET")
        #expect(settings.account == nil, "the keys are read from the environment at start, never from the file")
        #expect(config.venues?.first?.requiresApproval == false)
    }

    @Test(
        "bad venues: each problem names what was wrong and what is allowed",
        arguments: [
            (
                #"{"venues": {"ib": {"broker": "ibkr"}}}"#,
                #"desk.json:1:20: "venues.ib": broker "ibkr" is not a kind of venue: use alpaca or paper"#
            ),
            (
                #"{"venues": {"x": {"base_url": "https://a"}}}"#,
                #"desk.json:1:13: "venues.x.broker" is required"#
            ),
            (
                #"{"default_venue": "live"}"#,
                #"desk.json: default_venue "live" is not a configured venue: use one of paper"#
            ),
            (
                #"{"venues": {"paper_b": {"broker": "paper"}}, "default_venue": "paper-b"}"#,
                #"default_venue "paper-b" is not a configured venue: use one of paper, paper_b"#
            ),
            (
                #"{"venues": {"paper": {"broker": "alpaca", "key_id_variable": "K", "secret_key_variable": "S"}}}"#,
                #"venues.paper is the desk's embedded paper broker: its broker must be "paper", not "alpaca""#
            ),
            (
                #"{"venues": {"bad name": {"broker": "paper"}}}"#,
                #"desk.json: venue name "bad name" is not a name"#
            ),
            (
                #"{"venues": {"live": {"broker": "alpaca", "secret_key_variable": "S"}}}"#,
                #""venues.live.key_id_variable" is required"#
            ),
            (
                #"{"venues": {"live": {"broker": "alpaca", "key_id_variable": "PK ABC", "secret_key_variable": "S"}}}"#,
                #"key_id_variable "PK ABC" must name an environment variable"#
            ),
            (
                #"{"venues": {"live": {"broker": "alpaca", "base_url": "ftp://x", "key_id_variable": "K", "secret_key_variable": "S"}}}"#,
                #"base_url "ftp://x" must start with https://"#
            ),
            (
                #"{"venues": {"live": {"broker": "alpaca", "key_id": "PK", "key_id_variable": "K", "secret_key_variable": "S"}}}"#,
                #"unknown key "venues.live.key_id"; allowed here: broker, requires_approval, promotion, base_url, key_id_variable, secret_key_variable"#
            ),
            (
                #"{"venues": {"p2": {"broker": "paper", "base_url": "https://a"}}}"#,
                #"unknown key "venues.p2.base_url"; allowed here: broker, requires_approval, promotion"#
            ),
            (
                #"{"venues": {"p2": {"broker": "paper", "requires_approval": "yes"}}}"#,
                #""venues.p2.requires_approval""#
            ),
            (
                #"{"venues": {"p2": {"broker": "paper", "promotion": {"min_paper_days": 0}}}}"#,
                #""venues.p2.promotion.min_paper_days" must be a positive whole number"#
            ),
            (
                #"{"venues": {"p2": {"broker": "paper", "promotion": {"min_fills": "20"}}}}"#,
                #""venues.p2.promotion.min_fills" must be a positive whole number"#
            ),
            (
                #"{"venues": {"p2": {"broker": "paper", "promotion": {"min_days": 5}}}}"#,
                #"unknown key "venues.p2.promotion.min_days"; allowed here: min_paper_days, min_fills"#
            ),
        ])
    func badVenues(text: String, fragment: String) {
        do {
            _ = try Self.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(error.message.hasPrefix("config file desk.json"))
        }
    }

    @Test("a kind registered by a test alone is read and built without a change to generic code")
    func registeredKind() async throws {
        let text = #"{"venues": {"sim": {"broker": "stub", "label": "k8s-like"}}, "default_venue": "sim"}"#
        #expect(throws: ConfigurationError.self) { try Self.parse(text) }
        let config = try Self.parse(text, kinds: .standard.registering(StubVenueSettings.self))
        let sim = try #require(config.venues?.first { $0.name == "sim" })
        #expect((sim.settings as? StubVenueSettings)?.label == "k8s-like")
        try await withRunningDesk {
            $0.venues = config.venues ?? []
            $0.defaultVenue = "sim"
        } _: { desk in
            #expect(desk.venues.names == ["paper", "sim"])
            #expect(desk.venues.defaultVenue.name == "sim")
            #expect(desk.venues["sim"]?.kind == VenueKind.paper, "the stub builds a paper venue under its own name")
        }
    }

    /// `desk serve --config FILE` with `environment`, the file holding `text`.
    static func serve(_ text: String, _ arguments: [String] = [], _ environment: [String: String] = keys) throws
        -> Result<DeskConfiguration, ServeRefusal>
    {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try Data(text.utf8).write(to: folder.url.appendingPathComponent("desk.json"))
        return serveConfiguration(["--config", folder.path("desk.json")] + arguments, environment)
    }

    @Test(
        "at start each venue's keys come from the variables it names; a missing one is named, the keys never shown",
        arguments: [
            ([:], #"venue "live" (alpaca) needs LIVE_KEY and LIVE_SECRET in the environment"#),
            (["LIVE_KEY": "PKLIVE"], #"venue "live" (alpaca) needs LIVE_SECRET in the environment"#),
            (["LIVE_KEY": "PKLIVE", "LIVE_SECRET": ""], "needs LIVE_SECRET"),
        ])
    func missingKeys(environment: [String: String], problem: String) throws {
        guard case .failure(let failure) = try Self.serve(#"{"venues": {\#(Self.live)}}"#, [], environment) else {
            Issue.record("started without the keys")
            return
        }
        #expect(failure.message.contains(problem), "\(failure.message)")
        #expect(!failure.message.contains("PKLIVE"))
    }

    @Test("resolved: the keys from the environment; --broker chooses the default over default_venue")
    func resolved() throws {
        let text = #"{"venues": {\#(Self.live)}, "default_venue": "live"}"#
        let configuration = try Self.serve(text).get()
        #expect(configuration.venues.map(\.name) == ["paper", "live"])
        #expect(configuration.defaultVenue == "live")
        let account = try #require((configuration.venues[1].settings as? AlpacaVenue.Settings)?.account)
        #expect(account.keyID == "PKLIVE" && account.secretKey == "live-secret-value")
        #expect(account.baseURL == "http://127.0.0.1:9")
        #expect(try Self.serve(text, ["--broker", "paper"]).get().defaultVenue == "paper")
        let both = try Self.serve(
            text, ["--broker", "alpaca"],
            Self.keys.merging(["APCA_API_KEY_ID": "PK", "APCA_API_SECRET_KEY": "s"]) { $1 }
        ).get()
        #expect(both.venues.map(\.name) == ["paper", "live", "alpaca"] && both.defaultVenue == "alpaca")
    }

    @Test("--broker alpaca and a config venue named alpaca: refused, saying how to choose")
    func brokerFlagClash() throws {
        let text =
            #"{"venues": {"alpaca": {"broker": "alpaca", "key_id_variable": "LIVE_KEY", "secret_key_variable": "LIVE_SECRET"}}}"#
        let environment = Self.keys.merging(["APCA_API_KEY_ID": "PK", "APCA_API_SECRET_KEY": "s"]) { $1 }
        guard case .failure(let failure) = try Self.serve(text, ["--broker", "alpaca"], environment) else {
            Issue.record("two venues named alpaca")
            return
        }
        #expect(failure.message.contains(#"set "default_venue": "alpaca" instead"#), "\(failure.message)")
        #expect(try Self.serve(text, [], environment).get().defaultVenue == "paper")
    }
}

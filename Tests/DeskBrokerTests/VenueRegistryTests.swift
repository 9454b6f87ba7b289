import DeskBroker
import DeskCore
import Foundation
import Logging
import Testing

/// A kind only this test knows.
private struct EchoSettings: VenueSettings {
    static let kind = VenueKind("echo")
    var lotSize: Int

    func makeVenue(name: String, context: VenueContext) -> any Venue {
        PaperVenue(name: name, prices: context.prices, clock: context.clock)
    }
}

@Suite("The venue registry")
struct VenueRegistryTests {
    static let context = VenueContext(prices: PriceBook(), logger: Logger(label: "venue-test"))

    @Test("kinds are registered, looked up by kind and listed by name")
    func kinds() throws {
        let kinds = VenueKinds().registering(PaperVenue.Settings.self).registering(EchoSettings.self)
        #expect(kinds.kinds == [VenueKind("echo"), .paper])
        #expect(kinds.reader(for: .paper) != nil)
        #expect(kinds.reader(for: .alpaca) == nil, "a kind nobody registered is unknown")
    }

    @Test(
        "the names of a desk's venues: identifiers, each once, the default among them",
        arguments: [
            (["paper"], "paper", nil),
            (["paper", "live", "paper_b"], "live", nil),
            (["paper", "live"], "demo", #"default_venue "demo" is not a configured venue: use one of live, paper"#),
            (["paper", "paper"], "paper", #"venue "paper" is configured twice"#),
            (["paper", "a/b"], "paper", #"venue name "a/b" is not a name"#),
            ([], "paper", #"default_venue "paper" is not a configured venue"#),
        ] as [([String], String, String?)])
    func names(names: [String], defaultVenue: String, problem: String?) {
        let found = VenueConfiguration.problem(names: names, defaultVenue: defaultVenue)
        #expect(found.map { $0.hasPrefix(problem ?? "-") } ?? (problem == nil), "\(found ?? "fine")")
    }

    @Test("venues are built by their kinds' factories and found by name; the default is the one named")
    func built() throws {
        let venues = try Venues(
            [
                VenueConfiguration(name: "paper", settings: PaperVenue.Settings()),
                VenueConfiguration(name: "echo_a", settings: EchoSettings(lotSize: 10), requiresApproval: true),
                VenueConfiguration(name: "paper_b", settings: PaperVenue.Settings(slippageBps: 5)),
            ], defaultName: "paper_b", context: Self.context)
        #expect(venues.names == ["paper", "echo_a", "paper_b"])
        #expect(venues.defaultVenue.name == "paper_b")
        #expect(venues["echo_a"]?.name == "echo_a")
        #expect(venues["nowhere"] == nil)
        #expect(throws: VenueConfigurationError.self) {
            try Venues([PaperVenue(name: "a"), PaperVenue(name: "a")], defaultName: "a")
        }
        #expect(throws: VenueConfigurationError.self) { try Venues([PaperVenue(name: "a")], defaultName: "b") }
    }

    @Test("capabilities: the paper venue reconciles nothing and is told the session close")
    func paperCapabilities() {
        let paper = PaperVenue()
        #expect(paper.capabilities.isEmpty)
        #expect(paper.reconciling == nil)
        #expect(paper.journaling == .withDecision)
        #expect(paper.kind == .paper)
    }

    @Test("the price book: observed trades are kept and told to the paper venues; recorded ones are only kept")
    func priceBook() async throws {
        let prices = PriceBook()
        let clock = WallClock()
        let first = PaperVenue(name: "paper", prices: prices, clock: clock)
        let second = PaperVenue(name: "paper_b", prices: prices, clock: clock)
        let order = Order(
            id: "o1", member: "alice",
            terms: OrderTerms(symbol: "AAPL", qty: 1, side: .buy, type: .limit, timeInForce: .day, limitPrice: 100),
            placedAt: Date())
        _ = try await first.submit(order, resubmission: false)
        _ = try await second.submit(order, resubmission: false)
        prices.record(PriceBook.Line(symbol: "AAPL", price: 99, size: nil, at: Date()))
        #expect(prices.lastPrice("AAPL") == 99)
        prices.observe(PriceBook.Line(symbol: "AAPL", price: 98, size: nil, at: Date()))
        #expect(prices.lastPrice("AAPL") == 98)
        first.finish()
        second.finish()
        var firstFills = 0
        for await update in first.updates { if case .fill = update.event { firstFills += 1 } }
        var secondFills = 0
        for await update in second.updates { if case .fill = update.event { secondFills += 1 } }
        #expect(firstFills == 1 && secondFills == 1, "each paper venue fills its own resting order once, at 98")
    }
}

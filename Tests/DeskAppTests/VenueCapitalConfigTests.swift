import DeskApp
import DeskAppTestSupport
import DeskCore
import DeskTestSupport
import Foundation
import Testing

@Suite("Capital per venue in the config file")
struct VenueCapitalConfigTests {
    static func parse(_ text: String) throws(ConfigurationError) -> DeskConfigFile {
        try DeskConfigFile.parse(Array(text.utf8), path: "desk.json")
    }

    @Test(
        "a member's capital: one amount for every venue, or one per venue",
        arguments: [
            (#"{"risk": {"members": {"alice": {"capital": "5000"}}}}"#, "5000", "5000", [:]),
            (
                #"{"risk": {"members": {"alice": {"capital": {"paper": "100000", "live": 5000}}}}}"#, "100000", "5000",
                ["paper": Decimal(100_000), "live": Decimal(5000)]
            ),
            (#"{"risk": {"members": {"alice": {"capital": {"live": "5000"}}}}}"#, nil, "5000", ["live": Decimal(5000)]),
        ] as [(String, String?, String?, [String: Decimal])])
    func capitalForms(text: String, paper: String?, live: String?, byVenue: [String: Decimal]) throws {
        let risk = try Self.parse(text).risk
        #expect(risk.venueCapital["alice"] ?? [:] == byVenue)
        #expect(risk.capital(for: "alice", venue: "paper") == paper.flatMap { Decimal(string: $0) })
        #expect(risk.capital(for: "alice", venue: "live") == live.flatMap { Decimal(string: $0) })
        #expect(risk.capital(for: "bob", venue: "live") == nil)
    }

    @Test(
        "bad capital is refused, saying what is allowed",
        arguments: [
            (#"{"risk": {"members": {"alice": {"capital": {"live": "-5"}}}}}"#, "must be a positive decimal"),
            (#"{"risk": {"defaults": {"capital": {"live": "5"}}}}"#, "capital per venue is given per member"),
        ])
    func badCapital(text: String, message: String) {
        #expect {
            _ = try Self.parse(text)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test("a capital for a venue the desk does not have is a start-up error naming it and the desk's venues")
    func unknownVenueInCapital() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        var configuration = DeskConfiguration(databasePath: folder.path("desk.db"))
        configuration.risk = try Self.parse(#"{"risk": {"members": {"alice": {"capital": {"lvie": "5000"}}}}}"#).risk
        #expect {
            _ = try DeskApplication(configuration: configuration, logger: testLogger())
        } throws: { error in
            "\(error)".contains("\"lvie\"") && "\(error)".contains("its venues are paper")
        }
    }
}

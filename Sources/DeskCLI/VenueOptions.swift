import ArgumentParser
import DeskApp
import DeskCore
import DeskServices
import Foundation

/// `--venue NAME` and the config file that says which venues the desk has
/// (`--config`, env DESK_CONFIG, as `desk serve` reads it): for the commands
/// that read or write the ledger file directly (`desk orders`, `positions`,
/// `tokens issue`, `reconcile`).
public struct VenueOptions: ParsableArguments {
    @Option(help: "Only this venue (paper, live, …); without it, every venue.") public var venue: String?
    @Option(help: "The desk's JSON config file, for its venues (env DESK_CONFIG).") public var config: String?

    public init() {}
}

/// The venues a desk has, as the CLI knows them: from its config file (with
/// `DESK_BROKER=alpaca`'s `alpaca`), or, without one, `paper` and every venue
/// the ledger already has rows for.
public struct DeskVenueNames: Sendable, Equatable {
    /// Every venue's name, in the config's order.
    public var names: [String]
    /// Where orders of a token issued without a venue go.
    public var defaultVenue: String
    /// Where the names came from (for messages).
    public var source: String

    public init(names: [String], defaultVenue: String, source: String) {
        self.names = names
        self.defaultVenue = defaultVenue
        self.source = source
    }

    /// The desk's venues: from the config file at `configPath` (nil: none given),
    /// `broker` being `DESK_BROKER`; without a file, `paper` plus `ledgerVenues`.
    public static func read(configPath: String?, broker: String?, ledgerVenues: [String]) throws -> DeskVenueNames {
        let paper = DeskConfiguration.paperVenue
        var names: [String]
        var defaultVenue: String
        let source: String
        if let configPath {
            let file: DeskConfigFile
            do { file = try DeskConfigFile.load(path: configPath) } catch { throw DeskCommandError(error.message) }
            names = file.venues?.map(\.name) ?? [paper]
            defaultVenue = file.defaultVenue ?? paper
            source = "the config file \(configPath)"
        } else {
            names = [paper] + ledgerVenues.filter { $0 != paper && !$0.isEmpty }.sorted()
            defaultVenue = paper
            source = "the ledger (give --config or DESK_CONFIG to read the desk's config file)"
        }
        if broker == "alpaca" {
            if !names.contains("alpaca") { names.append("alpaca") }
            defaultVenue = "alpaca"
        }
        return DeskVenueNames(names: names, defaultVenue: defaultVenue, source: source)
    }

    /// `venue` when the desk has it; otherwise a refusal naming it and the desk's venues.
    public func check(_ venue: String?) throws -> String? {
        guard let venue else { return nil }
        guard names.contains(venue) else {
            throw DeskCommandError(
                "venue \"\(venue)\" is not one of this desk's venues: \(names.joined(separator: ", ")) (from \(source))"
            )
        }
        return venue
    }
}

extension VenueOptions {
    /// The desk's venues for a ledger at `path` (read only when no config file is given).
    func venueNames(ledgerAt path: String) async throws -> DeskVenueNames {
        let environment = DeskEnvironment()
        let configPath = config ?? environment[.config]
        var ledgerVenues: [String] = []
        if configPath == nil, FileManager.default.fileExists(atPath: path) {
            ledgerVenues = try await Portfolio.reading(ledgerAt: path).venues()
        }
        return try DeskVenueNames.read(
            configPath: configPath, broker: environment[.broker], ledgerVenues: ledgerVenues)
    }
}

import DeskBroker
import DeskCore
import Foundation
import Logging

/// The desk's exchange calendar from its venues: when a venue's broker publishes
/// one (Alpaca's `/v2/calendar`), its days from a week ago to a year ahead take
/// the place of the NYSE rules; a broker that cannot be asked leaves the rules.
enum VenueCalendar {
    /// `configuration` with the calendar of its first venue (configuration order) that publishes one.
    /// A daily schedule (the config file's `session.close`) is kept as it is.
    static func adopt(_ configuration: DeskConfiguration, now: Date = Date(), logger: Logger) async
        -> DeskConfiguration
    {
        guard configuration.session.schedule == .exchange else { return configuration }
        let today = configuration.session.day(of: now)
        let days = today.adding(days: -7)...today.adding(days: 366)
        for venue in configuration.venues {
            do {
                guard let sessions = try await venue.settings.publishedSessions(days) else { continue }
                var adopted = configuration
                adopted.session = configuration.session.publishing(sessions, covering: days)
                logger.info(
                    "exchange calendar from the venue's broker",
                    metadata: [
                        "venue": "\(venue.name)", "sessions": "\(sessions.count)", "from": "\(days.lowerBound)",
                        "through": "\(days.upperBound)",
                    ])
                return adopted
            } catch {
                logger.warning(
                    "could not read the venue's exchange calendar; the desk follows the NYSE rules",
                    metadata: ["venue": "\(venue.name)", "error": "\(error)"])
            }
        }
        return configuration
    }
}

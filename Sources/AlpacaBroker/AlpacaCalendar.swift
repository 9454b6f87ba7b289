import AlpacaData
import DeskBroker
import DeskCore
import Foundation

/// Alpaca's exchange calendar (`GET /v2/calendar?start=&end=`): one entry per
/// trading day, `{"date": "2026-11-27", "open": "09:30", "close": "13:00"}` in
/// New York time.
public enum AlpacaCalendar {
    struct Day: Decodable {
        var date: String
        var open: String
        var close: String
    }

    /// The days of a calendar reply, by day; an entry that is not a day is an error naming it.
    public static func sessions(from body: [UInt8]) throws(BrokerError) -> [TradingDay: SessionHours] {
        let days: [Day]
        do { days = try JSONDecoder().decode([Day].self, from: Data(body)) } catch {
            throw .unavailable("Alpaca's calendar is not a list of {date, open, close}: \(error)")
        }
        var sessions: [TradingDay: SessionHours] = [:]
        for entry in days {
            guard let day = TradingDay(entry.date), let open = ClockTime(entry.open),
                let close = ClockTime(entry.close),
                open < close
            else {
                throw .unavailable(
                    "Alpaca's calendar has a day that is not one: \(entry.date) \(entry.open)–\(entry.close)")
            }
            sessions[day] = SessionHours(open: open, close: close)
        }
        return sessions
    }

    /// Asks the account's Alpaca for its calendar of `days`.
    static func fetch(settings: AlpacaSettings, days: ClosedRange<TradingDay>, timeout: Duration)
        async throws(BrokerError) -> [TradingDay: SessionHours]
    {
        let rest = AlpacaREST(settings: settings, pacer: RequestPacer(), timeout: timeout)
        let reply: AlpacaReply
        do {
            reply = try await rest.send(
                .GET, "/v2/calendar",
                query: [("start", days.lowerBound.description), ("end", days.upperBound.description)], member: "")
        } catch {
            await rest.shutdown()
            throw error
        }
        await rest.shutdown()
        guard reply.status == 200 else {
            throw .unavailable("Alpaca answered its calendar with HTTP \(reply.status): \(reply.errorMessage)")
        }
        return try sessions(from: reply.body)
    }
}

extension AlpacaVenue.Settings {
    /// The account's calendar from Alpaca (`GET /v2/calendar`).
    public func publishedSessions(_ days: ClosedRange<TradingDay>) async throws -> [TradingDay: SessionHours]? {
        guard let account else { return nil }
        return try await AlpacaCalendar.fetch(settings: account, days: days, timeout: options.requestTimeout)
    }
}

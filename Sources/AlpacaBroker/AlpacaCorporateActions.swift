import AlpacaData
import DeskBroker
import DeskCore
import Foundation

/// Alpaca's corporate-action announcements (`GET /v2/corporate_actions/announcements
/// ?ca_types=split,dividend&since=&until=`, at most 90 days): splits (`ca_sub_type`
/// `forward_split`/`reverse_split`, `new_rate` shares for `old_rate`) and cash
/// dividends (`cash` per share), each under Alpaca's announcement id.
public enum AlpacaAnnouncements {
    struct Announcement: Decodable {
        var id: String
        var ca_type: String
        var ca_sub_type: String?
        var initiating_symbol: String?
        var target_symbol: String?
        var ex_date: String?
        var payable_date: String?
        var cash: String?
        var old_rate: String?
        var new_rate: String?
    }

    /// The splits and cash dividends of a reply, in ex-date order; other announcements
    /// (mergers, spinoffs, stock dividends) and ones without what they need are left out.
    public static func actions(from body: [UInt8]) throws(BrokerError) -> [CorporateAction] {
        let announcements: [Announcement]
        do { announcements = try JSONDecoder().decode([Announcement].self, from: Data(body)) } catch {
            throw .unavailable("Alpaca's corporate-action announcements could not be read: \(error)")
        }
        func decimal(_ text: String?) -> Decimal? {
            guard let text, case .success(let value) = ExactDecimal.parse(text), value > 0 else { return nil }
            return value
        }
        let actions = announcements.compactMap { item -> CorporateAction? in
            guard let symbol = item.target_symbol ?? item.initiating_symbol,
                let exDate = item.ex_date.flatMap(TradingDay.init)
            else { return nil }
            switch (item.ca_type, item.ca_sub_type) {
            case ("split", "forward_split"?), ("split", "reverse_split"?), ("split", nil):
                guard let old = decimal(item.old_rate), let new = decimal(item.new_rate) else { return nil }
                return CorporateAction(
                    id: "alpaca:" + item.id, symbol: symbol, exDate: exDate, kind: .split(ratio: new / old))
            case ("dividend", "cash"?), ("dividend", nil):
                guard let cash = decimal(item.cash) else { return nil }
                let payable = item.payable_date.flatMap(TradingDay.init) ?? exDate
                return CorporateAction(
                    id: "alpaca:" + item.id, symbol: symbol, exDate: exDate,
                    kind: .dividend(amount: cash, payableDate: payable))
            default:
                return nil
            }
        }
        return actions.sorted { $0.exDate < $1.exDate }
    }
}

extension AlpacaVenue {
    /// The account's splits and cash dividends with ex-dates in `days` (up to today), from Alpaca's announcements.
    public func corporateActions(_ days: ClosedRange<TradingDay>) async throws(BrokerError) -> [CorporateAction] {
        let reply = try await rest.send(
            .GET, "/v2/corporate_actions/announcements",
            query: [
                ("ca_types", "split,dividend"), ("since", days.lowerBound.description),
                ("until", days.upperBound.description), ("date_type", "ex"),
            ], member: Self.deskMember)
        guard reply.status == 200 else {
            throw .unavailable(
                "Alpaca answered its corporate-action announcements with \(reply.status): \(reply.errorMessage)")
        }
        return try AlpacaAnnouncements.actions(from: reply.body).filter { days.contains($0.exDate) }
    }
}

import AlpacaBroker
import DeskBroker
import DeskCore
import Foundation
import Testing

@Suite("Alpaca's calendar and corporate-action announcements, read")
struct AlpacaAnnouncementTests {
    @Test("announcements: forward and reverse splits by their rates, cash dividends; others left out")
    func announcements() throws {
        let body = """
            [{"id":"a1","corporate_action_id":"X","ca_type":"split","ca_sub_type":"forward_split",
              "initiating_symbol":"AAPL","target_symbol":"AAPL","ex_date":"2026-03-02","old_rate":"1","new_rate":"4"},
             {"id":"a2","ca_type":"split","ca_sub_type":"reverse_split","initiating_symbol":"XYZ",
              "target_symbol":"XYZ","ex_date":"2026-01-05","old_rate":"4","new_rate":"1"},
             {"id":"a3","ca_type":"dividend","ca_sub_type":"cash","initiating_symbol":"MSFT","target_symbol":"MSFT",
              "ex_date":"2026-02-10","payable_date":"2026-03-12","cash":"0.83"},
             {"id":"a4","ca_type":"merger","ca_sub_type":"merger_update","initiating_symbol":"A",
              "target_symbol":"B","ex_date":"2026-02-10"},
             {"id":"a5","ca_type":"split","ca_sub_type":"forward_split","target_symbol":"Q","ex_date":"2026-02-11"}]
            """
        let actions = try AlpacaAnnouncements.actions(from: Array(body.utf8))
        #expect(actions.map(\.id) == ["alpaca:a2", "alpaca:a3", "alpaca:a1"])
        #expect(actions[0].kind == .split(ratio: Decimal(string: "0.25")!))
        #expect(actions[1].kind == .dividend(amount: Decimal(string: "0.83")!, payableDate: TradingDay("2026-03-12")!))
        #expect(actions[2].kind == .split(ratio: 4) && actions[2].symbol == "AAPL")
        #expect(throws: BrokerError.self) { try AlpacaAnnouncements.actions(from: Array("{}".utf8)) }
    }

    @Test("calendar: days with HH:MM hours; a day that is not one is refused, named")
    func calendar() throws {
        let days = try AlpacaCalendar.sessions(
            from: Array(
                #"[{"date":"2026-11-27","open":"09:30","close":"13:00"},{"date":"2026-11-30","open":"09:30","close":"16:00","session_open":"0400","session_close":"2000"}]"#
                    .utf8))
        #expect(days[TradingDay("2026-11-27")!] == .early)
        #expect(days[TradingDay("2026-11-30")!] == .regular)
        #expect(throws: BrokerError.self) {
            try AlpacaCalendar.sessions(from: Array(#"[{"date":"2026-11-31","open":"09:30","close":"16:00"}]"#.utf8))
        }
    }
}

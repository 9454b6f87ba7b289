import DeskApp
import DeskBroker
import DeskCore
import Foundation
import Testing

@Suite("The config file")
struct ConfigFileTests {
    @Test("limits: defaults over the standard ones, null removes one, members override only what they set")
    func limits() throws {
        let text = """
            {"risk": {"defaults": {"max_order_qty": "1000", "max_position": null, "orders_per_second": 2.5,
                                   "denied_symbols": ["GME"]},
                      "members": {"alice": {"max_order_qty": 100, "allowed_symbols": ["AAPL"]}}},
             "session": {"close": "15:30", "time_zone": "Europe/London"}}
            """
        let config = try DeskConfigFile.parse(Array(text.utf8), path: "desk.json")
        let defaults = config.risk.defaults
        #expect(defaults.maxOrderQty == 1000)
        #expect(defaults.maxPosition == nil, "null removed the standard limit")
        #expect(defaults.maxOrderNotional == RiskLimits.standard.maxOrderNotional, "unset keeps the standard")
        #expect(defaults.ordersPerSecond == 2.5)
        #expect(defaults.deniedSymbols == ["GME"])
        let alice = config.risk.limits(for: "alice")
        #expect(alice.maxOrderQty == 100 && alice.allowedSymbols == ["AAPL"] && alice.deniedSymbols == ["GME"])
        #expect(config.session.closeHour == 15 && config.session.closeMinute == 30)
        #expect(config.session.timeZone.identifier == "Europe/London")
    }

    @Test("session: the NYSE calendar unless told; close or time_zone alone close every day, as before")
    func session() throws {
        let cases: [(String, SessionCalendar.Schedule)] = [
            (#"{}"#, .exchange), (#"{"session": {"calendar": "nyse"}}"#, .exchange),
            (#"{"session": {"close": "15:30"}}"#, .daily(close: ClockTime(hour: 15, minute: 30))),
            (#"{"session": {"calendar": "daily"}}"#, .daily(close: ClockTime(hour: 16, minute: 0))),
        ]
        for (text, schedule) in cases {
            #expect(
                try DeskConfigFile.parse(Array(text.utf8), path: "desk.json").session.schedule == schedule, "\(text)")
        }
    }

    @Test("every limit of the table is a key of the file: null in defaults removes it", arguments: RiskLimits.fields)
    func everyLimitRemovable(field: RiskLimitField) throws {
        let text = #"{"risk": {"defaults": {"\#(field.name)": null}}}"#
        let config = try DeskConfigFile.parse(Array(text.utf8), path: "desk.json")
        #expect(config.risk.defaults == RiskLimits.standard.removing([field]))
    }

    @Test(
        "problems name the file, line and column, the key and what is allowed",
        arguments: [
            (
                "{\"risk\": {\"defaults\": {\n  \"max_qty\": \"1\"}}}",
                "desk.json:2:3: unknown key \"risk.defaults.max_qty\"; allowed here: max_order_qty, max_order_notional, max_position, max_open_orders, orders_per_second, order_burst, allowed_symbols, denied_symbols"
            ),
            (
                #"{"risk": {"defaults": {"max_order_qty": "-5"}}}"#,
                #"desk.json:1:24: "risk.defaults.max_order_qty" must be a positive decimal"#
            ),
            (
                #"{"risk": {"members": {"bob": {"max_order_qty": 1.5}}}}"#,
                #"desk.json:1:31: "risk.members.bob.max_order_qty" must be a positive decimal"#
            ),
            (
                #"{"risk": {"defaults": {"order_burst": "5"}}}"#,
                #""risk.defaults.order_burst" must be a positive whole number"#
            ),
            (#"{"risk": {"defaults": {"denied_symbols": ["gme"]}}}"#, "\"risk.defaults.denied_symbols\": symbol"),
            (#"{"session": {"close": "25:00"}}"#, "desk.json: session: "),
            (
                #"{"session": {"calendar": "nyse", "close": "15:00"}}"#,
                "desk.json: session: the nyse calendar has its own hours"
            ),
            (#"{"session": {"calendar": "lse"}}"#, #"desk.json: session: calendar "lse" is unknown: use "nyse""#),
            (#"{"risks": {}}"#, #"desk.json:1:2: unknown key "risks"; allowed here: risk, session"#),
        ])
    func problems(text: String, fragment: String) {
        do {
            _ = try DeskConfigFile.parse(Array(text.utf8), path: "desk.json")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(error.message.hasPrefix("config file desk.json"))
        }
    }
}

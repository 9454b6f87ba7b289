import DeskApp
import DeskAppTestSupport
import DeskPromotion
import DeskTestSupport
import Foundation
import Testing

@Suite("Loss rules in the config file")
struct LossRulesConfigTests {
    static let venues =
        #""venues": {"live": {"broker": "paper", "loss": {"strategy": {"max_daily_loss": "500", "max_drawdown": 1500}, "member": {"max_position_value": "20000.50"}}}, "paper": {"broker": "paper", "loss": {"strategy": {"max_daily_loss": "100"}}}}"#

    static func parse(_ text: String) throws(ConfigurationError) -> DeskConfigFile {
        try DeskConfigFile.parse(Array(text.utf8), path: "desk.json")
    }

    @Test("a venue's rules, the default responses (demote off paper, stop on paper), a member's overrides")
    func goodRules() throws {
        let config = try Self.parse(
            #"{\#(Self.venues), "risk": {"members": {"alice": {"max_order_qty": "10", "loss": {"live": {"strategy": {"max_daily_loss": "250", "max_drawdown": null}, "on_breach": "stop"}}}}}}"#
        )
        let live = try #require(config.loss.venues["live"])
        #expect(live.strategy == LossLimits(maxDailyLoss: 500, maxDrawdown: 1500, onBreach: .demote))
        #expect(live.member == LossLimits(maxPositionValue: Decimal(string: "20000.50"), onBreach: .demote))
        #expect(config.loss.venues["paper"]?.strategy == LossLimits(maxDailyLoss: 100, onBreach: .stop))
        let alice = config.loss.limits(LossScope(member: "alice", strategy: "trend", venue: "live"))
        #expect(alice == LossLimits(maxDailyLoss: 250, onBreach: .stop), "her own limit, the drawdown removed")
        let aliceBook = config.loss.limits(LossScope(member: "alice", venue: "live"))
        #expect(aliceBook == LossLimits(maxPositionValue: Decimal(string: "20000.50"), onBreach: .stop))
        #expect(config.loss.limits(LossScope(member: "bob", strategy: "trend", venue: "live")) == live.strategy)
        #expect(config.risk.members["alice"] != nil, "the member's risk limits are still read beside their loss rules")
    }

    @Test("no loss entries: no rules, and a desk behaves as before")
    func none() throws {
        #expect(try Self.parse(#"{}"#).loss.isEmpty)
        #expect(try Self.parse(#"{"venues": {"live": {"broker": "paper"}}}"#).loss.isEmpty)
    }

    @Test(
        "bad loss rules: each names what was wrong and what is allowed",
        arguments: [
            (
                #"{"venues": {"live": {"broker": "paper", "loss": {"strategy": {"max_daily_loss": "-5"}}}}}"#,
                #""venues.live.loss.strategy.max_daily_loss" must be a positive decimal"#
            ),
            (
                #"{"venues": {"live": {"broker": "paper", "loss": {"strategy": {"max_daily_los": "5"}}}}}"#,
                #"unknown key "venues.live.loss.strategy.max_daily_los"; allowed here: max_daily_loss, max_drawdown, max_position_value"#
            ),
            (
                #"{"venues": {"live": {"broker": "paper", "loss": {"strategies": {}}}}}"#,
                #"unknown key "venues.live.loss.strategies"; allowed here: strategy, member, on_breach"#
            ),
            (
                #"{"venues": {"live": {"broker": "paper", "loss": {"on_breach": "liquidate"}}}}"#,
                #"on_breach "liquidate" is not a response to a breach: use "stop" or "demote""#
            ),
            (
                #"{"venues": {"paper": {"broker": "paper", "loss": {"on_breach": "demote"}}}}"#,
                #"venues.paper.loss.on_breach: a strategy on the paper venue "paper" cannot be demoted: use "stop""#
            ),
            (
                #"{"venues": {"live": {"broker": "paper"}}, "risk": {"members": {"alice": {"loss": {"lve": {}}}}}}"#,
                #"risk.members.alice.loss.lve: "lve" is not a configured venue: use one of live, paper"#
            ),
            (
                #"{"risk": {"members": {"alice": {"loss": {"live": {}}}}}}"#,
                #"risk.members.alice.loss.live: "live" is not a configured venue: use one of paper"#
            ),
            (
                #"{"risk": {"defaults": {"loss": {"paper": {}}}}}"#,
                #"risk.defaults.loss: loss rules are set per venue (venues.NAME.loss)"#
            ),
            (
                #"{"venues": {"live": {"broker": "paper", "loss": {"member": {"max_drawdown": 0}}}}}"#,
                #""venues.live.loss.member.max_drawdown" must be a positive decimal"#
            ),
        ])
    func badRules(text: String, fragment: String) {
        do {
            _ = try Self.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(error.message.hasPrefix("config file desk.json"))
        }
    }

    @Test("desk serve --config carries the rules into the desk's configuration")
    func served() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let file = folder.path("desk.json")
        try Data(#"{\#(Self.venues)}"#.utf8).write(to: URL(fileURLWithPath: file))
        let configuration = try serveConfiguration(["--config", file, "--db", folder.path("desk.db")]).get()
        #expect(configuration.loss.venues["live"]?.strategy.maxDailyLoss == 500)
    }
}

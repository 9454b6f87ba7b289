import DeskApp
import DeskAppTestSupport
import DeskLedger
import DeskRunner
import DeskTestSupport
import Foundation
import Testing

@Suite("A private desk's configuration (desk demo, desk backtest), built without an argument list")
struct PrivateDeskTests {
    static let work = URL(fileURLWithPath: "/srv/run")
    static let strategies = URL(fileURLWithPath: "/srv/strategies")

    /// What `desk backtest` used to build through `desk serve`'s flags, for the same folders.
    static func throughFlags(_ environment: [String: String], configFile: String?, pythonPath: String?) throws
        -> DeskConfiguration
    {
        var arguments = [
            "--port", "0", "--db", "/srv/run/desk.db", "--strategies-dir", strategies.path, "--logs-dir",
            "/srv/run/logs", "--unix-socket", "/srv/run/desk.sock", "--feed", "none",
        ]
        if let configFile { arguments += ["--config", configFile] }
        if let pythonPath { arguments += ["--python-path", pythonPath] }
        return try serveConfiguration(arguments, environment).get()
    }

    @Test(
        "the same desk as desk serve's flags gave: folders, socket, python, sandbox, config file",
        arguments: [
            ([:], false, nil),
            (["DESK_PYTHON": "/opt/python3", "DESK_PYTHONPATH": "/opt/site"], false, nil),
            (["DESK_PYTHONPATH": "/opt/site"], false, "/given/site"),
            ([:], true, nil),
            (["DESK_SOCKET_GROUP": "4242"], false, nil),
        ] as [([String: String], Bool, String?)])
    func sameAsFlags(environment: [String: String], withConfigFile: Bool, pythonPath: String?) throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let configFile = withConfigFile ? folder.path("desk.json") : nil
        if let configFile {
            try Data(
                #"{"risk": {"defaults": {"max_order_qty": "7"}}, "session": {"close": "15:30"}, "strategies": {"defaults": {"memory": "300m"}}}"#
                    .utf8
            ).write(to: URL(fileURLWithPath: configFile))
        }
        let expected = try Self.throughFlags(environment, configFile: configFile, pythonPath: pythonPath)
        let desk = PrivateDesk(
            workDirectory: Self.work, ledgerName: "desk.db", strategiesDirectory: Self.strategies, feed: .none,
            configFile: configFile, pythonPath: pythonPath)
        let built = try DeskConfiguration.privateDesk(desk, environment: DeskEnvironment(environment))
        #expect(built.databasePath == expected.databasePath)
        #expect(built.unixSocketPath == expected.unixSocketPath)
        #expect(built.unixSocketGroup == expected.unixSocketGroup)
        #expect(built.host == expected.host && built.port == expected.port)
        #expect(built.defaultVenue == "paper" && built.venues.map(\.name) == ["paper"])
        #expect(built.configFilePath == expected.configFilePath)
        #expect(built.risk == expected.risk)
        #expect(built.session.closeHour == expected.session.closeHour)
        let runtime = try #require(built.runtime)
        let flags = try #require(expected.runtime)
        #expect(runtime.strategiesDirectory == flags.strategiesDirectory)
        #expect(runtime.logsDirectory == flags.logsDirectory)
        #expect(runtime.sandboxDirectory == flags.sandboxDirectory)
        #expect(runtime.deskURL == flags.deskURL)
        #expect(runtime.deskTCPURL == flags.deskTCPURL)
        #expect(runtime.python == flags.python)
        #expect(runtime.pythonPath == flags.pythonPath)
        #expect(runtime.sandbox == flags.sandbox)
        #expect(runtime.stopGrace == flags.stopGrace)
        #expect(runtime.defaultRuntime == .process)
        #expect(runtime.memberCaps == flags.memberCaps)
        if withConfigFile { #expect(built.risk.defaults.maxOrderQty == 7) }
    }

    @Test("a private desk is a paper desk on loopback whatever the environment says about the club's desk")
    func neverTheClubsBroker() throws {
        let environment = [
            "DESK_BROKER": "alpaca", "APCA_API_KEY_ID": "key", "APCA_API_SECRET_KEY": "secret", "DESK_HOST": "0.0.0.0",
            "DESK_RUNTIME": "docker", "PORT": "9999",
        ]
        let desk = PrivateDesk(
            workDirectory: Self.work, ledgerName: "desk.db", strategiesDirectory: Self.strategies, feed: .none)
        let built = try DeskConfiguration.privateDesk(desk, environment: DeskEnvironment(environment))
        #expect(built.defaultVenue == "paper" && built.venues.map(\.name) == ["paper"])
        #expect(built.host == "127.0.0.1" && built.port == 0)
        #expect(built.runtime?.defaultRuntime == .process)
    }

    @Test("a config file that is not there is refused, naming it")
    func missingConfigFile() {
        let desk = PrivateDesk(
            workDirectory: Self.work, ledgerName: "desk.db", strategiesDirectory: Self.strategies, feed: .none,
            configFile: "/nonexistent/desk.json")
        #expect {
            try DeskConfiguration.privateDesk(desk, environment: DeskEnvironment([:]))
        } throws: { error in
            "\(error)".contains("/nonexistent/desk.json")
        }
    }

    @Test(
        "a backtest's ledger durability: backtest unless DESK_BACKTEST_LEDGER_DURABILITY says full; anything else is refused",
        arguments: [
            ([:], LedgerDurability.backtest, nil),
            (["DESK_BACKTEST_LEDGER_DURABILITY": ""], .backtest, nil),
            (["DESK_BACKTEST_LEDGER_DURABILITY": "full"], .full, nil),
            (["DESK_BACKTEST_LEDGER_DURABILITY": "backtest"], .backtest, nil),
            (
                ["DESK_BACKTEST_LEDGER_DURABILITY": "none"], nil,
                "DESK_BACKTEST_LEDGER_DURABILITY=none is not a ledger durability: use full or backtest"
            ),
        ] as [([String: String], LedgerDurability?, String?)])
    func backtestLedgerDurability(environment: [String: String], durability: LedgerDurability?, refusal: String?)
        throws
    {
        let environment = DeskEnvironment(environment)
        if let refusal {
            #expect(throws: ConfigurationError(refusal)) { try environment.backtestLedgerDurability() }
        } else {
            #expect(try environment.backtestLedgerDurability() == durability)
        }
    }

    @Test("desk serve's ledger commits with a full fsync whatever DESK_BACKTEST_LEDGER_DURABILITY says")
    func serveIsAlwaysFull() throws {
        let served = try serveConfiguration(
            ["--port", "0", "--feed", "none"], ["DESK_BACKTEST_LEDGER_DURABILITY": "backtest"]
        ).get()
        #expect(served.ledgerDurability == .full)
        #expect(!DeskVariable.serveList.contains("DESK_BACKTEST_LEDGER_DURABILITY"))
    }
}

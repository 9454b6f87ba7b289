import DeskAPI
import DeskCore
import Testing

@testable import DeskCLI

@Suite("Watching a started strategy; short strategy names")
struct StartWatchTests {
    @Test(
        "a start is ok only when the strategy is still running at the end of the grace period",
        arguments: [
            (.starting, 0, false, nil),
            (.running, 0, false, nil),
            (.running, 0, true, true),
            (.starting, 0, true, true),
            (.backoff, 0, false, false),
            (.running, 1, false, false),
            (.failed, 0, false, false),
            (.stopped, 0, false, false),
        ] as [(StrategyRunState, Int, Bool, Bool?)])
    func verdict(state: StrategyRunState, restarts: Int, graceOver: Bool, ok: Bool?) {
        let status = StrategyStatus(name: "alice--trend", member: "alice", state: state, pid: 42, restarts: restarts)
        let verdict = StartWatch.verdict(status, name: "alice--trend", restartsBefore: 0, graceOver: graceOver)
        #expect(verdict?.ok == ok, "\(String(describing: verdict))")
    }

    @Test("a strategy the desk no longer lists failed to start")
    func gone() {
        #expect(StartWatch.verdict(nil, name: "x", restartsBefore: 0, graceOver: false)?.ok == false)
    }

    @Test(
        "status names: as given, or a member's short name when exactly one strategy matches",
        arguments: [
            (["trend"], [("alice--trend", "alice")], ["alice--trend"]),
            (["alice--trend"], [("alice--trend", "alice")], ["alice--trend"]),
            (["trend"], [("alice--trend", "alice"), ("bob--trend", "bob")], ["trend"]),
            (["example_alice"], [("example_alice", "alice")], ["example_alice"]),
            (["nosuch"], [("alice--trend", "alice")], ["nosuch"]),
        ] as [([String], [(String, String)], [String])])
    func names(given: [String], known: [(String, String)], resolved: [String]) {
        #expect(StrategyNames.resolve(given, known: known.map { (name: $0.0, member: $0.1) }) == resolved)
    }
}

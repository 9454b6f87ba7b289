import DeskAPI
import DeskServices
import Foundation
import Testing

@Suite("Backtests: the queue's decisions and the submission's rules")
struct BacktestQueueTests {
    static let day = "2026-03-02"

    /// One step of a table: what happens, and what the queue answers.
    enum Step {
        case submit(String, String, BacktestCap?)  // id, member, refusal
        case next([String])
        case cancel(String, BacktestQueue.CancelAction)
        case used(String, Double, Bool)  // id, cpu so far, stop it
        case finished(String, Double)
        case restore(String, String)
        case day(String)
    }

    static let limits = BacktestQueue.Limits(
        concurrency: 2, memberConcurrency: 1, memberQueued: 3, memberCPUSecondsPerDay: 100)

    @Test(
        "submit → queued or refused by a cap; next: desk-wide concurrency, member concurrency, fair across members, FIFO within; cancel; CPU budget",
        arguments: [
            (
                "member_queued: the fourth of one member is refused, naming the cap",
                [
                    Step.submit("a1", "alice", nil), .submit("a2", "alice", nil), .submit("a3", "alice", nil),
                    .submit("a4", "alice", .memberQueued(have: 3, cap: 3)), .submit("b1", "bob", nil),
                ]
            ),
            (
                "fair: bob's first starts before alice's second, though alice submitted first",
                [
                    .submit("a1", "alice", nil), .submit("a2", "alice", nil), .submit("a3", "alice", nil),
                    .submit("b1", "bob", nil), .next(["a1", "b1"]), .next([]),
                    .finished("a1", 1), .next(["a2"]), .finished("b1", 1), .next([]), .finished("a2", 1),
                    .next(["a3"]),
                ]
            ),
            (
                "fair between members waiting alike: who started least recently goes first",
                [
                    .submit("a1", "alice", nil), .submit("a2", "alice", nil), .submit("b1", "bob", nil),
                    .submit("b2", "bob", nil), .submit("c1", "carol", nil), .next(["a1", "b1"]),
                    .finished("a1", 1), .next(["c1"]), .finished("b1", 1), .next(["a2"]),
                ]
            ),
            (
                "cancel: a queued one leaves the queue, a running one is stopped, an ended one is nothing",
                [
                    .submit("a1", "alice", nil), .submit("b1", "bob", nil), .submit("b2", "bob", nil),
                    .next(["a1", "b1"]), .cancel("b2", .dequeued), .cancel("a1", .terminate),
                    .finished("a1", 0), .cancel("a1", .none), .next([]),
                ]
            ),
            (
                "CPU: over the day's budget while running → stop; then submissions are refused until the next day",
                [
                    .submit("a1", "alice", nil), .next(["a1"]), .used("a1", 60, false), .used("a1", 101, true),
                    .finished("a1", 101), .submit("a2", "alice", .cpuSeconds(used: 101, cap: 100)),
                    .submit("b1", "bob", nil), .day("2026-03-03"), .submit("a3", "alice", nil),
                ]
            ),
            (
                "CPU of running backtests counts: a second one waits when the first used the budget",
                [
                    .submit("a1", "alice", nil), .submit("a2", "alice", nil), .next(["a1"]),
                    .used("a1", 100, false), .finished("a1", 100), .next([]),
                ]
            ),
            (
                "a restart: the ledger's queued ones queue again, past any cap, in their order",
                [
                    .restore("a1", "alice"), .restore("a2", "alice"), .restore("a3", "alice"),
                    .restore("a4", "alice"), .submit("a5", "alice", .memberQueued(have: 4, cap: 3)),
                    .next(["a1"]), .finished("a1", 1), .next(["a2"]),
                ]
            ),
        ] as [(String, [Step])])
    func decisions(_ name: String, steps: [Step]) {
        var queue = BacktestQueue(limits: Self.limits)
        var day = Self.day
        for (index, step) in steps.enumerated() {
            let context = Comment(rawValue: "\(name), step \(index + 1)")
            switch step {
            case .submit(let id, let member, let refusal):
                let cap = queue.submit(id: id, member: member, day: day)
                #expect(cap == refusal, context)
                if cap == nil { queue.prepared(id: id) }
            case .next(let ids): #expect(queue.next() == ids, context)
            case .cancel(let id, let action): #expect(queue.cancel(id: id) == action, context)
            case .used(let id, let cpu, let stop): #expect(queue.used(id: id, cpuSeconds: cpu) == stop, context)
            case .finished(let id, let cpu): queue.finished(id: id, cpuSeconds: cpu, day: day)
            case .restore(let id, let member): queue.restore(id: id, member: member)
            case .day(let next): day = next
            }
        }
    }

    @Test("a reserved submission whose files are not in place yet counts against member_queued but never starts")
    func preparing() {
        var queue = BacktestQueue(limits: Self.limits)
        #expect(queue.submit(id: "a1", member: "alice", day: Self.day) == nil)
        #expect(queue.next() == [])
        #expect(queue.submit(id: "a2", member: "alice", day: Self.day) == nil)
        #expect(queue.submit(id: "a3", member: "alice", day: Self.day) == nil)
        #expect(queue.submit(id: "a4", member: "alice", day: Self.day) == .memberQueued(have: 3, cap: 3))
        queue.prepared(id: "a2")
        #expect(queue.next() == ["a2"])
    }

    @Test(
        "data names: a file name with a data ending, nothing that leaves the folder",
        arguments: [
            ("aapl.jsonl", true), ("three_days.csv", true), ("x.NDJSON", true), ("../x.jsonl", false),
            ("a/b.jsonl", false), ("..jsonl", false), (".hidden.jsonl", false), ("x.txt", false), ("", false),
            ("x", false), ("a\\b.csv", false), ("sp ace.jsonl", false),
        ])
    func dataNames(name: String, allowed: Bool) {
        #expect(((try? BacktestPlan.checkDataName(name, what: "data file")) != nil) == allowed)
    }

    @Test(
        "options → desk backtest's flags; refusals say what is allowed",
        arguments: [
            (#"{"data": []}"#, [], nil),
            (
                #"{"data": [], "fill_at": "same-tick", "commission": "0.005", "capital": "10000"}"#,
                ["--fill-at", "same-tick", "--commission", "0.005", "--capital", "10000"], nil
            ),
            (#"{"data": [], "fill_at": "now"}"#, [], "fill_at \"now\" is not one: same-tick, next-tick"),
            (#"{"data": [], "commission": "--config=/etc/x"}"#, [], "commission \"--config=/etc/x\""),
            (
                #"{"data": [], "sweep": {"grid": {"W": ["1"]}}, "rank_by": "sharpe", "jobs": 8}"#,
                ["--sweep", "/w/sweep-spec.json", "--rank-by", "sharpe", "--jobs", "2"], nil
            ),
            (
                #"{"data": [], "sweep": {"grid": {"W": ["1"]}}, "walk_forward": "train=60d,test=20d"}"#,
                ["--sweep", "/w/sweep-spec.json", "--walk-forward", "train=60d,test=20d", "--jobs", "2"], nil
            ),
            (#"{"data": [], "walk_forward": "train=60d,test=20d"}"#, [], "walk_forward chooses among the runs"),
            (#"{"data": [], "sweep": {}, "rank_by": "luck"}"#, [], "rank_by \"luck\" is not one: total_pnl"),
            (#"{"data": [], "sweep": {}, "jobs": 0}"#, [], "jobs 0 is not allowed"),
        ] as [(String, [String], String?)])
    func flags(body: String, flags: [String], refusal: String?) throws {
        let submission = try JSONDecoder().decode(BacktestSubmission.self, from: Data(body.utf8))
        var research = ResearchSettings()
        research.jobs = 2
        do {
            let made = try BacktestPlan.flags(
                submission, research: research, configFile: nil, sweepFile: "/w/sweep-spec.json")
            #expect(refusal == nil)
            #expect(made == flags)
        } catch {
            #expect(refusal.map { error.message.contains($0) } == true, "\(error.message)")
        }
    }

    @Test("a run's environment is built from nothing: no broker key, no token of the desk")
    func environment() {
        let desk = [
            "PATH": "/usr/bin", "LANG": "C.UTF-8", "APCA_API_KEY_ID": "key", "APCA_API_SECRET_KEY": "secret",
            "DESK_TOKEN": "token", "DESK_PYTHONPATH": "/lib", "ALPACA_SECRET": "s", "LD_PRELOAD": "/x.so",
        ]
        #expect(
            BacktestPlan.environment(from: desk, home: "/w")
                == ["PATH": "/usr/bin", "LANG": "C.UTF-8", "DESK_PYTHONPATH": "/lib", "HOME": "/w"])
        #expect(
            BacktestPlan.environment(from: desk, home: "/w", rayPython: "/opt/ray/bin/python")["DESK_RAY_PYTHON"]
                == "/opt/ray/bin/python", "the config's research.ray_python drives the cluster")
    }

    @Test(
        "a recorded day is taken in whole lines: up to its last newline (the recorder may be mid-line)",
        arguments: [
            ("a\nb\n", 0, 4), ("a\nb\npart", 0, 4), ("part", 0, 0), ("", 0, 0), ("x\ny", 100, 102),
            ("no newline in the tail", 100, 100),
        ])
    func wholeLines(tail: String, start: Int, expected: Int) {
        #expect(BacktestPlan.wholeLinesLength(tail: Data(tail.utf8), tailStart: start) == expected)
    }

    @Test("recorded days: both included, in order; reversed or malformed refused")
    func days() throws {
        #expect(
            try BacktestPlan.days(from: "2026-02-27", to: "2026-03-02") == [
                "2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02",
            ])
        #expect(throws: BacktestRefusal.self) { try BacktestPlan.days(from: "2026-03-02", to: "2026-03-01") }
        #expect(throws: BacktestRefusal.self) { try BacktestPlan.days(from: "2026-3-2", to: "2026-03-01") }
    }
}

import DeskAPI
import Foundation
import Testing

@Suite("A submitted backtest on the wire")
struct BacktestSubmissionTests {
    @Test("a submission reads its data sets, options and sweep; the sweep is carried through unchanged")
    func submission() throws {
        let text = """
            {"strategy": "trend", "data": [{"file": "aapl.jsonl"}, {"recorded": {"from": "2026-11-16", "to": "2026-11-18"}},
             {"upload": {"name": "x.csv", "content": "dGlja3M="}}], "fill_at": "same-tick", "slippage_bps": "2",
             "sweep": {"grid": {"WINDOW": ["10", "20"], "SIZE": [1, 2.50, true, null]}}, "walk_forward": "train=1d,test=1d",
             "rank_by": "sharpe", "jobs": 2}
            """
        let submission = try JSONDecoder().decode(BacktestSubmission.self, from: Data(text.utf8))
        #expect(submission.strategy == "trend" && submission.fillAt == "same-tick" && submission.slippageBps == "2")
        #expect(submission.data[1].recorded == .init(from: "2026-11-16", to: "2026-11-18"))
        #expect(submission.data[2].upload?.name == "x.csv")
        #expect(submission.walkForward == "train=1d,test=1d" && submission.rankBy == "sharpe" && submission.jobs == 2)
        let sweep = try #require(submission.sweep)
        #expect(
            String(decoding: sweep.data, as: UTF8.self)
                == #"{"grid":{"SIZE":[1,2.5,true,null],"WINDOW":["10","20"]}}"#)
    }

    @Test("a backtest's view writes its names with underscores and its status as a word")
    func view() throws {
        let view = BacktestView(
            id: "bt-1", member: "alice", strategy: "trend", status: .running, createdAt: "2026-12-08T01:00:00Z",
            progress: .init(runsDone: 3, runsTotal: 12), cpuSeconds: "4.20")
        let object = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(view)) as? [String: Any])
        #expect(object["status"] as? String == "running" && object["created_at"] as? String == "2026-12-08T01:00:00Z")
        #expect((object["progress"] as? [String: Int]) == ["runs_done": 3, "runs_total": 12])
        #expect(BacktestStatus.allCases.filter(\.isFinal) == [.completed, .failed, .canceled])
    }
}

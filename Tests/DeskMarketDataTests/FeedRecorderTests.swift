import DeskCore
import DeskMarketData
import DeskTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

@Suite("FeedRecorder")
struct FeedRecorderTests {
    /// Runs `recorder` in a service group, does `body`, then shuts it down gracefully (everything buffered written).
    static func recording(_ recorder: FeedRecorder, _ body: () async throws -> Void) async throws {
        let group = ServiceGroup(services: [recorder], logger: quietLogger())
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static func tick(_ symbol: String, _ price: String, _ at: String) -> Tick {
        Tick(symbol: symbol, price: dec(price), at: try! Date(at, strategy: .iso8601), size: dec("10"), kind: .trade)
    }

    @Test("every published tick goes to its New York day's file, in the format ReplaySource reads back")
    func daysAndReplay() async throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let hub = FeedHub(source: nil, logger: quietLogger())
        let recorder = FeedRecorder(
            hub: hub, folder: folder.url.appendingPathComponent("feed"), retentionDays: 3650,
            clock: SimulatedClock(start: try Date("2026-11-18T12:00:00Z", strategy: .iso8601)),
            logger: quietLogger())
        // 03:00 UTC on the 17th is still the 16th in New York (EST, UTC-5); 05:00 UTC is the 17th.
        let ticks = [
            Self.tick("AAPL", "190.10", "2026-11-16T14:31:00Z"), Self.tick("MSFT", "419.005", "2026-11-16T20:59:59Z"),
            Self.tick("AAPL", "190.2", "2026-11-17T03:00:00Z"), Self.tick("AAPL", "191", "2026-11-17T05:00:00Z"),
        ]
        try await Self.recording(recorder) {
            #expect(await eventually { recorder.isRecording })
            for tick in ticks { hub.publish(tick) }
        }
        let first = recorder.file(for: TradingDay("2026-11-16")!)
        let second = recorder.file(for: TradingDay("2026-11-17")!)
        #expect(try ReplaySource.ticks(in: first) == Array(ticks[0...2]))
        #expect(try ReplaySource.ticks(in: second) == [ticks[3]])
        #expect(try String(contentsOf: second, encoding: .utf8) == ticks[3].jsonLine)
        #expect(try String(contentsOf: first, encoding: .utf8).split(separator: "\n").count == 3)
        #expect(recorder.statistics.written == 4 && recorder.statistics.dropped == 0)

        // A second run appends to the day's file.
        let again = FeedRecorder(
            hub: hub, folder: folder.url.appendingPathComponent("feed"), retentionDays: 3650, logger: quietLogger())
        try await Self.recording(again) {
            #expect(await eventually { again.isRecording })
            hub.publish(Self.tick("AAPL", "192", "2026-11-17T15:00:00Z"))
        }
        #expect(try ReplaySource.ticks(in: second).map(\.price) == [dec("191"), dec("192")])
    }

    @Test("days older than the retention are deleted at start, today and the days before it within it are kept")
    func retention() async throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let feed = folder.url.appendingPathComponent("feed")
        try FileManager.default.createDirectory(at: feed, withIntermediateDirectories: true)
        for name in ["2026-11-15.jsonl", "2026-11-16.jsonl", "2026-11-17.jsonl", "2026-11-18.jsonl", "notes.txt"] {
            try Data("{}\n".utf8).write(to: feed.appendingPathComponent(name))
        }
        let hub = FeedHub(source: nil, logger: quietLogger())
        // 02:00 UTC on the 19th is the 18th in New York: keep the 18th and the 17th.
        let recorder = FeedRecorder(
            hub: hub, folder: feed, retentionDays: 2,
            clock: SimulatedClock(start: try Date("2026-11-19T02:00:00Z", strategy: .iso8601)),
            logger: quietLogger())
        try await Self.recording(recorder) {
            #expect(await eventually { recorder.isRecording })
            hub.publish(Self.tick("AAPL", "1", "2026-11-18T20:00:00Z"))
            #expect(await eventually { recorder.statistics.written == 1 })
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: feed.path).sorted()
        #expect(left == ["2026-11-17.jsonl", "2026-11-18.jsonl", "notes.txt"])
    }

    @Test("a recorder that cannot write counts the lines as dropped, and publishing goes on")
    func cannotWrite() async throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        // A file where the folder should be: nothing can be created under it, even by root.
        let blocked = try folder.write("feed", "in the way")
        let hub = FeedHub(source: nil, logger: quietLogger())
        let dropped = Collected<Int>()
        let recorder = FeedRecorder(
            hub: hub, folder: blocked, retentionDays: 3, logger: quietLogger(), onDropped: { dropped.append($0) })
        let seen = Collected<Tick>()
        hub.observe { seen.append($0) }
        try await Self.recording(recorder) {
            #expect(await eventually { recorder.isRecording })
            for index in 0..<50 { hub.publish(Self.tick("AAPL", "\(100 + index)", "2026-11-18T15:00:00Z")) }
            #expect(await eventually { recorder.statistics.dropped == 50 })
        }
        #expect(seen.all.count == 50)
        #expect(dropped.all.reduce(0, +) == 50)
        #expect(recorder.statistics.written == 0)
    }
}

import DeskCore
import Foundation
import Testing

@testable import DeskRunner

/// The stream lockstep's decisions against strict lockstep: fake strategies
/// (read a line, send requests one at a time and wait for each answer, end early,
/// crash, ask from another thread) under random schedules of who moves when must
/// give the desk the same actions in the same order as a strict interpreter.
@Suite("StreamSchedule: each request at the turn of the line its strategy had read")
struct StreamScheduleTests {
    /// One fake strategy's script.
    struct Script {
        var name: String
        /// Its lines' ticks, and how many requests it sends after reading each.
        var ticks: [Int]
        var lengths: [Int]
        var requests: [Int]
        /// Requests before its first read.
        var settleRequests: Int
        /// It exits after the requests of this line (nil: at end of data).
        var endsAfter: Int?
        /// It crashes right after reading this line, before its requests.
        var crashesAt: Int?
        /// After reading this line, another thread of it sends one request without waiting.
        var threadedAt: Int?
    }

    /// A seeded generator, so a failing seed can be replayed.
    typealias Seeded = SplitMix64

    static func scripts(ticks: Int, strategies: Int, _ random: inout Seeded) -> [Script] {
        (0..<strategies).map { index in
            let mine = (0..<ticks).filter { _ in Int.random(in: 0..<4, using: &random) > 0 }
            var script = Script(
                name: String(UnicodeScalar(UInt8(97 + index))), ticks: mine,
                lengths: mine.map { _ in Int.random(in: 1...90, using: &random) },
                requests: mine.map { _ in [0, 0, 0, 1, 1, 2].randomElement(using: &random)! },
                settleRequests: Int.random(in: 0...1, using: &random))
            if !mine.isEmpty {
                switch Int.random(in: 0..<6, using: &random) {
                case 0: script.endsAfter = Int.random(in: 0..<mine.count, using: &random)
                case 1: script.crashesAt = Int.random(in: 0..<mine.count, using: &random)
                case 2: script.threadedAt = Int.random(in: 0..<mine.count, using: &random)
                default: break
                }
            }
            return script
        }
    }

    /// The desk's actions in strict lockstep: the settle phase's requests, then per
    /// tick its phase and each strategy's requests in name order.
    static func strict(_ scripts: [Script], ticks: Int) -> [String] {
        var log: [String] = []
        for script in scripts {
            for request in 0..<script.settleRequests { log.append("\(script.name) -1 \(request)") }
        }
        for tick in 0..<ticks {
            log.append("phase \(tick)")
            for script in scripts {
                guard let line = script.ticks.firstIndex(of: tick) else { continue }
                if let end = script.endsAfter, line > end { continue }
                if let crash = script.crashesAt, line >= crash { continue }
                for request in 0..<script.requests[line] { log.append("\(script.name) \(line) \(request)") }
            }
        }
        return log
    }

    /// A fake strategy as it runs.
    struct Fake {
        var script: Script
        var consumed = 0
        /// Requests left to send for the line just read.
        var toSend = 0
        var waiting = false
        var ended = false
        var request = 0
    }

    /// One run of the scheduler against the fakes under a random schedule; the desk's actions
    /// (threaded requests left out) and how many of them there were.
    static func stream(_ scripts: [Script], ticks: Int, pipe: Int, ahead: Int, _ random: inout Seeded) -> (
        log: [String], threaded: Int, late: Int, deadlock: Bool
    ) {
        let names = scripts.map(\.name)
        var schedule = StreamSchedule(
            feeds: Dictionary(
                uniqueKeysWithValues: scripts.enumerated().map { index, script in
                    (script.name, StreamSchedule.Feed(index: index, ticks: script.ticks, lengths: script.lengths))
                }), ticksAhead: ahead, linesAhead: pipe)
        var fakes = Dictionary(uniqueKeysWithValues: scripts.map { ($0.name, Fake(script: $0)) })
        for name in names { fakes[name]!.toSend = fakes[name]!.script.settleRequests }
        enum Plan { case settle(String), phase(Int), turn(String, Int, Int) }
        var plan: [Plan] = names.map { .settle($0) }
        for tick in 0..<ticks {
            plan.append(.phase(tick))
            for (index, name) in names.enumerated() { plan.append(.turn(name, index, tick)) }
        }
        var next = 0
        var inTurn = false
        var log: [String] = []
        var threaded = 0
        var nextID = 0
        // Requests sent and not yet at the desk; held; run and not yet answered back.
        var network: [(id: Int, name: String, label: String, threaded: Bool)] = []
        var heldRequests: [Int: (name: String, label: String, threaded: Bool)] = [:]
        var running: [(id: Int, name: String, threaded: Bool)] = []

        func unread(_ name: String) -> Int? {
            let feed = schedule.feeds[name]!
            guard !feed.inputClosed else { return nil }
            let written = feed.written == 0 ? 0 : feed.ends[feed.written - 1]
            let consumed = fakes[name]!.consumed
            return written - (consumed == 0 ? 0 : feed.ends[consumed - 1])
        }
        func run(_ id: Int, _ name: String, _ label: String, _ isThreaded: Bool) {
            if isThreaded { threaded += 1 } else { log.append(label) }
            running.append((id, name, isThreaded))
        }
        func arrive(_ message: (id: Int, name: String, label: String, threaded: Bool)) {
            schedule.observe(message.name, unread: unread(message.name))
            switch schedule.arrive(id: message.id, strategy: message.name)! {
            case .run: run(message.id, message.name, message.label, message.threaded)
            case .hold: heldRequests[message.id] = (message.name, message.label, message.threaded)
            }
        }
        func driver() {
            for name in names {
                schedule.observe(name, unread: unread(name))
                while schedule.nextLineToWrite(name) != nil { schedule.wrote(name) }
                if schedule.shouldCloseInput(name) { schedule.closedInput(name) }
            }
            guard next < plan.count else { return }
            switch plan[next] {
            case .settle(let name):
                if !inTurn {
                    schedule.beginSettle(name)
                    inTurn = true
                }
            case .phase(let tick):
                schedule.beginDeskPhase(tick)
                log.append("phase \(tick)")
                next += 1
                return
            case .turn(let name, let index, let tick):
                if !inTurn {
                    guard schedule.beginTurn(name, index: index, tick: tick) else {
                        next += 1
                        return
                    }
                    inTurn = true
                }
            }
            switch schedule.step() {
            case .release(let id):
                let request = heldRequests.removeValue(forKey: id)!
                run(id, request.name, request.label, request.threaded)
            case .wait: break
            case .done:
                inTurn = false
                next += 1
            }
        }
        func strategy(_ name: String) {
            var fake = fakes[name]!
            defer { fakes[name] = fake }
            guard !fake.ended, !fake.waiting else { return }
            let line = fake.consumed - 1
            if fake.toSend > 0 {
                network.append((nextID, name, "\(name) \(line) \(fake.request)", false))
                nextID += 1
                fake.request += 1
                fake.toSend -= 1
                fake.waiting = true
                return
            }
            if let end = fake.script.endsAfter, line == end {
                fake.ended = true
                schedule.ended(name)
                return
            }
            let feed = schedule.feeds[name]!
            if fake.consumed < feed.written {
                fake.consumed += 1
                fake.request = 0
                let read = fake.consumed - 1
                if fake.script.crashesAt == read {
                    fake.ended = true
                    schedule.ended(name)
                    return
                }
                fake.toSend = fake.script.requests[read]
                if fake.script.threadedAt == read {
                    network.append((nextID, name, "\(name) threaded", true))
                    nextID += 1
                }
            } else if feed.inputClosed {
                fake.ended = true
                schedule.ended(name)
            }
        }
        var steps = 0
        while next < plan.count || !running.isEmpty || !network.isEmpty {
            steps += 1
            // Nothing left that can move: a deadlock.
            if steps > 200_000 { return (log, threaded, schedule.lateRequests, true) }
            switch Int.random(in: 0..<4, using: &random) {
            case 0: driver()
            case 1: strategy(names.randomElement(using: &random)!)
            case 2:
                if !network.isEmpty { arrive(network.remove(at: Int.random(in: 0..<network.count, using: &random))) }
            default:
                if !running.isEmpty {
                    let done = running.remove(at: Int.random(in: 0..<running.count, using: &random))
                    schedule.answered(done.name)
                    if !done.threaded { fakes[done.name]!.waiting = false }
                }
            }
        }
        return (log, threaded, schedule.lateRequests, false)
    }

    @Test("random schedules give the desk the strict interpreter's actions", arguments: 0..<300)
    func randomSchedules(seed: Int) {
        var random = Seeded(seed: UInt64(seed))
        let ticks = Int.random(in: 1...12, using: &random)
        let scripts = Self.scripts(ticks: ticks, strategies: Int.random(in: 1...4, using: &random), &random)
        let expected = Self.strict(scripts, ticks: ticks)
        let run = Self.stream(
            scripts, ticks: ticks, pipe: Int.random(in: 1...5, using: &random),
            ahead: Int.random(in: 0...4, using: &random),
            &random)
        #expect(run.deadlock == false, "seed \(seed)")
        #expect(run.log == expected, "seed \(seed)")
        // Every request of another thread ran, once.
        #expect(run.threaded == scripts.filter { $0.threadedAt != nil }.count, "seed \(seed)")
    }

    @Test(
        "lines are written as far ahead as keeps a held request's wait near its aim, at the driver's pace",
        arguments: [
            (0.0, 128),  // no pace yet
            (0.000_01, 128),  // 10 µs a tick: the most
            (0.01, 100),  // 10 ms: 100 ticks, a second
            (0.1, 10),
            (0.7, 1),
            (5.0, 1),  // slower than the aim: still the next tick
        ])
    func reach(pace: Double, ticks: Int) {
        #expect(StreamSchedule.reach(pace: pace, wait: 1) == ticks)
    }

    @Test("a request's turn is the line its strategy had read; none read: the settle phase")
    func stamps() {
        var schedule = StreamSchedule(feeds: ["a": .init(index: 0, ticks: [0, 2, 5], lengths: [10, 10, 10])])
        for _ in 0..<3 { schedule.wrote("a") }
        schedule.beginSettle("a")
        let answer1 = schedule.arrive(id: 1, strategy: "a")
        #expect(answer1 == .run(stamp: 0, late: false))
        // Another request of the same turn waits until the first is answered.
        let answer2 = schedule.arrive(id: 2, strategy: "a")
        #expect(answer2 == .hold(stamp: 0))
        let answer3 = schedule.step()
        #expect(answer3 == .wait)
        schedule.answered("a")
        let answer4 = schedule.step()
        #expect(answer4 == .release(id: 2))
        schedule.answered("a")
        // A line read part way is not read.
        let answer5 = schedule.observe("a", unread: 25)
        #expect(answer5 == false)
        #expect(schedule.feeds["a"]?.consumed == 0)
        let answer6 = schedule.step()
        #expect(answer6 == .wait)
        schedule.observe("a", unread: 20)
        let answer7 = schedule.step()
        #expect(answer7 == .done)
        // Read line 1 (tick 2) while the desk is at tick 0: its request waits for turn (2, a).
        schedule.observe("a", unread: 10)
        schedule.beginDeskPhase(0)
        let answer8 = schedule.arrive(id: 3, strategy: "a")
        #expect(answer8 == .hold(stamp: 2))
        let answer9 = schedule.beginTurn("a", index: 0, tick: 0)
        #expect(answer9)
        let answer10 = schedule.step()
        #expect(answer10 == .done)
        schedule.beginDeskPhase(1)
        let answer11 = schedule.beginTurn("a", index: 0, tick: 1)
        #expect(answer11 == false)
        schedule.beginDeskPhase(2)
        let answer12 = schedule.beginTurn("a", index: 0, tick: 2)
        #expect(answer12)
        let answer13 = schedule.step()
        #expect(answer13 == .release(id: 3))
        let answer14 = schedule.step()
        #expect(answer14 == .wait)
        schedule.answered("a")
        // Done with line 1 once it reads line 2.
        let answer15 = schedule.step()
        #expect(answer15 == .wait)
        #expect(schedule.shouldCloseInput("a") == false)
        schedule.observe("a", unread: 0)
        #expect(schedule.shouldCloseInput("a"))
        schedule.closedInput("a")
        let answer16 = schedule.step()
        #expect(answer16 == .done)
        // The last line's turn ends with the strategy; a request at end of data belongs to it.
        schedule.beginDeskPhase(5)
        let answer17 = schedule.beginTurn("a", index: 0, tick: 5)
        #expect(answer17)
        let answer18 = schedule.step()
        #expect(answer18 == .wait)
        let answer19 = schedule.arrive(id: 4, strategy: "a")
        #expect(answer19 == .run(stamp: 3, late: false))
        schedule.answered("a")
        schedule.ended("a")
        let answer20 = schedule.step()
        #expect(answer20 == .done)
        #expect(schedule.lateRequests == 0)
    }

    @Test("a request whose turn has passed runs at once and is counted")
    func late() {
        var schedule = StreamSchedule(feeds: ["a": .init(index: 0, ticks: [0, 1], lengths: [4, 4])])
        schedule.wrote("a")
        schedule.wrote("a")
        schedule.observe("a", unread: 4)
        schedule.beginDeskPhase(1)
        let answer21 = schedule.arrive(id: 1, strategy: "a")
        #expect(answer21 == .run(stamp: 1, late: true))
        #expect(schedule.lateRequests == 1)
        // A strategy not fed in packets is not the schedule's.
        let answer22 = schedule.arrive(id: 2, strategy: "b")
        #expect(answer22 == nil)
    }
}

/// A strategy's stdin as the kernel shows it: packets written, bytes read.
final class FakeStdin: RunningStrategy, @unchecked Sendable {
    let pid: Int32 = 0
    private let lock = NSLock()
    private var written: [Int] = []
    private var read = 0
    private var open = true
    /// Packets the pipe holds.
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func write(_ bytes: [UInt8]) async -> Bool { false }
    func closeInput() { lock.withLock { open = false } }
    func stop(grace: Duration) async {}
    func exitStatus() async -> StrategyExit { .exited(0) }
    func writePacket(_ bytes: [UInt8]) -> PacketWrite {
        lock.withLock {
            guard open else { return .closed }
            guard written.count - readPackets < capacity else { return .full }
            written.append(bytes.count)
            return .written
        }
    }
    func unreadInput() -> Int? { lock.withLock { open ? written.reduce(0, +) - read : nil } }
    private var readPackets: Int {
        var total = 0
        return written.prefix { length in
            total += length
            return total <= read
        }.count
    }
    /// The strategy reads its next packet.
    func readLine() {
        lock.withLock {
            guard readPackets < written.count else { return }
            read += written[readPackets]
        }
    }
    var isOpen: Bool { lock.withLock { open } }
    var packetsWritten: Int { lock.withLock { written.count } }
}

@Suite("StreamGate: requests held until their turn, stdins written ahead")
struct StreamGateTests {
    @Test("a request waits for its line's turn, runs when released, and the turn ends once answered and read on")
    func holdsUntilTurn() async {
        let gate = StreamGate()
        let stdin = FakeStdin(capacity: 2)
        gate.arm([("a", 0, stdin, [[1, 2, 3], [4, 5], [6]], [0, 1, 2])])
        gate.update { $0.beginSettle("a") }
        // Written ahead as far as the pipe takes: two packets of three.
        #expect(gate.advance("a").step == .wait)
        #expect(stdin.packetsWritten == 2)
        stdin.readLine()
        #expect(gate.advance("a").step == .done)
        #expect(stdin.packetsWritten == 3)
        // It read line 0 (tick 0); its request, arriving while the desk is before tick 0, waits.
        let entered = Flag()
        async let request: Void = {
            let ticket = await gate.enter(strategy: "a")
            entered.set()
            // The answer is being made; the turn cannot end before it is given back.
            try? await Task.sleep(for: .milliseconds(20))
            if let ticket { gate.leave(ticket) }
        }()
        gate.update { $0.beginDeskPhase(0) }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(entered.isSet == false)
        #expect(gate.update { $0.beginTurn("a", index: 0, tick: 0) })
        var steps: [StreamSchedule.Step] = []
        while steps.last != .done {
            let step = gate.advance("a").step
            if step != steps.last { steps.append(step) }
            if step == .wait {
                if gate.answered == 1 { stdin.readLine() }
                await gate.pause(.milliseconds(1))
            }
        }
        await request
        #expect(steps.first.map { if case .release = $0 { true } else { false } } == true)
        #expect(gate.answered == 1)
        #expect(entered.isSet)
        // A caller that is no strategy fed in packets passes at once.
        #expect(await gate.enter(strategy: "") == nil)
        #expect(await gate.enter(strategy: "b") == nil)
    }

    @Test("a strategy's stdin is closed once it has read every line")
    func closesAtEnd() {
        let gate = StreamGate()
        let stdin = FakeStdin(capacity: 8)
        gate.arm([("a", 0, stdin, [[1], [2]], [0, 3])])
        gate.update { $0.beginSettle("a") }
        _ = gate.advance("a")
        #expect(stdin.isOpen)
        stdin.readLine()
        stdin.readLine()
        _ = gate.advance("a")
        #expect(stdin.isOpen == false)
    }
}

/// A flag one task sets and another reads.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

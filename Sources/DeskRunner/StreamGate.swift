import DeskCore
import Foundation
import Synchronization

/// The request gate of a backtest in stream mode: every request of a strategy fed
/// in packets is stamped when it reaches the desk with the lines its strategy had
/// read (the kernel's count, which the strategy cannot change — never anything it
/// sends), and held until the driver reaches that line's turn (`StreamSchedule`).
/// The HTTP faces pass each request of a strategy's token through `enter`/`leave`;
/// a live desk has no gate. It also feeds the strategies' stdins: the lines are
/// written ahead as far as their pipes take them.
public final class StreamGate: Sendable {
    /// A request let through the gate; give it back with `leave` once answered.
    public struct Ticket: Sendable {
        let strategy: String
    }

    /// One strategy fed in packets: its process and its lines.
    struct Fed {
        let process: any RunningStrategy
        let lines: [[UInt8]]
    }

    private struct State {
        var schedule = StreamSchedule(feeds: [:])
        var fed: [String: Fed] = [:]
        var nextID = 0
        var held: [Int: CheckedContinuation<Void, Never>] = [:]
        var released: Set<Int> = []
        /// Something changed for the driver (a request arrived or was answered).
        var rung = false
        var bell: CheckedContinuation<Void, Never>?
        var answered = 0
        /// When the last desk phase began, and the driver's seconds per tick (a moving average).
        var lastDeskPhase: ContinuousClock.Instant?
        var pace = 0.0
        /// The run stopped: nothing is held any more.
        var closed = false
    }

    /// About the longest a request held for its turn should wait in wall time: far
    /// below a client's timeout (desk_client's is 10 s).
    static let heldWait = 1.0
    private let state = Mutex(State())

    /// An empty gate: it holds nothing until `arm` gives it strategies.
    public init() {}

    /// The strategies fed in packets, with their lines (each a line of one tick,
    /// `ticks` its tick's index), at their place in name order.
    func arm(_ strategies: [(name: String, index: Int, process: any RunningStrategy, lines: [[UInt8]], ticks: [Int])]) {
        state.withLock { state in
            state.schedule = StreamSchedule(
                feeds: Dictionary(
                    uniqueKeysWithValues: strategies.map {
                        ($0.name, StreamSchedule.Feed(index: $0.index, ticks: $0.ticks, lengths: $0.lines.map(\.count)))
                    }))
            state.fed = Dictionary(
                uniqueKeysWithValues: strategies.map { ($0.name, Fed(process: $0.process, lines: $0.lines)) })
        }
    }

    /// Whether strategy `name` is fed in packets.
    func feeds(_ name: String) -> Bool { state.withLock { $0.fed[name] != nil } }

    // MARK: the faces' side

    /// A request of `strategy` reached the desk: returns once it may run (its
    /// turn), with the ticket to give back when it is answered; nil at once for a
    /// caller that is no strategy fed in packets (it passes as on a live desk).
    public func enter(strategy: String) async -> Ticket? {
        guard !strategy.isEmpty else { return nil }
        let arrival = state.withLock { state -> (id: Int, arrival: StreamSchedule.Arrival)? in
            guard !state.closed, let fed = state.fed[strategy] else { return nil }
            state.schedule.observe(strategy, unread: fed.process.unreadInput())
            let id = state.nextID
            state.nextID += 1
            guard let arrival = state.schedule.arrive(id: id, strategy: strategy) else { return nil }
            return (id, arrival)
        }
        guard let (id, arrival) = arrival else { return nil }
        ring()
        if case .hold = arrival {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.released.remove(id) != nil || state.closed { return true }
                    state.held[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        }
        return Ticket(strategy: strategy)
    }

    /// The run stopped (it ended, failed, fell back or was interrupted): every held
    /// request runs now and later ones pass at once, so the desk's HTTP server can
    /// answer them and stop (a held request would keep it waiting for ever).
    func close() {
        let held = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            defer { state.held = [:] }
            return Array(state.held.values)
        }
        for continuation in held { continuation.resume() }
        ring()
    }

    /// The request of `ticket` was answered.
    public func leave(_ ticket: Ticket) {
        state.withLock { state in
            state.schedule.answered(ticket.strategy)
            state.answered += 1
        }
        ring()
    }

    // MARK: the driver's side

    /// Strategy `name` ended.
    func ended(_ name: String) {
        state.withLock { $0.schedule.ended(name) }
        ring()
    }

    /// Requests answered so far (the deadline restarts when it moves).
    var answered: Int { state.withLock { $0.answered } }

    /// Tick `tick`'s desk phase begins: lines are written as far ahead as the
    /// driver's pace allows a held request to wait about `heldWait`.
    func beginDeskPhase(_ tick: Int) {
        let now = ContinuousClock.now
        state.withLock { state in
            if let last = state.lastDeskPhase {
                let seconds = (now - last).seconds
                state.pace = state.pace == 0 ? seconds : state.pace * 0.9 + seconds * 0.1
            }
            state.lastDeskPhase = now
            state.schedule.ticksAhead = StreamSchedule.reach(pace: state.pace, wait: Self.heldWait)
            state.schedule.beginDeskPhase(tick)
        }
    }

    /// Requests that arrived after their turn had passed.
    public var lateRequests: Int { state.withLock { $0.schedule.lateRequests } }

    /// Changes the schedule (a turn or desk phase begins).
    @discardableResult
    func update<Answer: Sendable>(_ change: (inout StreamSchedule) -> Answer) -> Answer {
        state.withLock { change(&$0.schedule) }
    }

    /// Writes every fed strategy's lines ahead as far as its pipe takes them,
    /// closes the stdin of one that has read every line, reads what `current`
    /// has read, and takes the current turn's next step (a request it releases
    /// runs at once). Returns the step and whether `current`'s reading moved.
    func advance(_ current: String?) -> (step: StreamSchedule.Step, moved: Bool) {
        let (step, moved, release) = state.withLock {
            state -> (StreamSchedule.Step, Bool, CheckedContinuation<Void, Never>?) in
            var moved = false
            for (name, fed) in state.fed {
                let wasRead = state.schedule.feeds[name]?.consumed
                state.schedule.observe(name, unread: fed.process.unreadInput())
                if name == current && state.schedule.feeds[name]?.consumed != wasRead { moved = true }
                writing: while let line = state.schedule.nextLineToWrite(name) {
                    switch fed.process.writePacket(fed.lines[line]) {
                    case .written: state.schedule.wrote(name)
                    case .full: break writing
                    case .closed:
                        state.schedule.closedInput(name)
                        break writing
                    }
                }
                if state.schedule.shouldCloseInput(name) {
                    fed.process.closeInput()
                    state.schedule.closedInput(name)
                }
            }
            let step = state.schedule.step()
            var release: CheckedContinuation<Void, Never>?
            if case .release(let id) = step {
                release = state.held.removeValue(forKey: id)
                if release == nil { state.released.insert(id) }
            }
            return (step, moved, release)
        }
        release?.resume()
        return (step, moved)
    }

    private func ring() {
        let bell = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.rung = true
            defer { state.bell = nil }
            return state.bell
        }
        bell?.resume()
    }

    /// Waits up to `duration`, or until a request arrives or is answered.
    func pause(_ duration: Duration) async {
        let rung = state.withLock { state in
            defer { state.rung = false }
            return state.rung
        }
        if rung { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            group.addTask { await self.bell() }
            _ = await group.next()
            group.cancelAll()
        }
    }

    private func bell() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.bell = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let bell = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.bell = nil }
                return state.bell
            }
            bell?.resume()
        }
    }
}

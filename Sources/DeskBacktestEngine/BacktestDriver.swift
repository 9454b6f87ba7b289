import DeskApp
import DeskBroker
import DeskCore
import DeskMarketData
import DeskRunner
import Foundation
import ServiceLifecycle
import Synchronization

/// Starts the strategies, then for each tick: moves the clock to it, expires day
/// orders at any session close passed, lets the paper market fill on its price
/// (booked before anyone sees it), gives it to the strategies, and waits until
/// each has finished with it. Returns at the end of the data (which shuts the
/// desk down), leaving in `outcome` the fills booked by the end of each tick, or
/// why the run failed.
///
/// Each tick, and the strategies' first request for input, has `tickTimeout`: a
/// strategy that has not finished with it by then (it stopped reading its input)
/// fails the run, named with the tick; SIGTERM or SIGINT (the group's graceful
/// shutdown) end the run the same way. Either way every strategy is then stopped.
struct BacktestDriver: Service {
    let application: DeskApplication
    let lockstep: Lockstep
    let market: PaperVenue
    let clock: SimulatedClock
    let ticks: [Tick]
    let names: [String]
    let session: SessionCalendar
    /// Splits and dividends, in ex-date order: each is applied before the first tick of its ex-date.
    let actions: [CorporateAction]
    /// Stream mode: the strategies that read line by line are fed ahead (`Lockstep` with a gate).
    let streaming: Bool
    let tickTimeout: Duration
    let endGrace: Duration
    let quiet: Bool
    let note: @Sendable (String) -> Void
    /// The fills booked by the end of each tick, or why the run failed.
    let outcome = OneShot<Result<[Int], BacktestFailure>>()
    /// The corporate actions applied, and where in the run.
    let appliedActions = AppliedActions()

    func run() async throws {
        let deadline = TickDeadline(timeout: tickTimeout)
        await withTaskGroup(of: Void.self) { watching in
            // The strategies' exits, for as long as any runs.
            watching.addTask { await lockstep.run() }
            let result = await withTaskGroup(of: Result<[Int], BacktestFailure>?.self) { group in
                group.addTask { await cancelWhenGracefulShutdown { await drive(deadline) } }
                group.addTask {
                    await deadline.watch()
                    return nil
                }
                // The run ended, or a tick overran its deadline: either way the other stops.
                let first = await group.next() ?? nil
                group.cancelAll()
                var result = first
                for await other in group { result = result ?? other }
                return result ?? .failure(BacktestFailure(message: "the run was stopped"))
            }
            await lockstep.close(grace: endGrace)
            outcome.fire(result)
        }
    }

    private func drive(_ deadline: TickDeadline) async -> Result<[Int], BacktestFailure> {
        await application.waitUntilListening()
        await application.orderDesk.ready()
        // In stream mode the strategies fed in packets are given every line of their symbols ahead.
        let lines = streaming ? ticks.map { FeedLine(tick: $0) } : []
        if let problem = await lockstep.start(names, lines: lines) { return fail(problem.description) }
        if let problem = await lockstep.failure() { return fail(problem.description) }
        var fillsAfterTick: [Int] = []
        fillsAfterTick.reserveCapacity(ticks.count)
        let desk = application.orderDesk
        let metrics = application.metrics
        var nextClose = session.nextClose(after: ticks[0].at)
        var pendingActions = actions[...]
        var nextAction = pendingActions.first?.takesEffect(in: session)
        let corporateActions = application.corporateActions
        let progress = Progress(total: ticks.count, quiet: quiet, note: note)
        deadline.begin()
        // A strategy that read on, or had a request answered, restarts the deadline.
        let moved: @Sendable () -> Void = { deadline.begin() }
        let settled = await lockstep.settle(moved: moved)
        if let strategy = settled.fallback { return fallBack(strategy) }
        if let waiting = settled.unanswered { return stopped(at: nil, waitingFor: waiting, deadline) }
        for (index, tick) in ticks.enumerated() {
            deadline.begin()
            lockstep.beginDeskPhase(index)
            // A tick stamped at the close (a bar ending at 16:00) is still the session's.
            while tick.at > nextClose {
                clock.set(nextClose)
                let expired = market.expireDayOrders(at: nextClose)
                if !expired.isEmpty { await desk.apply(expired) }
                nextClose = session.nextClose(after: nextClose)
                // Fills at the close (day orders meeting the session's last line) come before this tick.
                if index > 0 { fillsAfterTick[index - 1] = metrics.fillsBooked }
            }
            while let at = nextAction, at <= tick.at, let action = pendingActions.popFirst() {
                nextAction = pendingActions.first?.takesEffect(in: session)
                clock.set(at)
                do {
                    try await corporateActions.apply(action, venues: [market.name], cancelOrders: true)
                } catch {
                    return fail("the \(action.summary) could not be applied: \(error)")
                }
                appliedActions.note(
                    .init(tick: index, fillsBefore: metrics.fillsBooked, action: action, at: max(at, clock.now())))
            }
            clock.set(tick.at)
            let fills = market.line(PriceBook.Line(tick))
            if !fills.isEmpty { await desk.apply(fills) }
            if Task.isCancelled { return stopped(at: index, waitingFor: nil, deadline) }
            let delivery = await lockstep.deliver(
                lines.isEmpty ? FeedLine(tick: tick) : lines[index], tick: index, moved: moved)
            if let strategy = delivery.fallback { return fallBack(strategy) }
            if Task.isCancelled { return stopped(at: index, waitingFor: delivery.unanswered, deadline) }
            fillsAfterTick.append(metrics.fillsBooked)
            if index & 1023 == 1023 {
                if let problem = await lockstep.failure() { return fail(problem.description) }
                progress.show(done: index + 1)
            }
        }
        if !ticks.isEmpty {
            // What the last tick caused (and what that caused) still reaches the strategies that asked for it.
            deadline.begin()
            let delivery = await lockstep.deliverEvents()
            if Task.isCancelled { return stopped(at: ticks.count - 1, waitingFor: delivery.unanswered, deadline) }
            fillsAfterTick[fillsAfterTick.count - 1] = metrics.fillsBooked
        }
        deadline.end()
        progress.finish()
        if let problem = await lockstep.failure() { return fail(problem.description) }
        await lockstep.endOfData(grace: endGrace)
        if let problem = await lockstep.failure() { return fail(problem.description) }
        return .success(fillsAfterTick)
    }

    private func fail(_ message: String) -> Result<[Int], BacktestFailure> {
        .failure(BacktestFailure(message: message))
    }

    /// Strategy `strategy`, fed in packets, reads stdin in pieces smaller than a line: the run stops, to be run again in strict.
    private func fallBack(_ strategy: String) -> Result<[Int], BacktestFailure> {
        .failure(
            BacktestFailure(
                message: "strategy \(strategy) reads stdin in pieces smaller than a line", fallback: strategy))
    }

    /// The run was stopped at tick `index` (nil: before the first), waiting for
    /// strategy `waitingFor`: by its deadline, or by a signal.
    private func stopped(at index: Int?, waitingFor strategy: String?, _ deadline: TickDeadline)
        -> Result<[Int], BacktestFailure>
    {
        let tick = index.map { index in
            let line = String(decoding: FeedLine(tick: ticks[index]).bytes.dropLast(), as: UTF8.self)
            return "tick \(index + 1) of \(ticks.count) (\(UTCTimestamp.iso8601(ticks[index].at)) \(line))"
        }
        let limit = "\(String(format: "%g", tickTimeout.seconds)) s (--tick-timeout)"
        guard deadline.overran else {
            guard let tick else {
                return fail("interrupted by a signal before the first tick; the strategies were stopped")
            }
            let whom = strategy.map { ": strategy \($0) had not finished with it" } ?? ""
            return fail("interrupted by a signal at \(tick)\(whom); the strategies were stopped")
        }
        switch (strategy, tick) {
        case (let strategy?, let tick?):
            return fail(
                "strategy \(strategy) did not finish with \(tick) within \(limit): it stopped reading its input, or needs longer per tick; the run was stopped"
            )
        case (let strategy?, nil):
            return fail(
                "strategy \(strategy) did not ask for its first tick within \(limit) of starting: it does not read its input; the run was stopped"
            )
        case (nil, _):
            return fail("\(tick ?? "the start") took longer than \(limit); the run was stopped")
        }
    }
}

/// The corporate actions a run applied, in order.
final class AppliedActions: Sendable {
    /// One action: applied before tick `tick` (0-based), after `fillsBefore` fills had been booked.
    struct Point: Sendable {
        var tick: Int
        var fillsBefore: Int
        var action: CorporateAction
        var at: Date
    }
    private let state = Mutex<[Point]>([])

    func note(_ point: Point) { state.withLock { $0.append(point) } }

    var points: [Point] { state.withLock { $0 } }
}

/// The deadline of the tick in progress, and a watch that notices when one passes.
final class TickDeadline: Sendable {
    let timeout: Duration
    private struct State {
        var sequence = 0
        var since: ContinuousClock.Instant?
        var overran = false
    }
    private let state = Mutex(State())

    init(timeout: Duration) { self.timeout = timeout }

    /// A tick (or the wait for the first request for input) begins now.
    func begin() {
        let now = ContinuousClock.now
        state.withLock {
            $0.sequence += 1
            $0.since = now
        }
    }

    /// No tick is in progress any more (the data is over).
    func end() { state.withLock { $0.since = nil } }

    /// Whether a tick took longer than the timeout.
    var overran: Bool { state.withLock { $0.overran } }

    /// Returns once a tick has taken longer than the timeout (it is then `overran`), or when cancelled.
    func watch() async {
        while true {
            let (sequence, since) = state.withLock { ($0.sequence, $0.since) }
            do {
                try await Task.sleep(until: (since ?? .now) + timeout, clock: .continuous)
            } catch {
                return
            }
            let late = state.withLock { state -> Bool in
                guard let since = state.since, state.sequence == sequence, ContinuousClock.now - since >= timeout
                else { return false }
                state.overran = true
                return true
            }
            if late { return }
        }
    }
}

/// `ticks done / total, ticks/s, ETA` on stderr, at most twice a second.
final class Progress: Sendable {
    let total: Int
    let quiet: Bool
    let note: @Sendable (String) -> Void
    let started = ContinuousClock.now
    let last = Mutex(ContinuousClock.now)

    init(total: Int, quiet: Bool, note: @escaping @Sendable (String) -> Void) {
        self.total = total
        self.quiet = quiet
        self.note = note
    }

    func show(done: Int) {
        guard !quiet else { return }
        let now = ContinuousClock.now
        let due = last.withLock { last in
            guard now - last >= .milliseconds(500) else { return false }
            last = now
            return true
        }
        guard due else { return }
        let seconds = (now - started).seconds
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        note("\(done) / \(total) ticks, \(Int(rate)) ticks/s, ETA \(Int(eta.rounded())) s")
    }

    func finish() {
        guard !quiet else { return }
        let seconds = (ContinuousClock.now - started).seconds
        note("\(total) / \(total) ticks in \(String(format: "%.1f", seconds)) s")
    }
}

extension BacktestDriver: CustomStringConvertible {
    /// The service group names its services by their description when it is
    /// given them: without this one, Swift's reflection printed every tick (a
    /// fifth of a 200,000-tick run's time).
    var description: String { "BacktestDriver(\(ticks.count) ticks, \(names.joined(separator: ", ")))" }
}

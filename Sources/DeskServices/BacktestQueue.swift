import Foundation

/// A cap a submitted backtest would pass: the member's queue or their CPU seconds of the day.
public enum BacktestCap: Sendable, Equatable {
    /// The member has `have` backtests queued or running; `research.member_queued` is `cap`.
    case memberQueued(have: Int, cap: Int)
    /// The member's backtests used `used` CPU seconds today (New York); `research.member_cpu_seconds_per_day` is `cap`.
    case cpuSeconds(used: Int, cap: Int)

    /// What the refusal says: which cap, and its value.
    public var message: String {
        switch self {
        case .memberQueued(let have, let cap):
            "you have \(have) \(have == 1 ? "backtest" : "backtests") queued or running (research.member_queued is \(cap)); wait for one to end or cancel one"
        case .cpuSeconds(let used, let cap):
            "your backtests used \(used) CPU seconds today, New York time (research.member_cpu_seconds_per_day is \(cap)); submit again tomorrow"
        }
    }
}

/// Which submitted backtests wait and which run: a pure state machine the
/// `Backtests` use case asks in one actor step per event, so that two
/// submissions at once can never both pass a cap, and tested by tables.
///
/// A submission is reserved (`preparing`: its files are being put in place) in
/// the step that checks the caps, then `queued`, then `running`; `next()` picks
/// what starts given the desk-wide `concurrency` and each member's
/// `memberConcurrency`: fair across members (the member with the fewest running,
/// then the one who started least recently), first come first served within one.
/// CPU seconds are counted per member and New York day, the running ones' included.
public struct BacktestQueue: Sendable, Equatable {
    /// The caps (the config file's `research` section).
    public struct Limits: Sendable, Equatable {
        public var concurrency: Int
        public var memberConcurrency: Int
        public var memberQueued: Int
        public var memberCPUSecondsPerDay: Int

        public init(concurrency: Int, memberConcurrency: Int, memberQueued: Int, memberCPUSecondsPerDay: Int) {
            self.concurrency = concurrency
            self.memberConcurrency = memberConcurrency
            self.memberQueued = memberQueued
            self.memberCPUSecondsPerDay = memberCPUSecondsPerDay
        }

        /// The caps of `settings`.
        public init(_ settings: ResearchSettings) {
            self.init(
                concurrency: settings.concurrency, memberConcurrency: settings.memberConcurrency,
                memberQueued: settings.memberQueued, memberCPUSecondsPerDay: settings.memberCPUSecondsPerDay)
        }
    }

    /// Where a backtest the queue holds is.
    public enum Stage: Sendable, Equatable { case preparing, queued, running }

    /// One backtest the queue holds (ended ones leave it).
    public struct Entry: Sendable, Equatable {
        public var id: String
        public var member: String
        public var stage: Stage
        /// CPU seconds it used so far (running).
        public var cpuSeconds: Double
    }

    public let limits: Limits
    /// In submission order.
    public private(set) var entries: [Entry] = []
    /// The New York day the CPU counts are of, and each member's CPU seconds of ended backtests that day.
    public private(set) var day = ""
    public private(set) var usedToday: [String: Double] = [:]
    /// When each member last had a backtest started (a counter, for fairness).
    private var lastStart: [String: Int] = [:]
    private var starts = 0

    public init(limits: Limits) { self.limits = limits }

    /// The member's CPU seconds today: ended backtests and running ones.
    public func cpuSeconds(member: String) -> Double {
        (usedToday[member] ?? 0) + entries.filter { $0.member == member }.map(\.cpuSeconds).reduce(0, +)
    }

    /// Starts counting the New York day `day` (a new day forgets the previous day's CPU).
    public mutating func setDay(_ day: String) {
        if day != self.day {
            self.day = day
            usedToday = [:]
        }
    }

    /// A submission of `member` on `day`: reserved (`nil`), or the cap it would pass.
    public mutating func submit(id: String, member: String, day: String) -> BacktestCap? {
        setDay(day)
        let held = entries.filter { $0.member == member }.count
        if held >= limits.memberQueued { return .memberQueued(have: held, cap: limits.memberQueued) }
        let used = cpuSeconds(member: member)
        if used >= Double(limits.memberCPUSecondsPerDay) {
            return .cpuSeconds(used: Int(used.rounded(.down)), cap: limits.memberCPUSecondsPerDay)
        }
        entries.append(Entry(id: id, member: member, stage: .preparing, cpuSeconds: 0))
        return nil
    }

    /// A backtest already in the ledger (a restart): queued again, past any cap.
    public mutating func restore(id: String, member: String) {
        entries.append(Entry(id: id, member: member, stage: .queued, cpuSeconds: 0))
    }

    /// A reserved submission's files are in place: it waits its turn.
    public mutating func prepared(id: String) {
        if let index = entries.firstIndex(where: { $0.id == id && $0.stage == .preparing }) {
            entries[index].stage = .queued
        }
    }

    /// The backtests to start now (each marked running), in the order to start them.
    public mutating func next() -> [String] {
        var started: [String] = []
        while entries.filter({ $0.stage == .running }).count < limits.concurrency {
            let running = Dictionary(grouping: entries.filter { $0.stage == .running }, by: \.member).mapValues(\.count)
            let waiting = entries.enumerated().filter { item in
                item.element.stage == .queued && running[item.element.member, default: 0] < limits.memberConcurrency
                    && Double(limits.memberCPUSecondsPerDay) > cpuSeconds(member: item.element.member)
            }
            // The first waiting backtest of each member, then the fairest member's.
            var firsts: [String: Int] = [:]
            for item in waiting where firsts[item.element.member] == nil { firsts[item.element.member] = item.offset }
            guard
                let chosen = firsts.min(by: { a, b in
                    let keyA = (running[a.key, default: 0], lastStart[a.key, default: -1], a.value)
                    let keyB = (running[b.key, default: 0], lastStart[b.key, default: -1], b.value)
                    return keyA < keyB
                })
            else { break }
            entries[chosen.value].stage = .running
            lastStart[chosen.key] = starts
            starts += 1
            started.append(entries[chosen.value].id)
        }
        return started
    }

    /// What a cancel asks the runner to do.
    public enum CancelAction: Sendable, Equatable {
        /// It had not started: it is out of the queue.
        case dequeued
        /// It runs: stop its process (it ends as canceled).
        case terminate
        /// The queue does not hold it (it ended).
        case none
    }

    /// Cancels `id`.
    public mutating func cancel(id: String) -> CancelAction {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return .none }
        if entries[index].stage == .running { return .terminate }
        entries.remove(at: index)
        return .dequeued
    }

    /// A running backtest has used `cpuSeconds` so far: whether it is over its member's budget (stop it).
    public mutating func used(id: String, cpuSeconds: Double) -> Bool {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return false }
        entries[index].cpuSeconds = cpuSeconds
        return self.cpuSeconds(member: entries[index].member) > Double(limits.memberCPUSecondsPerDay)
    }

    /// `id` ended (or its preparation failed), having used `cpuSeconds`, on `day`.
    public mutating func finished(id: String, cpuSeconds: Double, day: String) {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return }
        let member = entries.remove(at: index).member
        setDay(day)
        usedToday[member, default: 0] += cpuSeconds
    }

    /// CPU seconds ended backtests of `member` used earlier on `day` (a restart).
    public mutating func restoreUsed(member: String, cpuSeconds: Double, day: String) {
        setDay(day)
        usedToday[member, default: 0] += cpuSeconds
    }
}

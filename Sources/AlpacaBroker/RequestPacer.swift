import DeskBroker
import DeskCore
import Foundation

/// Whose turn it is: requests waiting for the account's request budget, served
/// round-robin between members so one busy member cannot starve the others.
/// Pure state; `RequestPacer` drives it with a clock.
public struct FairQueue: Sendable, Equatable {
    private var queues: [String: [Int]] = [:]
    /// Members in the order they first queued (a club has a handful); the rotation walks it.
    private var rotation: [String] = []
    private var lastServed: String?
    private var nextTicket = 0

    public init() {}

    /// Queues a request for `member`; returns its ticket.
    public mutating func enqueue(_ member: String) -> Int {
        nextTicket += 1
        if !rotation.contains(member) { rotation.append(member) }
        queues[member, default: []].append(nextTicket)
        return nextTicket
    }

    /// The ticket served next: the oldest request of the member after the last one served.
    public func next() -> Int? {
        guard !rotation.isEmpty else { return nil }
        let start = lastServed.flatMap { rotation.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
        for offset in 0..<rotation.count {
            let member = rotation[(start + offset) % rotation.count]
            if let ticket = queues[member]?.first { return ticket }
        }
        return nil
    }

    /// Takes `ticket` off its queue (served, or given up).
    public mutating func remove(_ ticket: Int, served: Bool) {
        guard let member = queues.first(where: { $0.value.contains(ticket) })?.key else { return }
        queues[member]?.removeAll { $0 == ticket }
        if queues[member]?.isEmpty == true { queues[member] = nil }
        if served { lastServed = member }
    }

    public var waiting: Int { queues.values.reduce(0) { $0 + $1.count } }
}

/// Keeps the desk under Alpaca's account-wide request limit (200 per minute),
/// shared fairly between members, and backs off when Alpaca answers 429.
public actor RequestPacer {
    public let perMinute: Int
    /// How long a request may wait for its turn before it is refused.
    public let maximumWait: Duration
    private var bucket: TokenBucket
    private var queue = FairQueue()
    private var pausedUntil: ContinuousClock.Instant?
    private let clock = ContinuousClock()
    private let epoch: ContinuousClock.Instant

    public init(perMinute: Int = 200, burst: Int = 20, maximumWait: Duration = .seconds(20)) {
        self.perMinute = perMinute
        self.maximumWait = maximumWait
        epoch = clock.now
        bucket = TokenBucket(capacity: Double(max(1, burst)), refillPerSecond: Double(perMinute) / 60, now: 0)
    }

    private var now: Double { (clock.now - epoch) / .seconds(1) }

    /// Requests waiting for their turn.
    public var waiting: Int { queue.waiting }

    /// Waits for `member`'s turn and a request from the budget.
    public func acquire(member: String) async throws(BrokerError) {
        let ticket = queue.enqueue(member)
        let deadline = clock.now + maximumWait
        while true {
            if Task.isCancelled {
                queue.remove(ticket, served: false)
                throw .unavailable("the desk is shutting down")
            }
            let paused = pausedUntil.map { $0 > clock.now } ?? false
            if !paused && queue.next() == ticket && bucket.take(now: now) {
                queue.remove(ticket, served: true)
                return
            }
            if clock.now >= deadline {
                queue.remove(ticket, served: false)
                throw .refused(
                    reason:
                        "the club's Alpaca request budget (\(perMinute) requests per minute, shared by all members) is in use; retry in a few seconds",
                    kind: .rateLimited)
            }
            let wait = paused ? min(pausedUntil! - clock.now, .milliseconds(250)) : .milliseconds(20)
            try? await Task.sleep(for: wait)
        }
    }

    /// Alpaca said the budget is spent: wait until `until` before the next request.
    public func pause(until: ContinuousClock.Instant) {
        if pausedUntil.map({ until > $0 }) ?? true { pausedUntil = until }
    }

    /// How long to pause after a 429 or an exhausted budget, from Alpaca's
    /// `X-Ratelimit-Reset` (epoch seconds); one second when it is missing or past.
    public static func pauseLength(resetHeader: String?, now: Date) -> Duration {
        guard let text = resetHeader, let reset = Double(text) else { return .seconds(1) }
        let seconds = reset - now.timeIntervalSince1970
        guard seconds > 0 else { return .seconds(1) }
        return .milliseconds(Int64(min(seconds, 60) * 1000))
    }
}

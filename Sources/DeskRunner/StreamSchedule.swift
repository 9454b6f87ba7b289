/// A place in a backtest's logical time: the settle phase before the first tick
/// (`tick == -1`), or tick `tick`'s desk phase (`strategy == -1`) and then each
/// strategy's turn at it (`strategy`: its place in name order).
public struct TurnKey: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// The tick (0-based); -1 before the first.
    public var tick: Int
    /// The strategy's place in name order; -1 for the desk phase.
    public var strategy: Int

    /// The key of `strategy`'s turn at `tick`.
    public init(tick: Int, strategy: Int) {
        self.tick = tick
        self.strategy = strategy
    }

    /// Tick `tick`'s desk phase: before every strategy's turn at it.
    public static func deskPhase(_ tick: Int) -> TurnKey { TurnKey(tick: tick, strategy: -1) }

    public static func < (left: TurnKey, right: TurnKey) -> Bool {
        (left.tick, left.strategy) < (right.tick, right.strategy)
    }

    public var description: String { "(\(tick), \(strategy))" }
}

/// The stream lockstep's decisions, without I/O: which lines a strategy fed in
/// packets has read (from the kernel's count of what it has not), which turn each
/// of its requests belongs to, when a held request may run, and when a strategy
/// is done with its turn. The driver (`Lockstep` in stream mode) performs what it
/// answers; the HTTP gate (`StreamGate`) stamps requests with it.
///
/// A request is stamped with the number of lines its strategy had read when it
/// reached the desk, and belongs to the turn of the last of them (none read: the
/// settle phase before the first tick). A strategy that reads line by line and
/// waits for each answer cannot read between sending and its answer, so the stamp
/// is the line it acted on: its request runs at the same logical time as in strict
/// lockstep. It is done with the turn of its line `k` once it has read line `k+1`
/// (or ended: the last line's turn ends with it) and none of its requests stamped
/// at `k` or before waits or runs.
public struct StreamSchedule: Sendable {
    /// One strategy fed in packets: its lines, what was written and read.
    public struct Feed: Sendable, Equatable {
        /// Its place in name order.
        public let index: Int
        /// The tick of each of its lines, ascending.
        public let ticks: [Int]
        /// The bytes written once each line is (cumulative lengths).
        public let ends: [Int]
        /// Lines written to its stdin.
        public var written = 0
        /// Lines it has read to the end.
        public var consumed = 0
        /// Its stdin is closed (every line written and read).
        public var inputClosed = false
        /// It ended.
        public var ended = false
        /// Its requests released and not answered yet.
        public var inFlight = 0
        /// Its next line whose turn has not begun.
        var nextTurn = 0

        /// A strategy at place `index` that will be given lines of these byte lengths, at these ticks.
        public init(index: Int, ticks: [Int], lengths: [Int]) {
            precondition(ticks.count == lengths.count, "one tick per line")
            self.index = index
            self.ticks = ticks
            var total = 0
            self.ends = lengths.map { length in
                total += length
                return total
            }
        }

        /// The turn a request stamped `stamp` (lines read) belongs to.
        func turn(of stamp: Int) -> TurnKey {
            TurnKey(tick: stamp == 0 ? -1 : ticks[stamp - 1], strategy: index)
        }
    }

    /// A request that reached the desk and waits for its turn.
    public struct Held: Sendable, Equatable {
        public var id: Int
        public var strategy: String
        /// Lines its strategy had read when it arrived.
        public var stamp: Int
        public var turn: TurnKey
    }

    /// What the gate does with a request that arrived.
    public enum Arrival: Sendable, Equatable {
        /// It runs now: its turn is the current one and nothing of its strategy runs
        /// (`late`: its turn had passed — a strategy that asks from another thread).
        case run(stamp: Int, late: Bool)
        /// It waits until the driver releases it.
        case hold(stamp: Int)
    }

    /// What the driver does next in the current turn.
    public enum Step: Sendable, Equatable {
        /// Let this held request run (to its answer: `answered`).
        case release(id: Int)
        /// Nothing to do until a request arrives or is answered, or the strategy reads.
        case wait
        /// The turn is over.
        case done
    }

    /// The strategies fed in packets, by name.
    public private(set) var feeds: [String: Feed]
    /// Requests waiting for their turn, in the order they arrived.
    public private(set) var held: [Held] = []
    /// Where the driver is.
    public private(set) var current = TurnKey(tick: -1, strategy: -1)
    /// The line whose turn is the current one (-1: settle), when the current turn is a fed strategy's.
    private var currentLine: (strategy: String, line: Int)?
    /// Requests that arrived after their turn had passed (taken at once).
    public private(set) var lateRequests = 0

    /// How far ahead of the driver's tick lines are written: a request of a strategy
    /// that read ahead waits (in wall time) until the driver gets there, which the
    /// slowest strategy paces; its client's timeout must not run out meanwhile.
    public let ticksAhead: Int
    /// How many lines a strategy's stdin holds unread (a packet takes a page of its 1 MiB pipe).
    public let linesAhead: Int

    /// The schedule of these strategies' feeds, lines written up to `ticksAhead`
    /// ticks past the driver's and `linesAhead` lines past what each has read.
    public init(feeds: [String: Feed], ticksAhead: Int = 128, linesAhead: Int = 256) {
        self.feeds = feeds
        self.ticksAhead = ticksAhead
        self.linesAhead = linesAhead
    }

    // MARK: feeding

    /// The next line of `name` to write (its index), when one is left, its stdin
    /// is open and has room, and it is not too far ahead of the driver. The line
    /// after one within reach is always in reach: a strategy is done with a line
    /// once it has read the next.
    public func nextLineToWrite(_ name: String) -> Int? {
        guard let feed = feeds[name], !feed.inputClosed, !feed.ended, feed.written < feed.ticks.count,
            feed.written - feed.consumed < linesAhead,
            feed.written == 0 || feed.ticks[feed.written - 1] <= current.tick + ticksAhead
        else { return nil }
        return feed.written
    }

    /// A line of `name` was written.
    public mutating func wrote(_ name: String) { feeds[name]?.written += 1 }

    /// What `name` has not read of what was written (the kernel's count; nil once
    /// its stdin is closed): updates the lines it has read. True when that moved.
    @discardableResult
    public mutating func observe(_ name: String, unread: Int?) -> Bool {
        guard var feed = feeds[name] else { return false }
        let writtenBytes = feed.written == 0 ? 0 : feed.ends[feed.written - 1]
        // A closed stdin was closed once everything written had been read.
        let read = unread.map { writtenBytes - $0 } ?? (feed.inputClosed ? writtenBytes : 0)
        let before = feed.consumed
        while feed.consumed < feed.written && feed.ends[feed.consumed] <= read { feed.consumed += 1 }
        feeds[name] = feed
        return feed.consumed != before
    }

    /// Whether `name`'s stdin is due to be closed: every line written and read, so it sees end of data.
    public func shouldCloseInput(_ name: String) -> Bool {
        guard let feed = feeds[name], !feed.inputClosed else { return false }
        return feed.written == feed.ticks.count && feed.consumed == feed.written
    }

    /// `name`'s stdin was closed.
    public mutating func closedInput(_ name: String) { feeds[name]?.inputClosed = true }

    /// `name` ended.
    public mutating func ended(_ name: String) { feeds[name]?.ended = true }

    // MARK: requests

    /// A request (`id`) of `name` reached the desk; call `observe` for `name` first.
    /// Nil for a strategy not fed in packets (it runs as in strict lockstep).
    public mutating func arrive(id: Int, strategy name: String) -> Arrival? {
        guard let feed = feeds[name] else { return nil }
        let stamp = feed.consumed
        let turn = feed.turn(of: stamp)
        if turn < current {
            lateRequests += 1
            feeds[name]?.inFlight += 1
            return .run(stamp: stamp, late: true)
        }
        if turn == current && feed.inFlight == 0 && !held.contains(where: { $0.strategy == name }) {
            feeds[name]?.inFlight += 1
            return .run(stamp: stamp, late: false)
        }
        held.append(Held(id: id, strategy: name, stamp: stamp, turn: turn))
        return .hold(stamp: stamp)
    }

    /// A request of `name` that ran was answered.
    public mutating func answered(_ name: String) {
        guard let inFlight = feeds[name]?.inFlight, inFlight > 0 else { return }
        feeds[name]?.inFlight = inFlight - 1
    }

    /// A held request left without running (its client went away).
    public mutating func withdraw(id: Int) { held.removeAll { $0.id == id } }

    // MARK: turns

    /// The settle phase of `name` (before the first tick) begins.
    public mutating func beginSettle(_ name: String) {
        guard let feed = feeds[name] else { return }
        current = TurnKey(tick: -1, strategy: feed.index)
        currentLine = (name, -1)
    }

    /// Tick `tick`'s desk phase begins (no strategy's turn).
    public mutating func beginDeskPhase(_ tick: Int) {
        current = .deskPhase(tick)
        currentLine = nil
    }

    /// `name`'s turn at `tick` begins, a strategy at place `index`: true when
    /// it is fed in packets and has a line at that tick (the driver then steps
    /// through it); false otherwise (nothing to wait for here).
    public mutating func beginTurn(_ name: String, index: Int, tick: Int) -> Bool {
        current = TurnKey(tick: tick, strategy: index)
        currentLine = nil
        guard let feed = feeds[name], feed.nextTurn < feed.ticks.count, feed.ticks[feed.nextTurn] == tick else {
            return false
        }
        currentLine = (name, feed.nextTurn)
        feeds[name]?.nextTurn += 1
        return true
    }

    /// What the driver does next in the current turn (call `observe` first).
    public mutating func step() -> Step {
        // A request whose turn has passed (it can only have come from a strategy's other thread).
        if let late = held.firstIndex(where: { $0.turn < current }) {
            let request = held.remove(at: late)
            lateRequests += 1
            feeds[request.strategy]?.inFlight += 1
            return .release(id: request.id)
        }
        guard let (name, line) = currentLine, let feed = feeds[name] else { return .done }
        if feed.inFlight > 0 { return .wait }
        if let next = held.firstIndex(where: { $0.strategy == name && $0.turn == current }) {
            let request = held.remove(at: next)
            feeds[name]?.inFlight += 1
            return .release(id: request.id)
        }
        return isDone(name, line: line) ? .done : .wait
    }

    /// Whether the strategy is done with `line` (-1: the settle phase): it read
    /// the next line, or ended, and none of its requests up to that line waits or runs.
    func isDone(_ name: String, line: Int) -> Bool {
        guard let feed = feeds[name], feed.consumed >= line + 2 || feed.ended, feed.inFlight == 0 else {
            return false
        }
        return !held.contains { $0.strategy == name && $0.stamp <= line + 1 }
    }

    /// The strategy the current turn waits for (the deadline names it), if any.
    public var waitingFor: String? { currentLine?.strategy }

    /// The line of the current turn's strategy (0-based) whose turn it is; -1 in the settle phase.
    public var waitingLine: Int? { currentLine?.line }
}

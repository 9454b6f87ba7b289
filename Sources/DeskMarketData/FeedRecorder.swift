import DeskCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Records every tick the feed hub publishes into `FOLDER/YYYY-MM-DD.jsonl`
/// (the tick's New York date), one ``Tick/jsonLine`` per line: the format
/// `desk backtest --data` (``ReplaySource``) reads, so a day's file replays as it was.
///
/// The hub calls the recorder as an observer, synchronously; the recorder only
/// appends the tick to a bounded buffer there and never waits. A thread of its
/// own (file I/O never runs on a Swift concurrency thread) appends each batch to
/// the day's file with plain `write`s, so a batch is in the file when the
/// thread turns to the next one. A full buffer (a slow disk) or a failed write
/// drops lines: they are counted (`dropped`, for the metric) and the first of
/// each kind is logged; publishing never stalls and the desk keeps running.
///
/// Days older than `retentionDays` (by the desk's clock, New York date: today
/// and the `retentionDays - 1` days before it are kept) are deleted when the
/// recorder starts and each time the date changes.
///
/// The hub only carries what its source gives: a live source subscribes
/// upstream to the symbols strategies asked for, so those are what is recorded.
public final class FeedRecorder: Service, Sendable {
    private struct Buffer {
        var ticks: [Tick] = []
        var dropped = 0
        var stopped = false
    }

    /// The recorded feed's folder in the research data folder.
    public static let folderName = "feed"

    /// The folder the day files are in.
    public let folder: URL
    /// Days of files kept (at least 1).
    public let retentionDays: Int
    /// Ticks held at most while the thread writes.
    public let capacity: Int
    private let hub: FeedHub
    private let clock: any DeskClock
    private let logger: Logger
    private let onDropped: @Sendable (Int) -> Void
    private let buffer = Mutex(Buffer())
    private let wake = DispatchSemaphore(value: 0)
    private let counts = Mutex(FeedRecorderStatistics())
    private let recording = Mutex(false)

    /// A recorder of `hub` into `folder`; `onDropped` hears each count of lines not recorded.
    public init(
        hub: FeedHub, folder: URL, retentionDays: Int, capacity: Int = 65_536, clock: any DeskClock = WallClock(),
        logger: Logger, onDropped: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.hub = hub
        self.folder = folder
        self.retentionDays = max(1, retentionDays)
        self.capacity = max(1, capacity)
        self.clock = clock
        self.logger = logger
        self.onDropped = onDropped
    }

    /// Whether it observes the hub (from the start of ``run()`` until it stops).
    public var isRecording: Bool { recording.withLock { $0 } }

    /// Lines written and dropped so far.
    public var statistics: FeedRecorderStatistics { counts.withLock { $0 } }

    /// The file a New York day's ticks go to.
    public func file(for day: TradingDay) -> URL { folder.appendingPathComponent("\(day).jsonl") }

    /// Records until graceful shutdown, then writes what is buffered and returns. Run it once.
    public func run() async throws {
        hub.observe { [self] tick in take(tick) }
        let finished = OneShot<Void>()
        let thread = Thread { [self] in
            write()
            finished.fire()
        }
        thread.name = "feed recorder"
        thread.start()
        recording.withLock { $0 = true }
        logger.info(
            "recording the feed", metadata: ["folder": "\(folder.path)", "retention_days": "\(retentionDays)"])
        try? await gracefulShutdown()
        buffer.withLock { $0.stopped = true }
        wake.signal()
        await finished.wait()
        recording.withLock { $0 = false }
        let statistics = self.statistics
        logger.info(
            "feed recorder stopped", metadata: ["lines": "\(statistics.written)", "dropped": "\(statistics.dropped)"])
    }

    /// The hub's observer: into the buffer, or counted as dropped; never waits.
    private func take(_ tick: Tick) {
        let first = buffer.withLock { buffer -> Bool? in
            if buffer.stopped { return nil }
            guard buffer.ticks.count < capacity else {
                buffer.dropped += 1
                return nil
            }
            buffer.ticks.append(tick)
            return buffer.ticks.count == 1
        }
        if first == true { wake.signal() }
    }

    /// The thread: batch after batch until stopped and empty.
    private func write() {
        var writer = DayFiles(folder: folder, logger: logger)
        var prunedOn: TradingDay?
        var loggedFull = false
        while true {
            wake.wait()
            let (ticks, full, stopped) = buffer.withLock { buffer in
                defer {
                    buffer.ticks.removeAll(keepingCapacity: true)
                    buffer.dropped = 0
                }
                return (buffer.ticks, buffer.dropped, buffer.stopped)
            }
            let today = writer.day(of: clock.now())
            if prunedOn != today {
                prune(today: today)
                prunedOn = today
            }
            if full > 0 && !loggedFull {
                loggedFull = true
                logger.warning(
                    "the feed recorder's buffer is full (the disk is slower than the feed): lines are dropped and counted in desk_feed_recorder_dropped_lines_total",
                    metadata: ["capacity": "\(capacity)"])
            }
            let failed = writer.append(ticks)
            let dropped = full + failed
            counts.withLock {
                $0.written += ticks.count - failed
                $0.dropped += dropped
            }
            if dropped > 0 { onDropped(dropped) }
            if stopped && buffer.withLock({ $0.ticks.isEmpty }) { break }
        }
        writer.close()
    }

    /// Deletes day files older than the retention (other files in the folder are left alone).
    private func prune(today: TradingDay) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        let oldest = today.adding(days: -(retentionDays - 1))
        for name in names where name.hasSuffix(".jsonl") {
            guard let day = TradingDay(name.dropLast(".jsonl".count)), day < oldest else { continue }
            do {
                try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
                logger.info("deleted a recorded feed day past its retention", metadata: ["file": "\(name)"])
            } catch {
                logger.error(
                    "cannot delete a recorded feed day past its retention",
                    metadata: ["file": "\(name)", "error": "\(error)"])
            }
        }
    }
}

/// What a ``FeedRecorder`` did so far.
public struct FeedRecorderStatistics: Sendable, Equatable {
    /// Lines in the day files.
    public var written = 0
    /// Lines not recorded: the buffer was full, or the write failed.
    public var dropped = 0
    public init() {}
}

/// The open day file (one at a time: a feed's ticks come in time order), on the recorder's thread.
private struct DayFiles {
    let folder: URL
    let logger: Logger
    let calendar = SessionCalendar()
    var open: (day: TradingDay, descriptor: Int32)?
    /// The New York date of the last hour looked up: New York's offsets are whole hours.
    var hour: (number: Int64, day: TradingDay)?
    /// The error being met, logged once until a write succeeds again.
    var failing: String?

    init(folder: URL, logger: Logger) {
        self.folder = folder
        self.logger = logger
    }

    mutating func day(of date: Date) -> TradingDay {
        let number = Int64((date.timeIntervalSince1970 / 3600).rounded(.down))
        if let hour, hour.number == number { return hour.day }
        let day = calendar.day(of: date)
        hour = (number, day)
        return day
    }

    /// Appends `ticks` to their days' files; returns how many could not be written.
    mutating func append(_ ticks: [Tick]) -> Int {
        var failed = 0
        var start = 0
        while start < ticks.count {
            let day = day(of: ticks[start].at)
            var end = start + 1
            // Each line ends with its newline.
            var bytes = ticks[start].jsonLineBytes()
            while end < ticks.count, self.day(of: ticks[end].at) == day {
                bytes.append(contentsOf: ticks[end].jsonLineBytes())
                end += 1
            }
            if !write(bytes, day: day) { failed += end - start }
            start = end
        }
        return failed
    }

    private mutating func write(_ bytes: [UInt8], day: TradingDay) -> Bool {
        if open?.day != day {
            close()
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                return failed("cannot create the folder", folder.path, "\(error)")
            }
            let path = folder.appendingPathComponent("\(day).jsonl").path
            let descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { return failed("cannot open", path, String(cString: strerror(errno))) }
            open = (day, descriptor)
        }
        guard let descriptor = open?.descriptor else { return false }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                Foundation.write(descriptor, $0.baseAddress! + offset, $0.count - offset)
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                // A partial line would break the file's next line: cut back to the last whole one.
                let path = folder.appendingPathComponent("\(day).jsonl").path
                let reason = String(cString: strerror(errno))
                if offset > 0 { _ = ftruncate(descriptor, lseek(descriptor, 0, SEEK_END) - off_t(offset)) }
                return failed("cannot write", path, reason)
            }
            offset += written
        }
        if failing != nil {
            failing = nil
            logger.notice("the feed recorder writes again", metadata: ["file": "\(day).jsonl"])
        }
        return true
    }

    private mutating func failed(_ what: String, _ path: String, _ reason: String) -> Bool {
        close()
        let key = what + " " + path
        if failing != key {
            failing = key
            logger.error(
                "the feed recorder \(what) \(path): lines are dropped (counted in desk_feed_recorder_dropped_lines_total); the desk keeps running",
                metadata: ["error": "\(reason)"])
        }
        return false
    }

    mutating func close() {
        if let open { Foundation.close(open.descriptor) }
        open = nil
    }
}

import Foundation

/// How fast a replay runs.
public enum ReplaySpeed: Sendable, Equatable {
    /// The recorded gaps between ticks.
    case recorded
    /// The recorded gaps divided by this factor (10 = ten times as fast). Must be
    /// positive and finite.
    case scaled(Double)
    /// No waiting at all.
    case asFastAsPossible

    /// Parses `recorded` (or `1x`), `fast` (or `max`), or a factor such as `10x` or `0.5x`.
    public static func parse(_ text: String) -> ReplaySpeed? {
        switch text.lowercased() {
        case "recorded", "1x": return .recorded
        case "fast", "max", "asfastaspossible": return .asFastAsPossible
        default:
            guard text.lowercased().hasSuffix("x"), let factor = Double(text.dropLast()), factor.isFinite, factor > 0
            else { return nil }
            return .scaled(factor)
        }
    }

    /// The factor recorded gaps are divided by; nil for no waiting.
    var factor: Double? {
        switch self {
        case .recorded: 1
        case .scaled(let factor): factor
        case .asFastAsPossible: nil
        }
    }
}

/// Replays recorded ticks from a file: CSV (`.csv`; a header naming `timestamp`,
/// `symbol`, `price` and optionally `size`, `bid`, `ask`, `type`, in any order) or
/// JSON lines (`.jsonl`, `.ndjson`; objects with `symbol`, `price`, `ts` or
/// `timestamp`, optional `size`, `bid`, `ask`, `type`). Timestamps are ISO-8601 or
/// epoch seconds or milliseconds; prices are read exactly from their text.
///
/// The whole file is checked when the source is made, so a bad line is reported
/// (as `file:line: what is wrong`) at start-up rather than halfway through a replay.
/// The ticks are not kept: `run` reads the file again, streaming, so a replay of any
/// length runs in constant memory. Ticks keep their recorded timestamps.
public struct ReplaySource: TickSource {
    /// The file replayed.
    public let file: URL
    /// How fast it replays.
    public let speed: ReplaySpeed
    /// Its layout.
    public let format: ReplayFormat
    /// How many ticks it holds (counted when it was checked).
    public let tickCount: Int
    /// The time of its first and last tick; nil for a file with no ticks.
    public let timeSpan: ClosedRange<Date>?

    /// Checks all of `file` (format from its extension unless `format` is given).
    /// - Throws: ``ReplayFileError`` naming the first bad line, an unreadable file,
    ///   an unknown extension or a speed factor that is not positive.
    public init(file: URL, speed: ReplaySpeed, format: ReplayFormat? = nil) throws(ReplayFileError) {
        let format = try Self.format(of: file, given: format)
        if case .scaled(let factor) = speed, !(factor.isFinite && factor > 0) {
            throw ReplayFileError(
                file: file.path, line: nil, message: "replay speed factor \(factor) must be a positive number")
        }
        var reader = try ReplayReader(file: file, format: format)
        var count = 0
        var first: Date?
        var last: Date?
        while let (tick, _) = try reader.next() {
            count += 1
            if first == nil { first = tick.at }
            last = tick.at
        }
        self.file = file
        self.speed = speed
        self.format = format
        tickCount = count
        timeSpan = first.flatMap { first in last.map { first...$0 } }
    }

    /// `replay ticks.csv`.
    public var name: String { "replay \(file.lastPathComponent)" }

    /// Every tick of the file, read into memory: for tests and small files.
    public func readTicks() throws(ReplayFileError) -> [Tick] {
        try Self.readAll(ReplayReader(file: file, format: format), capacity: tickCount)
    }

    /// Every tick of `file` (format from its extension unless `format` is given),
    /// read and checked in one pass, with the errors `init` gives: what `init` and
    /// ``readTicks()`` read in two passes (a backtest's data is loaded whole).
    public static func ticks(in file: URL, format: ReplayFormat? = nil) throws(ReplayFileError) -> [Tick] {
        try readAll(ReplayReader(file: file, format: Self.format(of: file, given: format)), capacity: 0)
    }

    private static func readAll(_ reader: ReplayReader, capacity: Int) throws(ReplayFileError) -> [Tick] {
        var reader = reader
        var ticks: [Tick] = []
        ticks.reserveCapacity(capacity)
        while let (tick, _) = try reader.next() { ticks.append(tick) }
        return ticks
    }

    /// `given`, else the format `file`'s extension names.
    private static func format(of file: URL, given: ReplayFormat?) throws(ReplayFileError) -> ReplayFormat {
        guard let format = given ?? ReplayFormat(fileExtension: file.pathExtension) else {
            throw ReplayFileError(
                file: file.path, line: nil,
                message: "unknown replay file type \"\(file.pathExtension)\": use .csv, .jsonl or .ndjson")
        }
        return format
    }

    /// Emits the file's ticks in order, pacing them by ``speed`` from the moment it
    /// starts (ticks due within a millisecond go out at once, so bursts are not a
    /// sleep per tick), and returns at the end of the file or when cancelled.
    /// - Throws: ``ReplayFileError`` if the file changed since it was checked and now
    ///   has a bad line.
    public func run(_ emit: @Sendable (Tick) async -> Void) async throws {
        var reader = try ReplayReader(file: file, format: format)
        let clock = ContinuousClock()
        let start = clock.now
        var first: Date?
        var sinceYield = 0
        while let (tick, _) = try reader.next() {
            if Task.isCancelled { return }
            let origin = first ?? tick.at
            first = origin
            if let factor = speed.factor {
                let due = start + .seconds(tick.at.timeIntervalSince(origin) / factor)
                if due > clock.now + Pacing.minimumSleep {
                    guard await Pacing.sleep(until: due) else { return }
                    sinceYield = 0
                }
            }
            await emit(tick)
            sinceYield += 1
            if sinceYield == Pacing.ticksBetweenYields {
                sinceYield = 0
                await Task.yield()
            }
        }
    }
}

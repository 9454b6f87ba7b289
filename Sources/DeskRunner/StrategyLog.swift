import DeskCore
import Foundation
import Glibc
import Synchronization

/// A strategy's log file (`<logs>/<name>.log`) with size-based rotation: when
/// it passes `maxBytes` it becomes `<name>.log.1` (older ones shift up to `keep`).
///
/// A write never stops the desk: what cannot be written (the disk is full, or
/// its free space is below `freeSpaceFloor`, kept for the ledger) is dropped and
/// counted, once noted in the log when space returns.
public final class StrategyLog: Sendable {
    public let path: String
    let maxBytes: Int
    let keep: Int
    /// Free bytes the log's filesystem keeps: below them, output is dropped (the
    /// ledger beside the logs needs the space more than a strategy's output).
    let freeSpaceFloor: UInt64
    private struct State {
        var descriptor: Int32 = -1
        var size = 0
        /// Bytes dropped since the last successful write.
        var dropping = 0
        /// Bytes written since free space was last measured.
        var sinceCheck = Int.max
        var floorReached = false
    }
    private let state = Mutex(State())

    /// Bytes of strategy output dropped by every log in this process (a full disk, the free-space floor).
    public static var droppedBytes: Int { dropped.load(ordering: .relaxed) }
    private static let dropped = Atomic<Int>(0)
    /// The default `freeSpaceFloor`: 64 MiB.
    public static let defaultFreeSpaceFloor: UInt64 = 64 << 20

    public init(path: String, maxBytes: Int = 10 << 20, keep: Int = 3, freeSpaceFloor: UInt64 = defaultFreeSpaceFloor) {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
        self.freeSpaceFloor = freeSpaceFloor
    }

    /// Appends bytes, rotating first when the file would pass the limit; drops
    /// them (counted in `droppedBytes`) when they cannot be written.
    public func append(_ data: Data) {
        state.withLock { state in
            if state.descriptor < 0 { open(&state) }
            if state.size > 0 && state.size + data.count > maxBytes {
                closeDescriptor(&state)
                rotate()
                open(&state)
            }
            guard state.descriptor >= 0, hasRoom(&state, for: data.count) else {
                drop(data.count, &state)
                return
            }
            if state.dropping > 0 {
                let note = Array(
                    "[desk \(Timestamp.string(Date()))] \(state.dropping) bytes of output dropped: the disk was full\n"
                        .utf8)
                if writeAll(note, state.descriptor) { state.size += note.count }
                state.dropping = 0
            }
            if writeAll(Array(data), state.descriptor) {
                state.size += data.count
                state.sinceCheck += data.count
            } else {
                drop(data.count, &state)
            }
        }
    }

    /// Whether `count` more bytes keep the filesystem above the floor (measured
    /// again after each megabyte written, and at every write while below it).
    private func hasRoom(_ state: inout State, for count: Int) -> Bool {
        if state.floorReached || state.sinceCheck >= 1 << 20 {
            var info = statvfs()
            if fstatvfs(state.descriptor, &info) == 0 {
                let free = UInt64(info.f_bavail) * UInt64(info.f_frsize)
                state.floorReached = free < freeSpaceFloor || free - freeSpaceFloor < UInt64(count)
            }
            state.sinceCheck = 0
        }
        return !state.floorReached
    }

    private func drop(_ count: Int, _ state: inout State) {
        state.dropping += count
        Self.dropped.add(count, ordering: .relaxed)
    }

    /// Writes everything or reports failure (ENOSPC, EFBIG, EIO: the caller drops the rest).
    private func writeAll(_ bytes: [UInt8], _ descriptor: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    /// Appends one line written by the desk itself (start, exit, restart).
    public func note(_ text: String) {
        append(Data("[desk \(Timestamp.string(Date()))] \(text)\n".utf8))
    }

    public func close() {
        state.withLock { closeDescriptor(&$0) }
    }

    /// Mode of a log file: the desk's user only (a log can hold a strategy's
    /// secrets, and what one member's strategy prints is not another's to read).
    public static let fileMode: mode_t = 0o600

    private func closeDescriptor(_ state: inout State) {
        if state.descriptor >= 0 { Glibc.close(state.descriptor) }
        state.descriptor = -1
    }

    private func open(_ state: inout State) {
        // Created 0600 from the start, whatever the umask; an older, more open file is narrowed.
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, Self.fileMode)
        guard descriptor >= 0 else {
            state.descriptor = -1
            return
        }
        fchmod(descriptor, Self.fileMode)
        state.descriptor = descriptor
        let end = lseek(descriptor, 0, SEEK_END)
        state.size = end > 0 ? Int(end) : 0
        state.sinceCheck = Int.max
    }

    private func rotate() {
        let manager = FileManager.default
        try? manager.removeItem(atPath: "\(path).\(keep)")
        if keep > 1 {
            for index in stride(from: keep - 1, through: 1, by: -1) where manager.fileExists(atPath: "\(path).\(index)")
            {
                try? manager.moveItem(atPath: "\(path).\(index)", toPath: "\(path).\(index + 1)")
            }
        }
        try? manager.moveItem(atPath: path, toPath: "\(path).1")
    }

    /// The last `lines` lines (reaching into the rotated file when the current one is short).
    public static func tail(path: String, lines: Int) -> [String] {
        var collected: [String] = []
        for file in [path, "\(path).1"] {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            var fileLines = String(decoding: data, as: UTF8.self).split(
                separator: "\n", omittingEmptySubsequences: false
            )
            .map(String.init)
            if fileLines.last == "" { fileLines.removeLast() }
            collected = fileLines + collected
            if collected.count >= lines { break }
        }
        return Array(collected.suffix(lines))
    }

    /// New lines as they are written, following rotation, until the consuming task is cancelled.
    /// A line longer than `maxLineBytes` comes in pieces of that size.
    public static func follow(
        path: String, poll: Duration = .milliseconds(200), maxLineBytes: Int = LogFollower.defaultMaxLineBytes
    ) -> LogFollower {
        LogFollower(path: path, poll: poll, maxLineBytes: maxLineBytes)
    }
}

/// Lines appended to a log file from now on; survives rotation. Polls the file.
public struct LogFollower: AsyncSequence, Sendable {
    public typealias Element = String
    let path: String
    let poll: Duration
    let maxLineBytes: Int

    /// The longest piece of a line a follower yields: 16 KiB.
    public static let defaultMaxLineBytes = 16 << 10
    /// The most a follower reads at once: what it holds is bounded by this and `maxLineBytes`.
    static let readLimit = 64 << 10

    public struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        let poll: Duration
        let maxLineBytes: Int
        var position: UInt64
        var inode: UInt64
        var pending = Data()
        var ready: [String] = []

        public mutating func next() async throws -> String? {
            while ready.isEmpty {
                if Task.isCancelled { return nil }
                readNew()
                if ready.isEmpty { try await Task.sleep(for: poll) }
            }
            return ready.removeFirst()
        }

        mutating func readNew() {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let currentInode = attributes?[.systemFileNumber] as? UInt64 ?? 0
            let size = attributes?[.size] as? UInt64 ?? 0
            if currentInode != inode || size < position {
                // Rotated: the new file is read from its start.
                inode = currentInode
                position = 0
            }
            guard size > position, let handle = FileHandle(forReadingAtPath: path) else { return }
            try? handle.seek(toOffset: position)
            let data = (try? handle.read(upToCount: LogFollower.readLimit)) ?? Data()
            try? handle.close()
            position += UInt64(data.count)
            pending.append(data)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                ready.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...newline)
            }
            // A line with no end in sight comes in pieces: what waits for a newline stays bounded.
            while pending.count >= maxLineBytes {
                let end = pending.index(pending.startIndex, offsetBy: maxLineBytes)
                ready.append(String(decoding: pending[pending.startIndex..<end], as: UTF8.self))
                pending.removeSubrange(pending.startIndex..<end)
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return AsyncIterator(
            path: path, poll: poll, maxLineBytes: maxLineBytes, position: attributes?[.size] as? UInt64 ?? 0,
            inode: attributes?[.systemFileNumber] as? UInt64 ?? 0)
    }
}

import DeskCore
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A strategy's log file (`<logs>/<name>.log`) with size-based rotation: when
/// it passes `maxBytes` it becomes `<name>.log.1` (older ones shift up to `keep`).
public final class StrategyLog: Sendable {
    public let path: String
    let maxBytes: Int
    let keep: Int
    private let state = Mutex<(handle: FileHandle?, size: Int)>((nil, 0))

    public init(path: String, maxBytes: Int = 10 << 20, keep: Int = 3) {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
    }

    /// Appends bytes, rotating first when the file would pass the limit.
    public func append(_ data: Data) {
        state.withLock { state in
            if state.handle == nil { open(&state) }
            if state.size > 0 && state.size + data.count > maxBytes {
                try? state.handle?.close()
                rotate()
                open(&state)
            }
            state.handle?.write(data)
            state.size += data.count
        }
    }

    /// Appends one line written by the desk itself (start, exit, restart).
    public func note(_ text: String) {
        append(Data("[desk \(Timestamp.string(Date()))] \(text)\n".utf8))
    }

    public func close() {
        state.withLock { state in
            try? state.handle?.close()
            state.handle = nil
        }
    }

    /// Mode of a log file: the desk's user only (a log can hold a strategy's
    /// secrets, and what one member's strategy prints is not another's to read).
    public static let fileMode: mode_t = 0o600

    private func open(_ state: inout (handle: FileHandle?, size: Int)) {
        // Created 0600 from the start, whatever the umask; an older, more open file is narrowed.
        #if canImport(Glibc)
            let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, Self.fileMode)
        #else
            let descriptor = Darwin.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, Self.fileMode)
        #endif
        guard descriptor >= 0 else {
            state.handle = nil
            return
        }
        fchmod(descriptor, Self.fileMode)
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        state.handle = handle
        state.size = Int((try? handle.seekToEnd()) ?? 0)
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
    public static func follow(path: String, poll: Duration = .milliseconds(200)) -> LogFollower {
        LogFollower(path: path, poll: poll)
    }
}

/// Lines appended to a log file from now on; survives rotation. Polls the file.
public struct LogFollower: AsyncSequence, Sendable {
    public typealias Element = String
    let path: String
    let poll: Duration

    public struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        let poll: Duration
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
            let data = handle.readDataToEndOfFile()
            try? handle.close()
            position += UInt64(data.count)
            pending.append(data)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                ready.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...newline)
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return AsyncIterator(
            path: path, poll: poll, position: attributes?[.size] as? UInt64 ?? 0,
            inode: attributes?[.systemFileNumber] as? UInt64 ?? 0)
    }
}

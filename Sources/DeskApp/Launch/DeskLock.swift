import DeskCore
import DeskLedger
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the lock file says about the desk holding it (JSON, written by that desk).
public struct DeskLockRecord: Codable, Sendable, Equatable {
    public var pid: Int32
    public var database: String
    public var startedAt: Date
    /// `http://host:port` once the desk listens on TCP.
    public var url: String?
    /// The unix socket once the desk listens on it.
    public var unixSocket: String?

    public init(pid: Int32, database: String, startedAt: Date, url: String? = nil, unixSocket: String? = nil) {
        self.pid = pid
        self.database = database
        self.startedAt = startedAt
        self.url = url
        self.unixSocket = unixSocket
    }

    enum CodingKeys: String, CodingKey {
        case pid, database, startedAt = "started_at", url, unixSocket = "unix_socket"
    }

    /// `pid 1234, http://127.0.0.1:8080, unix:///…/desk.sock`.
    public var summary: String {
        (["pid \(pid)"] + [url, unixSocket.map { "unix://\($0)" }].compactMap { $0 }).joined(separator: ", ")
    }
}

/// One ledger, one desk: `desk serve` holds an exclusive `flock` on `<db>.lock`
/// for its whole life. The kernel releases it when the process ends however it
/// ends (kill -9 included), so a lock left by a dead desk is simply taken; the
/// file's content (pid, addresses) only names the holder in messages.
public final class DeskLock: Sendable {
    /// The lock file.
    public let path: String
    /// When this process took the lock.
    public let startedAt = Date()
    private let descriptor: Int32

    /// `<database>.lock`.
    public static func path(forDatabase database: String) -> String { database + ".lock" }

    /// Why the lock could not be taken.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// Another desk holds it.
        case held(lockFile: String, holder: DeskLockRecord?)
        /// The lock file could not be opened or locked.
        case unusable(lockFile: String, reason: String)

        public var description: String {
            switch self {
            case .held(let lockFile, let holder):
                let who = holder.map { "another desk (\($0.summary)) is" } ?? "another desk is"
                return
                    "\(who) already running on this ledger (lock file \(lockFile)); one ledger takes one desk. Stop that desk first, or pass another --db."
            case .unusable(let lockFile, let reason):
                return "cannot use the lock file \(lockFile): \(reason)"
            }
        }
    }

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Takes the lock for `database`, waiting up to `patience` for a `desk` command
    /// that only looks at it; returns the lock, what the file said before (a desk
    /// that died without releasing it, when it named a pid), and the mode change
    /// when the file was too open.
    public static func acquire(database: String, patience: Duration = .milliseconds(500)) throws(Failure) -> (
        lock: DeskLock, previous: DeskLockRecord?, narrowed: FileModeChange?
    ) {
        let path = path(forDatabase: database)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw .unusable(lockFile: path, reason: "cannot create its folder: \(error.localizedDescription)")
        }
        let narrowed: FileModeChange?
        do { narrowed = try PrivateFiles.ensureFile(path) } catch {
            throw .unusable(lockFile: path, reason: error.reason)
        }
        let descriptor = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { throw .unusable(lockFile: path, reason: String(cString: strerror(errno))) }
        let deadline = ContinuousClock.now + patience
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(descriptor)
                throw .unusable(lockFile: path, reason: String(cString: strerror(code)))
            }
            if ContinuousClock.now >= deadline {
                let holder = read(descriptor: descriptor)
                close(descriptor)
                throw .held(lockFile: path, holder: holder)
            }
            usleep(20_000)
        }
        let lock = DeskLock(path: path, descriptor: descriptor)
        let previous = read(descriptor: descriptor)
        lock.write(DeskLockRecord(pid: getpid(), database: database, startedAt: lock.startedAt))
        return (lock, previous, narrowed)
    }

    /// Replaces the file's content (the desk's pid and, once it listens, its addresses).
    public func write(_ record: DeskLockRecord) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(record) else { return }
        let bytes = Array(data) + [UInt8(ascii: "\n")]
        _ = ftruncate(descriptor, 0)
        _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// What a `desk` command learns about the ledger at `database`.
    public enum Probe: Sendable, Equatable {
        /// A desk runs on it.
        case running(DeskLockRecord?)
        /// No desk holds the lock.
        case notRunning
        /// The lock file could not be read (another user's desk).
        case unknown(String)
    }

    /// Whether a desk runs on `database`, without disturbing it: a shared lock is
    /// tried and released at once (a desk starting meanwhile waits for it).
    public static func probe(database: String) -> Probe {
        let path = path(forDatabase: database)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else {
            return errno == ENOENT ? .notRunning : .unknown("\(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 {
            flock(descriptor, LOCK_UN)
            return .notRunning
        }
        return errno == EWOULDBLOCK
            ? .running(read(descriptor: descriptor)) : .unknown(String(cString: strerror(errno)))
    }

    private static func read(descriptor: Int32) -> DeskLockRecord? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(DeskLockRecord.self, from: Data(buffer[0..<count]))
    }
}

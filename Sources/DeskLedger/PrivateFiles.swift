import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file or folder whose permissions the desk narrowed because other users could read it.
public struct FileModeChange: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    /// Permission bits before (`0o644`).
    public var oldMode: UInt16
    /// Permission bits after (`0o600`).
    public var newMode: UInt16

    public init(path: String, oldMode: UInt16, newMode: UInt16) {
        self.path = path
        self.oldMode = oldMode
        self.newMode = newMode
    }

    /// `0644`: permission bits as `ls -l` users read them in octal.
    public static func octal(_ mode: UInt16) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    public var description: String { "\(path): \(Self.octal(oldMode)) → \(Self.octal(newMode))" }
}

/// Files only the desk's own user may read: the ledger and its WAL and shared
/// memory, the admin token, the lock file, the strategy logs. Each is created with
/// its private mode from the start (never created open and narrowed later), and
/// one that already exists with more permissions is narrowed.
public enum PrivateFiles {
    /// Mode of the desk's private files: read and write for its user only.
    public static let fileMode: UInt16 = 0o600
    /// Mode of the desk's private folders (the strategy logs).
    public static let folderMode: UInt16 = 0o700

    /// What could not be done to a private file.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Creates `path` empty with `mode` when it does not exist (without following a
    /// symbolic link planted in its place), else narrows it to `mode` when it grants
    /// more than `mode` does. Returns the change it made to an existing file.
    @discardableResult
    public static func ensureFile(_ path: String, mode: UInt16 = fileMode) throws(Problem) -> FileModeChange? {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode_t(mode))
        if descriptor >= 0 {
            // The umask may have taken bits away, never added them: set exactly `mode`.
            fchmod(descriptor, mode_t(mode))
            close(descriptor)
            return nil
        }
        guard errno == EEXIST else { throw Problem(path: path, reason: String(cString: strerror(errno))) }
        return try narrow(path, to: mode)
    }

    /// Narrows an existing file or folder to `mode` when it grants bits `mode` does
    /// not; nil when it does not exist or is already private enough.
    @discardableResult
    public static func narrow(_ path: String, to mode: UInt16) throws(Problem) -> FileModeChange? {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            if errno == ENOENT { return nil }
            throw Problem(path: path, reason: String(cString: strerror(errno)))
        }
        if (status.st_mode & S_IFMT) == S_IFLNK {
            throw Problem(path: path, reason: "is a symbolic link; the desk keeps its private files as plain files")
        }
        let current = UInt16(status.st_mode & 0o7777)
        guard current & ~mode != 0 else { return nil }
        let narrowed = current & mode
        guard chmod(path, mode_t(narrowed)) == 0 else {
            throw Problem(path: path, reason: "cannot change its mode: \(String(cString: strerror(errno)))")
        }
        return FileModeChange(path: path, oldMode: current, newMode: narrowed)
    }

    /// Creates the folder (and missing parents) with `mode` when it does not exist,
    /// else narrows it; returns the change made to an existing folder.
    @discardableResult
    public static func ensureFolder(_ path: String, mode: UInt16 = folderMode) throws(Problem) -> FileModeChange? {
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        if !manager.fileExists(atPath: path, isDirectory: &isFolder) {
            do {
                try manager.createDirectory(
                    atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: Int(mode)])
            } catch {
                throw Problem(path: path, reason: "cannot create the folder: \(error.localizedDescription)")
            }
            chmod(path, mode_t(mode))
            return nil
        }
        guard isFolder.boolValue else { throw Problem(path: path, reason: "exists and is not a folder") }
        return try narrow(path, to: mode)
    }

    /// Replaces `path` with `contents`, never readable by others at any moment: a
    /// temporary file created with `mode` beside it, then renamed over it.
    public static func write(_ path: String, contents: [UInt8], mode: UInt16 = fileMode) throws(Problem) {
        let temporary = "\(path).tmp-\(getpid())"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode_t(mode))
        guard descriptor >= 0 else { throw Problem(path: path, reason: String(cString: strerror(errno))) }
        fchmod(descriptor, mode_t(mode))
        #if canImport(Glibc)
            let written = contents.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        #else
            let written = contents.withUnsafeBytes { Darwin.write(descriptor, $0.baseAddress, $0.count) }
        #endif
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == contents.count, synced == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Problem(path: path, reason: reason)
        }
    }

    /// The permission bits of `path`, nil when it does not exist.
    public static func mode(_ path: String) -> UInt16? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return UInt16(status.st_mode & 0o7777)
    }
}

extension Ledger {
    /// The ledger's files: the database, its write-ahead log and its shared memory.
    public static func files(path: String) -> [String] { [path, path + "-wal", path + "-shm"] }

    /// Makes the ledger's files private before SQLite opens them: creates the
    /// database file 0600 when it does not exist (SQLite gives the WAL and
    /// shared-memory files the database file's mode), and narrows existing ones
    /// that others could read. Returns what it narrowed.
    public static func securePrivateFiles(path: String) throws(PrivateFiles.Problem) -> [FileModeChange] {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw PrivateFiles.Problem(
                    path: folder, reason: "cannot create the folder: \(error.localizedDescription)")
            }
        }
        var changes: [FileModeChange] = []
        if let change = try PrivateFiles.ensureFile(path) { changes.append(change) }
        for file in files(path: path).dropFirst() {
            if let change = try PrivateFiles.narrow(file, to: PrivateFiles.fileMode) { changes.append(change) }
        }
        return changes
    }
}

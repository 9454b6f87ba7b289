import Foundation

/// Strategy uids claimed machine-wide: one file per uid in `folder`, made with
/// `O_CREAT | O_EXCL` (so two desks can never both claim one) and naming its
/// owner (a ledger and a strategy). Each desk allocates uids in its own ledger;
/// a uid another desk on this machine — a backtest, a second club — already
/// claimed is skipped, so no two desks' strategies ever share a uid (and one
/// desk's clean-up of leftover processes can never reach another's strategy).
///
/// A claim whose owner is certainly gone is taken over: a ledger file that no
/// longer exists (a deleted backtest or test folder), or an in-memory store of a
/// process that has ended. Takeovers hold the folder's lock and look again
/// before replacing, so two desks never both take one uid.
public struct UIDClaims: Sendable {
    /// Where the claims live (root's, 0700).
    public let folder: URL

    /// The machine's claims: `/var/lib/desk/uids`, or `$DESK_UID_CLAIMS`.
    public static var machine: UIDClaims {
        UIDClaims(
            folder: URL(
                fileURLWithPath: ProcessInfo.processInfo.environment["DESK_UID_CLAIMS"] ?? "/var/lib/desk/uids"))
    }

    public init(folder: URL) { self.folder = folder }

    /// Claims `uid` for `owner`: true when it was free or is already `owner`'s.
    public func claim(_ uid: UInt32, owner: String) throws -> Bool {
        try FileManager.default.createDirectory(
            at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = folder.appendingPathComponent("\(uid)").path
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 {
            var bytes = Array((owner + "\n").utf8)
            let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress!, $0.count) }
            close(fd)
            guard written == bytes.count else {
                unlink(path)
                throw UIDClaimProblem(message: "cannot write the uid claim \(path)")
            }
            return true
        }
        guard errno == EEXIST else {
            throw UIDClaimProblem(
                message: "cannot claim uid \(uid) in \(folder.path): \(String(cString: strerror(errno)))")
        }
        let holder = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        if holder == owner + "\n" { return true }
        guard Self.isGone(holder) else { return false }
        return try takeOver(uid, path: path, from: holder, owner: owner)
    }

    /// Whether the owner a claim names (`holder`, as written) has certainly gone:
    /// `<ledger path> <strategy>` whose ledger file no longer exists, or
    /// `memory pid <pid> <id> <strategy>` whose process has ended. Any other
    /// holder (an older desk's in-memory claim, `lockstep-floor …`) is kept.
    static func isGone(_ holder: String) -> Bool {
        let line = holder.hasSuffix("\n") ? String(holder.dropLast()) : holder
        let words = line.split(separator: " ", omittingEmptySubsequences: false)
        if words.count >= 5, words[0] == "memory", words[1] == "pid", let pid = Int32(words[2]), pid > 0 {
            return kill(pid, 0) != 0 && errno == ESRCH
        }
        guard line.hasPrefix("/"), let space = line.lastIndex(of: " ") else { return false }
        let ledger = String(line[..<space])
        return !FileManager.default.fileExists(atPath: ledger)
    }

    /// The owner name of an in-memory store made by this process.
    static func memoryOwner(_ id: String) -> String { "memory pid \(getpid()) \(id)" }

    /// Replaces the claim `path` (held by `holder`, gone) with `owner`'s, under
    /// the folder's lock: true when it is `owner`'s now.
    private func takeOver(_ uid: UInt32, path: String, from holder: String, owner: String) throws -> Bool {
        let lockPath = folder.appendingPathComponent(".lock").path
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else {
            throw UIDClaimProblem(message: "cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw UIDClaimProblem(message: "cannot lock \(lockPath): \(String(cString: strerror(errno)))")
            }
        }
        // Another desk may have taken it over meanwhile: only the very claim seen gone is replaced.
        guard (try? String(contentsOfFile: path, encoding: .utf8)) == holder else { return false }
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        // A desk claiming without the lock got there first: it is theirs.
        guard fd >= 0 else { return false }
        var bytes = Array((owner + "\n").utf8)
        let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress!, $0.count) }
        close(fd)
        guard written == bytes.count else {
            unlink(path)
            throw UIDClaimProblem(message: "cannot write the uid claim \(path)")
        }
        return true
    }

    /// Gives `uid` back, when `owner` holds it.
    public func release(_ uid: UInt32, owner: String) {
        let path = folder.appendingPathComponent("\(uid)").path
        if (try? String(contentsOfFile: path, encoding: .utf8)) == owner + "\n" { unlink(path) }
    }

    /// The first uid from `start` up that `owner` may have.
    public func claimFirst(from start: UInt32, owner: String) throws -> UInt32 {
        var uid = start
        while !(try claim(uid, owner: owner)) {
            guard uid < UInt32.max - 2 else { throw UIDClaimProblem(message: "no strategy uid left to claim") }
            uid += 1
        }
        return uid
    }
}

/// A uid claim could not be made.
public struct UIDClaimProblem: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

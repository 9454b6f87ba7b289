import Foundation

/// Strategy uids claimed machine-wide: one file per uid in `folder`, made with
/// `O_CREAT | O_EXCL` (so two desks can never both claim one) and naming its
/// owner (a ledger and a strategy). Each desk allocates uids in its own ledger;
/// a uid another desk on this machine — a backtest, a second club — already
/// claimed is skipped, so no two desks' strategies ever share a uid (and one
/// desk's clean-up of leftover processes can never reach another's strategy).
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
        return holder == owner + "\n"
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

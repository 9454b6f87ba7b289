import Foundation

/// A strategy's own corner of the desk's sandbox folder: a private copy of its
/// folder, remade at every start, and its persistent HOME.
///
/// The copy is what the strategy runs from, so the sandbox never needs the
/// strategies folder (every member's code) or the path to it: the copy is
/// readable by the strategy's user and nobody else, wherever the checkout is
/// (a checkout in `/root`, mode 0700, included). Only folders and regular files
/// are copied: a symbolic link could name any file the desk may read.
public struct StrategyStage: Sendable {
    /// The sandbox folder (`sandbox/` beside the ledger).
    public let root: URL

    public init(root: URL) { self.root = root }

    /// Where a prepared strategy runs from.
    public struct Prepared: Sendable, Equatable {
        /// The copy of its folder (read-only to it).
        public var app: URL
        /// Its HOME (read-write, kept across starts).
        public var home: URL
    }

    /// Most files and bytes a strategy folder may hold.
    public static let maximumFiles = 10_000
    public static let maximumBytes: UInt64 = 256 << 20

    /// The copy of `folder` and the HOME of strategy `name`, owned so that only
    /// `user` (or the desk, when nil) can use them.
    public func prepare(name: String, from folder: URL, user: StrategyUser?) throws(StageProblem) -> Prepared {
        let manager = FileManager.default
        let own = root.appendingPathComponent(name)
        let app = own.appendingPathComponent("app")
        let fresh = own.appendingPathComponent("app.new")
        let old = own.appendingPathComponent("app.old")
        let home = own.appendingPathComponent("home")
        do {
            for folder in [root, own] {
                try manager.createDirectory(at: folder, withIntermediateDirectories: true)
                chmod(folder.path, 0o700)
            }
            try? manager.removeItem(at: fresh)
            try? manager.removeItem(at: old)
        } catch {
            throw StageProblem(message: "cannot prepare \(own.path): \(error.localizedDescription)")
        }
        var files = 0
        var bytes: UInt64 = 0
        try copy(folder, to: fresh, relative: "", user: user, files: &files, bytes: &bytes)
        do {
            if manager.fileExists(atPath: app.path) { try manager.moveItem(at: app, to: old) }
            try manager.moveItem(at: fresh, to: app)
            try? manager.removeItem(at: old)
            if !manager.fileExists(atPath: home.path) {
                try manager.createDirectory(at: home, withIntermediateDirectories: false)
            }
        } catch {
            throw StageProblem(message: "cannot prepare \(own.path): \(error.localizedDescription)")
        }
        if let user { chown(home.path, user.uid, user.gid) }
        chmod(home.path, 0o700)
        return Prepared(app: app, home: home)
    }

    private func copy(
        _ source: URL, to target: URL, relative: String, user: StrategyUser?, files: inout Int, bytes: inout UInt64
    ) throws(StageProblem) {
        let manager = FileManager.default
        let label = relative.isEmpty ? source.lastPathComponent : relative
        let entries: [String]
        do {
            try manager.createDirectory(at: target, withIntermediateDirectories: false)
            entries = try manager.contentsOfDirectory(atPath: source.path).sorted()
        } catch {
            throw StageProblem(message: "cannot copy \(source.path): \(error.localizedDescription)")
        }
        own(target.path, user: user, mode: user == nil ? 0o700 : 0o750)
        for entry in entries where entry != "__pycache__" {
            let from = source.appendingPathComponent(entry)
            let to = target.appendingPathComponent(entry)
            let path = relative.isEmpty ? entry : "\(relative)/\(entry)"
            var info = stat()
            guard lstat(from.path, &info) == 0 else {
                throw StageProblem(message: "cannot read \(label)/\(entry)")
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                try copy(from, to: to, relative: path, user: user, files: &files, bytes: &bytes)
            case S_IFREG:
                files += 1
                bytes += UInt64(info.st_size)
                guard files <= Self.maximumFiles, bytes <= Self.maximumBytes else {
                    throw StageProblem(
                        message:
                            "the strategy folder holds more than \(Self.maximumFiles) files or \(Self.maximumBytes >> 20) MiB; keep data elsewhere"
                    )
                }
                do { try manager.copyItem(at: from, to: to) } catch {
                    throw StageProblem(message: "cannot copy \(path): \(error.localizedDescription)")
                }
                let executable = info.st_mode & 0o111 != 0
                own(
                    to.path, user: user, mode: user == nil ? (executable ? 0o700 : 0o600) : (executable ? 0o750 : 0o640)
                )
            default:
                throw StageProblem(
                    message:
                        "\(path) in the strategy folder is a symbolic link or a special file; a strategy folder may hold only folders and regular files"
                )
            }
        }
    }

    /// The desk (root) owns the copy; the strategy's group may read it.
    private func own(_ path: String, user: StrategyUser?, mode: mode_t) {
        if let user { chown(path, 0, user.gid) }
        chmod(path, mode)
    }
}

/// A strategy folder that cannot be staged, and why.
public struct StageProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

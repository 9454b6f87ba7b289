/// The mounts that give a strategy its view of the desk's filesystem: pure, so
/// that which folders are covered and which paths are shown again is decided
/// (and tested) without touching a mount table.
///
/// What a strategy sees is an allow-list: of the root's entries only
/// `visibleRoot` stay (the interpreter's and the C library's folders, `/etc`,
/// `/proc` until the strategy's own is mounted on it);
/// every other one — `/run`, `/var`, `/home`, `/srv`, `/mnt`, … with whatever
/// sockets and files they hold — is covered (`rootCovers`), and `/dev` is rebuilt
/// from a few devices (`devices`, `deviceLinks`).
///
/// A path is *hidden* by covering it: an empty tmpfs over a folder, `/dev/null`
/// over a file. An *exposed* path that sits under a cover — or under a folder the
/// strategy's user may not search, such as a checkout in `/root` (mode 0700) — is
/// shown again at its own path: the folders leading to it are made in the cover
/// and the real path is bind-mounted there. So the interpreter and the client
/// library work wherever the desk's files are, while nothing else of those
/// folders is visible. A *private* folder (HOME, `/tmp`, `/var/tmp`, `/dev/shm`)
/// is a folder of the strategy's own size-limited filesystem, mounted at its path
/// (made in a cover where needed): all of them share that one limit.
public enum MountPlan {
    /// One path the plan works on, as the launcher found it (canonical, absolute).
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var isDirectory: Bool
        public var writable: Bool

        public init(_ path: String, isDirectory: Bool = true, writable: Bool = false) {
            self.path = path
            self.isDirectory = isDirectory
            self.writable = writable
        }
    }

    /// A symbolic link made inside a cover (`/dev/fd` → `/proc/self/fd`).
    public struct Link: Sendable, Equatable {
        public var path: String
        public var target: String

        public init(_ path: String, to target: String) {
            self.path = path
            self.target = target
        }
    }

    /// What covers a path.
    public enum Cover: Sendable, Equatable {
        /// An empty tmpfs (root's, mode 0755) over a folder.
        case empty
        /// `/dev/null` over a file.
        case file
    }

    /// What the launcher does, in order.
    public enum Step: Sendable, Equatable {
        case cover(String, Cover)
        /// A folder made inside a cover (mode 0755, root's), leading to an exposed path.
        case makeDirectory(String)
        /// An empty file made inside a cover, the mount point of an exposed file.
        case makeFile(String)
        /// The exposed path (opened before any cover) bind-mounted at its own path.
        case bind(String, writable: Bool)
        /// A new folder of the strategy's private filesystem (its own, mode 0700) mounted at the path.
        case privateFolder(String)
        /// A symbolic link made inside a cover.
        case link(String, target: String)
    }

    /// The root's entries a strategy sees (besides `/dev`, rebuilt, and its private folders).
    public static let visibleRoot: Set<String> = [
        "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/proc",
    ]
    /// The devices shown in a strategy's `/dev`.
    public static let devices = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]
    /// The links of a strategy's `/dev`.
    public static let deviceLinks = [
        Link("/dev/fd", to: "/proc/self/fd"), Link("/dev/stdin", to: "/proc/self/fd/0"),
        Link("/dev/stdout", to: "/proc/self/fd/1"), Link("/dev/stderr", to: "/proc/self/fd/2"),
    ]

    /// The root's entries (`/run`, `/.dockerenv`, as the launcher listed them)
    /// that are not in `visible`: each one is covered.
    public static func rootCovers(_ entries: [Entry], visible: Set<String> = visibleRoot) -> [Entry] {
        entries.filter { depth($0.path) == 1 && !visible.contains($0.path) }
    }

    /// The steps for `hidden` and `exposed` paths, the private folders and the
    /// links; `searchable(folder)` says whether the strategy's user may search
    /// (pass through) a folder of the real filesystem.
    public static func steps(
        hidden: [Entry], exposed: [Entry], privateFolders: [String] = [], links: [Link] = [],
        searchable: (String) -> Bool
    ) -> [Step] {
        var covers: [String: Cover] = [:]
        for entry in hidden { covers[entry.path] = entry.isDirectory ? .empty : .file }
        let privates = Set(privateFolders)
        for entry in exposed {
            // The topmost folder on the way that the user may not search is covered.
            if let blocked = ancestors(of: entry.path).first(where: { !searchable($0) }), covers[blocked] == nil,
                !privates.contains(blocked)
            {
                covers[blocked] = .empty
            }
        }
        enum Operation {
            case cover(String, Cover)
            case expose(Entry)
            case own(String)
            case link(Link)
            var path: String {
                switch self {
                case .cover(let path, _), .own(let path): path
                case .expose(let entry): entry.path
                case .link(let link): link.path
                }
            }
            var order: Int {
                if case .cover = self { return 0 }
                return 1
            }
        }
        let operations =
            (covers.filter { !privates.contains($0.key) }.map { Operation.cover($0.key, $0.value) }
            + exposed.map(Operation.expose) + privateFolders.map(Operation.own) + links.map(Operation.link))
            .sorted {
                let (left, right) = (depth($0.path), depth($1.path))
                if left != right { return left < right }
                if $0.order != $1.order { return $0.order < $1.order }
                return $0.path < $1.path
            }
        var applied: [(path: String, isCover: Bool)] = []
        var made: Set<String> = []
        var steps: [Step] = []
        /// The folders inside the cover at `cover` leading to `path` (not `path` itself).
        func makeFolders(to path: String, in cover: String) {
            for folder in ancestors(of: path) where depth(folder) > depth(cover) && !made.contains(folder) {
                steps.append(.makeDirectory(folder))
                made.insert(folder)
            }
        }
        for operation in operations {
            let path = operation.path
            let nearest = applied.filter { contains($0.path, path) }.max { depth($0.path) < depth($1.path) }
            let hiddenNow = nearest?.isCover == true
            switch operation {
            case .cover(_, let cover):
                guard !hiddenNow else { continue }
                steps.append(.cover(path, cover))
                applied.append((path, true))
            case .expose(let entry):
                guard hiddenNow, let cover = nearest?.path else { continue }
                makeFolders(to: path, in: cover)
                if path != cover && !made.contains(path) {
                    steps.append(entry.isDirectory ? .makeDirectory(path) : .makeFile(path))
                    made.insert(path)
                }
                steps.append(.bind(path, writable: entry.writable))
                applied.append((path, false))
            case .own:
                if hiddenNow, let cover = nearest?.path, path != cover {
                    makeFolders(to: path, in: cover)
                    if !made.contains(path) {
                        steps.append(.makeDirectory(path))
                        made.insert(path)
                    }
                }
                steps.append(.privateFolder(path))
                // What is exposed inside it is made there, as in a cover.
                applied.append((path, true))
            case .link(let link):
                guard hiddenNow, let cover = nearest?.path else { continue }
                makeFolders(to: path, in: cover)
                steps.append(.link(path, target: link.target))
            }
        }
        return steps
    }

    /// `/a/b/c` → `/a`, `/a/b` (not `/`, not the path itself).
    public static func ancestors(of path: String) -> [String] {
        let parts = path.split(separator: "/")
        guard parts.count > 1 else { return [] }
        return (1..<parts.count).map { "/" + parts[0..<$0].joined(separator: "/") }
    }

    /// Whether `folder` is `path` or one of its ancestors.
    public static func contains(_ folder: String, _ path: String) -> Bool {
        folder == "/" || path == folder || path.hasPrefix(folder + "/")
    }

    static func depth(_ path: String) -> Int { path.split(separator: "/").count }
}

/// The mounts that give a strategy its view of the desk's filesystem: pure, so
/// that which folders are covered and which paths are shown again is decided
/// (and tested) without touching a mount table.
///
/// A path is *hidden* by covering it: an empty tmpfs over a folder, `/dev/null`
/// over a file. An *exposed* path that sits under a cover — or under a folder the
/// strategy's user may not search, such as a checkout in `/root` (mode 0700) — is
/// shown again at its own path: the folders leading to it are made in the cover
/// and the real path is bind-mounted there. So the interpreter and the client
/// library work wherever the desk's files are, while nothing else of those
/// folders is visible.
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

    /// What covers a path.
    public enum Cover: Sendable, Equatable {
        /// An empty tmpfs (root's, mode 0755) over a folder.
        case empty
        /// `/dev/null` over a file.
        case file
        /// A fresh tmpfs that only the strategy's user can use (`/tmp`, `/dev/shm`).
        case privateFolder
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
    }

    /// The steps for `hidden` and `exposed` paths and the private folders;
    /// `searchable(folder)` says whether the strategy's user may search (pass
    /// through) a folder of the real filesystem.
    public static func steps(
        hidden: [Entry], exposed: [Entry], privateFolders: [String] = [], searchable: (String) -> Bool
    ) -> [Step] {
        var covers: [String: Cover] = [:]
        for entry in hidden { covers[entry.path] = entry.isDirectory ? .empty : .file }
        for folder in privateFolders { covers[folder] = .privateFolder }
        for entry in exposed {
            // The topmost folder on the way that the user may not search is covered.
            if let blocked = ancestors(of: entry.path).first(where: { !searchable($0) }), covers[blocked] == nil {
                covers[blocked] = .empty
            }
        }
        enum Operation {
            case cover(String, Cover)
            case expose(Entry)
            var path: String {
                switch self {
                case .cover(let path, _): path
                case .expose(let entry): entry.path
                }
            }
            var order: Int {
                if case .cover = self { return 0 }
                return 1
            }
        }
        let operations = (covers.map { Operation.cover($0.key, $0.value) } + exposed.map(Operation.expose)).sorted {
            let (left, right) = (depth($0.path), depth($1.path))
            if left != right { return left < right }
            if $0.order != $1.order { return $0.order < $1.order }
            return $0.path < $1.path
        }
        var applied: [(path: String, isCover: Bool)] = []
        var made: Set<String> = []
        var steps: [Step] = []
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
                for folder in ancestors(of: path) where depth(folder) > depth(cover) && !made.contains(folder) {
                    steps.append(.makeDirectory(folder))
                    made.insert(folder)
                }
                if path != cover && !made.contains(path) {
                    steps.append(entry.isDirectory ? .makeDirectory(path) : .makeFile(path))
                    made.insert(path)
                }
                steps.append(.bind(path, writable: entry.writable))
                applied.append((path, false))
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

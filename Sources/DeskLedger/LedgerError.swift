import Foundation

/// What can go wrong in the ledger, in words a person can act on.
public enum LedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The ledger is shutting down and takes no more writes.
    case closed
    /// No order with this id (for this member).
    case unknownOrder(String)
    /// A stored value could not be read back.
    case corrupt(String)
    /// A range of numbers the ledger hands out has none left.
    case exhausted(String)
    /// There is no ledger file at this path (and the command does not create one).
    case notFound(path: String)
    /// SQLite found the file damaged (a page overwritten, cut short, not a database): what it reported.
    case damaged(path: String, problems: [String])

    public var description: String {
        switch self {
        case .closed: "the ledger is shutting down and takes no more writes"
        case .unknownOrder(let id): "no order \(id)"
        case .corrupt(let what): "the ledger holds a value it cannot read: \(what)"
        case .exhausted(let what): "no \(what) are left to allocate"
        case .notFound(let path):
            "no ledger at \(URL(fileURLWithPath: path).standardizedFileURL.path): `desk serve --db \(path)` creates one; pass --db (or set DB_PATH) to read another"
        case .damaged(let path, let problems):
            "the ledger \(path) is damaged (SQLite: \(problems.joined(separator: "; "))) and is not used: with no desk running, restore it from a backup (copy the backup over \(path) and remove \(path)-wal and \(path)-shm), or move the three files aside to start a new ledger; `sqlite3 \(path) .recover` salvages what is still readable"
        }
    }
}

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

    public var description: String {
        switch self {
        case .closed: "the ledger is shutting down and takes no more writes"
        case .unknownOrder(let id): "no order \(id)"
        case .corrupt(let what): "the ledger holds a value it cannot read: \(what)"
        case .exhausted(let what): "no \(what) are left to allocate"
        }
    }
}

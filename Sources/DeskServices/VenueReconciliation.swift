import DeskBroker
import DeskOrders

/// Why a reconciliation was refused; each face words and codes it its own way.
public enum ReconciliationRefusal: Error, Sendable, Equatable {
    /// The default venue has no account of its own: its book is the ledger itself.
    case bookIsLedger
    /// The venue could not be asked for its book (what it answered).
    case venueFailed(BrokerError)
}

/// Compares the default venue's book (orders and positions) with the ledger's,
/// for an admin face (`desk reconcile`, `POST /admin/reconcile`).
public struct VenueReconciliation: Sendable {
    let reconciler: Reconciler?

    /// Reconciliation by `reconciler`; nil when the default venue's book is the ledger itself.
    public init(reconciler: Reconciler?) {
        self.reconciler = reconciler
    }

    /// The venue's book against the ledger's. Throws a `ReconciliationRefusal`
    /// when there is nothing to reconcile or the venue failed; other failures as they are.
    public func run() async throws -> ReconciliationReport {
        guard let reconciler else { throw ReconciliationRefusal.bookIsLedger }
        do {
            return try await reconciler.run()
        } catch let error as BrokerError {
            throw ReconciliationRefusal.venueFailed(error)
        }
    }
}

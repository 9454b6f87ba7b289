import DeskBroker
import DeskOrders

/// Why a reconciliation was refused; each face words and codes it its own way.
public enum ReconciliationRefusal: Error, Sendable, Equatable {
    /// The venue (every venue, when none was named) has no account of its own: its book is the ledger itself.
    case bookIsLedger
    /// The venue could not be asked for its book (what it answered).
    case venueFailed(BrokerError)
    /// A venue the desk does not have (`known` are its venues).
    case unknownVenue(String, known: [String])
}

/// Compares each venue's book (orders and positions) with the ledger's, for
/// every venue whose capabilities say `reconciles` (each its own report, with
/// its venue), for an admin face (`desk reconcile`, `POST /admin/reconcile`).
public struct VenueReconciliation: Sendable {
    let reconcilers: [Reconciler]
    /// Every venue of the desk, in configuration order.
    let venueNames: [String]

    /// Reconciliation by `reconciler` alone (nil: no venue has an account of its own).
    public init(reconciler: Reconciler?) {
        self.init(reconcilers: reconciler.map { [$0] } ?? [], venueNames: reconciler.map { [$0.venueName] } ?? [])
    }

    /// Reconciliation by one reconciler per venue that has an account of its own, on a desk with `venueNames`.
    public init(reconcilers: [Reconciler], venueNames: [String]) {
        self.reconcilers = reconcilers
        self.venueNames = venueNames
    }

    /// The default venue's book against the ledger's, as before venues: the one
    /// reconciling venue's report. Throws `bookIsLedger` when there is none.
    public func run() async throws -> ReconciliationReport {
        guard let first = try await run(venue: nil).first else { throw ReconciliationRefusal.bookIsLedger }
        return first
    }

    /// `venue`'s book against the ledger's (nil: every venue that reconciles, in
    /// configuration order). Throws a `ReconciliationRefusal` when there is nothing
    /// to reconcile, the venue is unknown, or a venue failed; other failures as they are.
    public func run(venue: String?) async throws -> [ReconciliationReport] {
        let chosen: [Reconciler]
        if let venue {
            guard venueNames.isEmpty || venueNames.contains(venue) else {
                throw ReconciliationRefusal.unknownVenue(venue, known: venueNames)
            }
            chosen = reconcilers.filter { $0.venueName == venue }
        } else {
            chosen = reconcilers
        }
        if chosen.isEmpty { throw ReconciliationRefusal.bookIsLedger }
        var reports: [ReconciliationReport] = []
        for reconciler in chosen {
            do {
                reports.append(try await reconciler.run())
            } catch let error as BrokerError {
                throw ReconciliationRefusal.venueFailed(error)
            }
        }
        return reports
    }
}

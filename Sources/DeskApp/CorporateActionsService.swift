import DeskBroker
import DeskCore
import DeskOrders
import DeskServices
import Foundation
import Logging
import ServiceLifecycle

/// Applies `--corporate-actions` to the paper venues on each action's ex-date (at the
/// start of that day in the calendar's time zone): once the order desk is ready, every
/// action already due, then each one as its day begins. The ledger remembers what each
/// venue had, so a restart applies nothing twice.
struct CorporateActionsService: Service {
    let actions: [CorporateAction]
    let venues: [String]
    let corporateActions: CorporateActions
    let orderDesk: OrderDesk
    let calendar: SessionCalendar
    let clock: any DeskClock
    let logger: Logger

    func run() async throws {
        await orderDesk.ready()
        var pending = actions
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = clock.now()
            let due = pending.filter { $0.takesEffect(in: calendar) <= now }
            pending.removeAll { $0.takesEffect(in: calendar) <= now }
            for action in due {
                do {
                    try await corporateActions.apply(action, venues: venues, cancelOrders: true)
                } catch {
                    logger.error(
                        "could not apply a corporate action",
                        metadata: ["action": "\(action.summary)", "error": "\(error)"]
                    )
                }
            }
            guard let next = pending.first else { break }
            let wait = max(0, next.takesEffect(in: calendar).timeIntervalSince(clock.now()))
            do {
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: .milliseconds(Int64(min(wait, 86_400) * 1000)))
                }
            } catch {
                return
            }
        }
        try? await gracefulShutdown()
    }

}

/// Asks a venue with an account of its own (Alpaca) for the corporate actions it applied,
/// every `interval` once the order desk is ready, and books the new ones (`Reconciler.applyCorporateActions`).
struct VenueCorporateActionsPoll: Service {
    let reconciler: Reconciler
    let orderDesk: OrderDesk
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await orderDesk.ready()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await reconciler.applyCorporateActions()
            } catch {
                logger.warning(
                    "could not read the venue's corporate actions; asking again later",
                    metadata: ["venue": "\(reconciler.venueName)", "error": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}

import DeskAPI
import DeskBacktest
import DeskCore
import DeskIdentity
import DeskLedger
import DeskPromotion
import DeskRunner
import Foundation
import Logging

/// Cancels `member`'s `strategy`'s working orders on `venue`; returns the ids it canceled
/// (the order desk's `cancelOpenOrders(member:strategy:venue:)`, given by the composition root).
public typealias OpenOrderCanceller =
    @Sendable (_ member: String, _ strategy: String, _ venue: String) async throws -> [String]

/// Why the desk did not do what a caller asked of a promotion, with what a message needs.
public enum PromotionProblem: Error, Sendable, Equatable {
    /// The promotion rules refused (unknown venue, not yours, self-approval, already decided, …).
    case refused(PromotionRefusal)
    /// No approval has this id (or the caller may not see it).
    case noSuchApproval(id: Int64)
    /// The caller has no strategy of this name.
    case noSuchStrategy(name: String, yours: [String])
    /// The backtest folder holds no report the desk wrote, or none for this strategy.
    case backtest(String)
    /// This desk runs no strategies.
    case noSupervisor

    /// What the refusal says.
    public var message: String {
        switch self {
        case .refused(let refusal): refusal.description
        case .noSuchApproval(let id): "no approval \(id) on this desk (desk approvals list shows them)"
        case .noSuchStrategy(let name, let yours):
            "no strategy \(OrderValidation.quoted(name)) of yours; yours: \(yours.isEmpty ? "none" : yours.joined(separator: ", "))"
        case .backtest(let message): message
        case .noSupervisor: "this desk runs no strategy supervisor (start it with --strategies-dir)"
        }
    }
}

/// A strategy moved from one venue to another, and what that did.
public struct PromotionMove: Sendable, Equatable {
    public var member: String
    public var strategy: String
    public var from: String
    public var to: String
    /// Its working orders on `from`, canceled.
    public var canceledOrders: [String]
    /// It was running and was restarted on `to` with a fresh token.
    public var restarted: Bool
    /// Its open positions, which stay in `from`'s book: symbol and quantity.
    public var positionsLeft: [(symbol: String, qty: Decimal)]

    /// "positions stay on paper: AAPL 10, MSFT -5" (or that it has none there).
    public var positionsNote: String {
        positionsLeft.isEmpty
            ? "no open positions on \(from)"
            : "positions stay on \(from): "
                + positionsLeft.map { "\($0.symbol) \(ExactDecimal.plain($0.qty))" }.joined(separator: ", ")
    }

    /// One sentence saying what happened.
    public var summary: String {
        "\(strategy) moved from \(from) to \(to): \(canceledOrders.count) open order(s) canceled on \(from), "
            + (restarted ? "restarted on \(to) with a fresh token" : "not running (it starts on \(to))")
            + "; \(positionsNote)"
    }

    public static func == (left: PromotionMove, right: PromotionMove) -> Bool {
        (left.member, left.strategy, left.from, left.to, left.canceledOrders, left.restarted)
            == (right.member, right.strategy, right.from, right.to, right.canceledOrders, right.restarted)
            && left.positionsNote == right.positionsNote
    }
}

/// What a promotion request or approval came to.
public enum PromotionOutcome: Sendable, Equatable {
    /// A request waits for an officer's approval.
    case pending(PromotionRequest)
    /// The strategy moved (at once, or on `approval`).
    case moved(PromotionMove, approval: PromotionRequest?)
}

extension BacktestEvidence {
    /// `latest(in:member:strategy:)`, read on a thread of its own: a file read never
    /// holds one of the few concurrency-pool threads while it waits.
    public static func reading(in folder: String, member: String, strategy: String) async
        -> Result<Self, PromotionProblem>
    {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: latest(in: folder, member: member, strategy: strategy)) }.start()
        }
    }

    /// The headline figures of `strategy` (of `member`) in the latest report under `folder`:
    /// the report in `folder` itself, else the newest in its subfolders.
    public static func latest(in folder: String, member: String, strategy: String) -> Result<Self, PromotionProblem> {
        let root = URL(fileURLWithPath: folder).standardizedFileURL
        var candidates = [root]
        if !FileManager.default.fileExists(atPath: root.appendingPathComponent(BacktestReport.fileName).path) {
            let inside =
                (try? FileManager.default.contentsOfDirectory(
                    at: root, includingPropertiesForKeys: [.contentModificationDateKey])) ?? []
            candidates = inside.compactMap { folder -> (URL, Date)? in
                let file = folder.appendingPathComponent(BacktestReport.fileName)
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: file.path),
                    let modified = attributes[.modificationDate] as? Date
                else { return nil }
                return (folder, modified)
            }.sorted { $0.1 > $1.1 }.map(\.0)
            if candidates.isEmpty { candidates = [root] }
        }
        let report: BacktestReport
        switch BacktestReport.read(folder: candidates[0]) {
        case .success(let read): report = read
        case .failure(let problem): return .failure(.backtest(problem.message))
        }
        let strategies = report.members.flatMap { member, figures in
            (figures.strategies ?? [:]).map { (member: member, name: $0.key, figures: $0.value) }
        }
        let short = strategy.components(separatedBy: "--").last ?? strategy
        guard
            let found = strategies.first(where: { $0.member == member && ($0.name == strategy || $0.name == short) })
                ?? (strategies.count == 1 ? strategies.first : nil)
        else {
            return .failure(
                .backtest(
                    "the report in \(candidates[0].path) has no figures for \(strategy) of \(member); it has: \(strategies.map { "\($0.name) of \($0.member)" }.sorted().joined(separator: ", "))"
                ))
        }
        return .success(
            BacktestEvidence(
                path: candidates[0].path, end: report.end, orders: found.figures.orders, fills: found.figures.fills,
                totalPnL: found.figures.totalPnL, maxDrawdown: found.figures.maxDrawdown, sharpe: found.figures.sharpe))
    }
}

/// Moving strategies between venues, whatever face asked: a request (the
/// strategy's member, an officer or the admin), a list (a member sees their own
/// requests; officers and the admin all), an approval or rejection (officers and
/// the admin, never of their own request), and the desk's own demotion (the loss
/// rules). The rules are `PromotionRules`' (pure); this performs what they decide:
/// the ledger records the move (an approval and the move in one transaction),
/// then the strategy's tokens are revoked, its working orders on the old venue
/// canceled, and it is restarted on the new venue with a fresh token if it ran.
/// Its positions stay in the old venue's book. Every request, decision and move,
/// done or refused, is a line in the audit log.
public struct Promotions: Sendable {
    let rules: PromotionRules
    let ledger: Ledger
    let defaultVenue: String
    /// Where the desk demotes a strategy to (the embedded paper venue).
    let demotionVenue: String
    let supervisor: Supervisor?
    let cancelOpenOrders: OpenOrderCanceller
    let lastPrice: @Sendable (String) -> Decimal?
    /// Tests only: a wait between the ledger's move and the rest of it (a desk killed in between).
    let pauseAfterMove: Duration?
    let logger: Logger
    let now: @Sendable () -> Date

    /// Promotions under `rules` over `ledger` (strategies not moved run on `defaultVenue`;
    /// the desk demotes to `demotionVenue`), restarting strategies through `supervisor`,
    /// canceling orders with `cancelOpenOrders`, valuing positions at `lastPrice`.
    public init(
        rules: PromotionRules, ledger: Ledger, defaultVenue: String, demotionVenue: String, supervisor: Supervisor?,
        cancelOpenOrders: @escaping OpenOrderCanceller, lastPrice: @escaping @Sendable (String) -> Decimal?,
        pauseAfterMove: Duration? = nil, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.rules = rules
        self.ledger = ledger
        self.defaultVenue = defaultVenue
        self.demotionVenue = demotionVenue
        self.supervisor = supervisor
        self.cancelOpenOrders = cancelOpenOrders
        self.lastPrice = lastPrice
        self.pauseAfterMove = pauseAfterMove
        self.logger = logger
        self.now = now
    }

    // MARK: Requests

    /// `caller` asks to move strategy `given` to `venue`, with the backtest report under
    /// `backtest` attached: a pending approval, or (a venue that needs none) the move itself.
    public func request(_ given: String, to target: String, backtest: String?, caller: Caller) async throws
        -> PromotionOutcome
    {
        let (strategy, member) = try await strategyOf(given, caller: caller)
        let current = try await venue(of: strategy)
        let venue = target
        let actor = PromotionActor(member: caller.member, role: caller.role)
        return try await audited(.strategyPromote, member: member, strategy: strategy, by: caller.member) {
            var attached: String?
            if let backtest {
                switch await BacktestEvidence.reading(in: backtest, member: member, strategy: strategy) {
                case .success(let figures): attached = figures.stored
                case .failure(let problem): throw problem
                }
            }
            let evidence = try await evidence(member: member, strategy: strategy, on: current, backtest: attached)
            let pending = try await ledger.promotionRequests(status: .pending, strategy: strategy, limit: 1).first
            let step = rules.request(
                strategy: strategy, member: member, on: current, to: venue, by: actor, evidence: evidence,
                pending: pending)
            switch step {
            case .failure(let refusal): throw PromotionProblem.refused(refusal)
            case .success(.awaitApproval(let from, let to)):
                let request = PromotionRequest(
                    id: 0, member: member, strategy: strategy, fromVenue: from, toVenue: to,
                    requestedBy: caller.member, requestedAt: now(), evidence: evidence)
                do {
                    let stored = try await ledger.addPromotionRequest(
                        request,
                        audit: line(
                            .strategyPromote, .pending, member: member, strategy: strategy,
                            detail: "from=\(from) to=\(to)\(onBehalf(caller.member, member))"))
                    return .pending(stored)
                } catch PromotionWriteError.alreadyPending {
                    let waiting = try await ledger.promotionRequests(status: .pending, strategy: strategy, limit: 1)
                    throw PromotionProblem.refused(
                        .alreadyPending(id: waiting.first?.id ?? 0, toVenue: waiting.first?.toVenue ?? to))
                }
            case .success(.move(let from, let to)):
                try await ledger.moveStrategy(
                    strategy, member: member, to: to, by: caller.member, at: now(),
                    audit: line(
                        .strategyPromote, .accepted, member: member, strategy: strategy,
                        detail: "moved from=\(from) to=\(to)\(onBehalf(caller.member, member))"))
                return .moved(
                    try await finishMove(member: member, strategy: strategy, from: from, to: to), approval: nil)
            }
        }
    }

    /// The requests `caller` may see, newest first: a member's own strategies', or (officers, the admin) all.
    public func list(caller: Caller, status: PromotionStatus? = nil) async throws -> [PromotionRequest] {
        let all = try await ledger.promotionRequests(status: status)
        return caller.oversees ? all : all.filter { $0.member == caller.member }
    }

    /// `caller` approves request `id`: the strategy moves to the request's venue.
    public func approve(id: Int64, caller: Caller) async throws -> PromotionOutcome {
        let request = try await visibleRequest(id, caller: caller)
        let current = try await self.venue(of: request.strategy)
        let actor = PromotionActor(member: caller.member, role: caller.role)
        return try await audited(
            .approvalApprove, member: request.member, strategy: request.strategy, by: caller.member
        ) {
            let decided: PromotionRequest
            switch rules.approve(request, by: actor, currentVenue: current, at: now()) {
            case .failure(let refusal): throw PromotionProblem.refused(refusal)
            case .success(let approved): decided = approved
            }
            do {
                try await ledger.decidePromotion(
                    decided,
                    audit: line(
                        .approvalApprove, .accepted, member: request.member, strategy: request.strategy,
                        detail: "approval=\(id) from=\(request.fromVenue) to=\(request.toVenue) by=\(caller.member)"))
            } catch PromotionWriteError.notPending {
                let now = try await ledger.promotionRequest(id: id)
                throw PromotionProblem.refused(
                    .alreadyDecided(id: id, status: now?.status ?? .approved, by: now?.decidedBy))
            }
            let move = try await finishMove(
                member: request.member, strategy: request.strategy, from: request.fromVenue, to: request.toVenue)
            return .moved(move, approval: decided)
        }
    }

    /// `caller` rejects request `id` for `reason`: nothing moves.
    public func reject(id: Int64, reason: String, caller: Caller) async throws -> PromotionRequest {
        let request = try await visibleRequest(id, caller: caller)
        let actor = PromotionActor(member: caller.member, role: caller.role)
        return try await audited(
            .approvalReject, member: request.member, strategy: request.strategy, by: caller.member
        ) {
            let decided: PromotionRequest
            switch rules.reject(request, by: actor, reason: reason, at: now()) {
            case .failure(let refusal): throw PromotionProblem.refused(refusal)
            case .success(let rejected): decided = rejected
            }
            do {
                try await ledger.decidePromotion(
                    decided,
                    audit: line(
                        .approvalReject, .accepted, member: request.member, strategy: request.strategy,
                        detail: "approval=\(id) by=\(caller.member) reason=\(decided.reason ?? "")"))
            } catch PromotionWriteError.notPending {
                let now = try await ledger.promotionRequest(id: id)
                throw PromotionProblem.refused(
                    .alreadyDecided(id: id, status: now?.status ?? .rejected, by: now?.decidedBy))
            }
            return decided
        }
    }

    // MARK: The desk's own moves

    /// The desk demotes `member`'s `strategy` to the demotion venue (paper) for `reason`
    /// (a loss rule's breach): its orders on its venue canceled, restarted on paper if it ran.
    /// Nil when it is on paper already.
    public func demote(member: String, strategy: String, reason: String) async throws -> PromotionMove? {
        let current = try await self.venue(of: strategy)
        guard current != demotionVenue else { return nil }
        try await ledger.moveStrategy(
            strategy, member: member, to: demotionVenue, by: "desk", at: now(),
            audit: line(
                .strategyPromote, .accepted, member: member, strategy: strategy,
                detail: "moved from=\(current) to=\(demotionVenue) by=desk reason=\(reason)"))
        let move = try await finishMove(member: member, strategy: strategy, from: current, to: demotionVenue)
        logger.warning(
            "strategy demoted by the desk",
            metadata: [
                "member": "\(member)", "strategy": "\(strategy)", "from": "\(current)", "reason": "\(reason)",
            ])
        return move
    }

    /// At start: cancels every working order of a strategy on a venue that is not its
    /// venue now (a desk stopped between a move and its cancels). Returns what it canceled.
    public func settle() async throws -> [StrayOrders: [String]] {
        let strategies = Set(await supervisor?.status().map(\.name) ?? [])
        let strays = PromotionSettlement.strays(
            open: try await ledger.openOrders(), venues: try await ledger.strategyVenues(), strategies: strategies,
            defaultVenue: defaultVenue)
        var canceled: [StrayOrders: [String]] = [:]
        for stray in strays {
            canceled[stray] = try await cancelOpenOrders(stray.member, stray.strategy, stray.venue)
            logger.notice(
                "canceled a moved strategy's orders on its old venue",
                metadata: [
                    "member": "\(stray.member)", "strategy": "\(stray.strategy)", "venue": "\(stray.venue)",
                    "orders": "\(canceled[stray]!.count)",
                ])
        }
        return canceled
    }

    // MARK: Parts

    /// The venue `strategy` runs on now.
    public func venue(of strategy: String) async throws -> String {
        try await ledger.strategyVenue(strategy) ?? defaultVenue
    }

    /// `member`'s `strategy`'s record on `venue` now.
    public func evidence(member: String, strategy: String, on venue: String, backtest: String? = nil) async throws
        -> PromotionEvidence
    {
        let activity = try await ledger.strategyActivity(
            member: member, strategy: strategy, venue: venue, defaultVenue: defaultVenue)
        let record = StrategyRecord(
            venue: venue, orderTimes: activity.orders.map(\.createdAt),
            fills: activity.fills.map {
                RecordedFill(symbol: $0.symbol, side: $0.side, qty: $0.qty, price: $0.price, at: $0.filledAt)
            })
        return record.evidence(now: now(), lastPrice: lastPrice, backtest: backtest)
    }

    /// The rest of a move the ledger recorded: tokens revoked (so nothing more reaches
    /// `from`), working orders on `from` canceled, a restart on `to` if it was running.
    func finishMove(member: String, strategy: String, from: String, to: String) async throws -> PromotionMove {
        if let pauseAfterMove {
            logger.warning("pausing after a move (a test's hook)", metadata: ["strategy": "\(strategy)"])
            try? await Task.sleep(for: pauseAfterMove)
        }
        let wasRunning = await isRunning(strategy)
        _ = try await ledger.revokeTokens(member: member, strategy: strategy, issuedBy: .supervisor)
        let canceled = try await cancelOpenOrders(member, strategy, from)
        var restarted = false
        if wasRunning, let supervisor {
            restarted = await supervisor.restart([strategy]).first?.ok ?? false
        }
        let positions = try await ledger.positions(member: member, byStrategy: true).filter {
            $0.strategy == strategy && $0.qty != 0 && ($0.venue == from || ($0.venue.isEmpty && from == defaultVenue))
        }
        let move = PromotionMove(
            member: member, strategy: strategy, from: from, to: to, canceledOrders: canceled, restarted: restarted,
            positionsLeft: positions.map { ($0.symbol, $0.qty) }.sorted { $0.0 < $1.0 })
        logger.notice(
            "strategy moved",
            metadata: [
                "member": "\(member)", "strategy": "\(strategy)", "from": "\(from)", "to": "\(to)",
                "canceled": "\(canceled.count)", "restarted": "\(restarted)",
            ])
        return move
    }

    /// Whether `strategy` runs (or is about to run again).
    func isRunning(_ strategy: String) async -> Bool {
        guard let supervisor else { return false }
        return await Strategies.isRunning(strategy, on: supervisor)
    }

    /// The strategy `given` names and its member: one of the caller's (by folder
    /// or short name), or for an officer or the admin any by its folder name.
    /// Another member's strategy is found too: the rules refuse it as not theirs.
    func strategyOf(_ given: String, caller: Caller) async throws -> (strategy: String, member: String) {
        guard let supervisor else { throw PromotionProblem.noSupervisor }
        let all = await supervisor.status()
        let mine = all.filter { $0.member == caller.member }.map(\.name)
        if let folder = Strategies.folder(given, member: caller.member, among: mine) {
            return (folder, caller.member)
        }
        if let other = all.first(where: { $0.name == given }) { return (other.name, other.member) }
        throw PromotionProblem.noSuchStrategy(name: given, yours: caller.oversees ? all.map(\.name) : mine)
    }

    /// Request `id`, when the caller may see it (a member: their own strategies').
    func visibleRequest(_ id: Int64, caller: Caller) async throws -> PromotionRequest {
        guard let request = try await ledger.promotionRequest(id: id),
            caller.oversees || request.member == caller.member
        else { throw PromotionProblem.noSuchApproval(id: id) }
        return request
    }

    /// " by=olivia" when someone acts for the member.
    func onBehalf(_ actor: String, _ member: String) -> String { actor == member ? "" : " by=\(actor)" }

    /// An audit line now.
    func line(_ action: AuditAction, _ outcome: AuditOutcome, member: String, strategy: String, detail: String)
        -> AuditEvent
    {
        AuditEvent(at: now(), member: member, strategy: strategy, action: action, outcome: outcome, detail: detail)
    }

    /// Runs `body`; a refusal is recorded as an audit line of `action` (what was done records its own line).
    func audited<Reply>(
        _ action: AuditAction, member: String, strategy: String, by actor: String,
        _ body: () async throws -> Reply
    ) async throws -> Reply {
        do {
            return try await body()
        } catch let problem as PromotionProblem {
            try? await ledger.record(
                line(action, .refused, member: member, strategy: strategy, detail: "by=\(actor) \(problem.message)"))
            throw problem
        }
    }
}

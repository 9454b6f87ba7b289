import DeskAPI
import DeskCore
import DeskIdentity
import Foundation

/// The desk's venues as the page presents them: their names in the config
/// file's order, the default one, and those a strategy reaches only with an
/// officer's approval.
struct WebVenues: Sendable, Equatable {
    /// Every venue, in configuration order.
    var names: [String]
    /// Where a strategy runs unless moved (`default_venue`).
    var defaultVenue: String
    /// The venues with `requires_approval`.
    var needingApproval: Set<String>

    /// A desk with one venue shows no stages and no moves: the page is as it was before venues.
    var isSingle: Bool { names.count < 2 }

    /// A stored venue name as shown: rows and tokens written without one are on the default venue.
    func shown(_ venue: String) -> String { venue.isEmpty ? defaultVenue : venue }
}

/// Where one strategy stands among the desk's venues and the moves the page
/// offers its member: one per other venue, a request where the venue needs an
/// approval. Pure: the page renders it, the desk's API performs the moves.
struct PromotionChoices: Sendable, Equatable {
    /// The strategy's stage.
    enum Stage: Sendable, Equatable {
        /// On a venue that needs no approval.
        case paper
        /// On a venue it reached through an officer's approval.
        case live
        /// A request to move waits for an officer.
        case pending(id: Int64, to: String)
    }

    /// A move to one other venue.
    struct Move: Sendable, Equatable {
        var venue: String
        /// What the button says: `Request live`, `Back to paper`, `Move to sim`.
        var label: String
        /// The move waits for an officer's approval.
        var needsApproval: Bool
    }

    /// The venue it runs on.
    var venue: String
    var stage: Stage
    var moves: [Move]

    /// The choices of a strategy on `venue` with the request `pending` waiting (if any).
    init(venue: String, pending: PromotionRequest?, venues: WebVenues) {
        let venue = venues.shown(venue)
        self.venue = venue
        let waiting = pending.flatMap { $0.status == .pending ? $0 : nil }
        if let waiting {
            stage = .pending(id: waiting.id, to: waiting.toVenue)
        } else {
            stage = venues.needingApproval.contains(venue) ? .live : .paper
        }
        moves = venues.names.filter { $0 != venue && $0 != waiting?.toVenue }.map { target in
            let needsApproval = venues.needingApproval.contains(target)
            let label =
                needsApproval
                ? "Request \(target)" : target == venues.defaultVenue ? "Back to \(target)" : "Move to \(target)"
            return Move(venue: target, label: label, needsApproval: needsApproval)
        }
    }

    /// `paper`, `live` or `pending approval to live`.
    var stageText: String {
        switch stage {
        case .paper: "paper"
        case .live: "live"
        case .pending(_, let to): "pending approval to \(to)"
        }
    }
}

/// The promotion pieces of the page: a strategy's stage and moves with the
/// evidence the desk will attach, and the approvals queue.
extension WebDesk {
    /// `POST /strategies/{name}/promote` with `{"venue": V}`.
    static let promoteRoute = Route(.post, "/strategies/{name}/promote")
    /// `POST /approvals/{id}/approve`.
    static let approveRoute = Route(.post, "/approvals/{id}/approve")
    /// `POST /approvals/{id}/reject` with `{"reason": …}`.
    static let rejectRoute = Route(.post, "/approvals/{id}/reject")

    /// Decided requests the queue shows (the newest); `desk approvals list` has them all.
    static let decidedShown = 20

    /// The evidence columns, in the order `evidenceCells` fills them.
    static let evidenceHeaders = ["Days", "Orders", "Fills", "P&L", "Max drawdown", "Sharpe"]

    /// A record's figures as table cells (HTML): days, orders, fills, P&L, max drawdown, Sharpe.
    static func evidenceCells(_ evidence: PromotionEvidence?) -> [String] {
        guard let evidence else { return Array(repeating: "-", count: evidenceHeaders.count) }
        return [
            "\(evidence.days)", "\(evidence.orders)", "\(evidence.fills)", HTML.pnl(ExactDecimal.plain(evidence.pnl)),
            HTML.money(ExactDecimal.plain(evidence.maxDrawdown)),
            evidence.sharpe.map { HTML.escape(ExactDecimal.fixed($0, scale: 2)) } ?? "-",
        ]
    }

    /// An attached backtest report (as the ledger stores it): its folder's name (the
    /// whole path as its title), its P&L, max drawdown and Sharpe.
    static func backtestHTML(_ stored: String) -> String {
        guard let report = BacktestEvidence(stored: stored) else { return HTML.escape(stored) }
        let folder = URL(fileURLWithPath: report.path).lastPathComponent
        return
            "<code title=\"\(HTML.escape(report.path))\">\(HTML.escape(folder))</code> P&amp;L \(HTML.pnl(report.totalPnL)), "
            + "drawdown \(HTML.money(report.maxDrawdown)), Sharpe \(HTML.escape(report.sharpe ?? "-"))"
    }

    /// The member's own strategies with their venue, stage, the record the desk
    /// would attach to a request, and a button per move; a pending request shows as such.
    static func promotionHTML(
        _ own: [StrategyStatus], venueOf: [String: String], evidence: [String: PromotionEvidence],
        pending: [String: PromotionRequest], venues: WebVenues, caller: Caller
    ) -> String {
        let rows = own.map { strategy -> [String] in
            let choices = PromotionChoices(
                venue: venueOf[strategy.name] ?? "", pending: pending[strategy.name], venues: venues)
            let name = HTML.escape(strategy.name)
            let buttons = choices.moves.map { move in
                HTML.action(
                    move.label, "POST", promoteRoute.path(strategy.name), body: #"{"venue":\#(json(move.venue))}"#,
                    name: "promote-\(strategy.name)-\(move.venue)")
            }
            var actions = buttons.joined(separator: " ")
            if case .pending(let id, let to) = choices.stage {
                actions +=
                    (buttons.isEmpty ? "" : "<br>")
                    + "<small>Request \(id) to \(HTML.escape(to)) waits for an officer (see Approvals).</small>"
            }
            if !buttons.isEmpty {
                actions +=
                    "<br><small>A move cancels its open orders on \(HTML.escape(choices.venue)); its positions stay in \(HTML.escape(choices.venue))'s book.</small>"
            }
            return [
                "<span data-promotion-of=\"\(name)\">\(name)</span>", HTML.escape(choices.venue),
                HTML.escape(choices.stageText),
            ] + evidenceCells(evidence[strategy.name]) + [actions]
        }
        return HTML.table(
            ["Strategy", "Venue", "Stage"] + evidenceHeaders + [""], rows,
            empty: "No strategies of yours to promote.", label: "Promotion")
            + "<p class=\"hint\">The figures are the strategy's record on its venue, which a request carries for the officers to judge. "
            + "This page shows your book on \(HTML.escape(venues.shown(caller.venue))) (your token's venue): "
            + "sign in with a token issued for another venue to see that one.</p>"
    }

    /// The approvals queue: pending requests first (oldest first), then the
    /// `decidedShown` newest decided ones, each with its evidence. An officer or the admin gets
    /// Approve and Reject (with a reason) on pending requests of other members; a
    /// member sees only their own requests and no buttons.
    static func approvalsHTML(_ requests: [PromotionRequest], caller: Caller) -> String {
        let pending = requests.filter { $0.status == .pending }.sorted { $0.requestedAt < $1.requestedAt }
        let decided = requests.filter { $0.status != .pending }.sorted {
            ($0.decidedAt ?? $0.requestedAt) > ($1.decidedAt ?? $1.requestedAt)
        }.prefix(decidedShown)
        let rows = (pending + decided).map { request -> [String] in
            let id = "\(request.id)"
            var status = "<span data-approval-status=\"\(id)\">\(HTML.escape(request.status.rawValue))</span>"
            if let by = request.decidedBy { status += " by \(HTML.escape(by))" }
            if let reason = request.reason { status += "<br><small>\(HTML.escape(reason))</small>" }
            var actions = ""
            if request.status == .pending && caller.oversees {
                if request.member == caller.member {
                    actions = "<small>Your own request: another officer or the admin decides it.</small>"
                } else {
                    actions =
                        HTML.action("Approve", "POST", approveRoute.path(id), body: "{}", name: "approve-\(id)")
                        + " <input id=\"reason-\(id)\" class=\"reason\" aria-label=\"Why reject request \(id)\" placeholder=\"reason\" maxlength=\"500\"> "
                        + HTML.action(
                            "Reject", "POST", rejectRoute.path(id), name: "reject-\(id)", reasonField: "reason-\(id)")
                }
            }
            let backtest = request.evidence.backtest.map(backtestHTML)
            return [
                id,
                "<span data-approval-of=\"\(HTML.escape(request.strategy))\">\(HTML.escape(request.strategy))</span>",
                HTML.escape(request.member), HTML.escape(request.fromVenue), HTML.escape(request.toVenue),
                HTML.time(request.requestedAt),
            ] + evidenceCells(request.evidence) + [backtest ?? "-", status, actions]
        }
        let empty =
            caller.oversees ? "No promotion requests." : "No requests of yours: request a venue in Promotion above."
        return HTML.table(
            ["Id", "Strategy", "Member", "From", "To", "Requested"] + evidenceHeaders + ["Backtest", "Status", ""],
            rows, empty: empty, label: "Approvals")
    }
}

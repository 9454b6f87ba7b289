import DeskCore
import Foundation

/// What a venue asks of a strategy that moves onto it (a venue's entry in the
/// config file: `requires_approval` and `promotion`).
public struct VenueEntryRules: Sendable, Equatable {
    /// A member's request waits for an officer's (or the admin's) approval.
    public var requiresApproval: Bool
    /// Fewest days the strategy must have traded on the venue it comes from.
    public var minPaperDays: Int?
    /// Fewest fills the strategy must have there.
    public var minFills: Int?

    /// Rules as given; no rules by default (a move happens at once).
    public init(requiresApproval: Bool = false, minPaperDays: Int? = nil, minFills: Int? = nil) {
        self.requiresApproval = requiresApproval
        self.minPaperDays = minPaperDays
        self.minFills = minFills
    }
}

/// Who acts on a promotion: a member id and what that member may do.
public struct PromotionActor: Sendable, Equatable {
    public var member: String
    public var role: DeskRole

    public init(member: String, role: DeskRole) {
        self.member = member
        self.role = role
    }
}

/// Why a promotion request, approval or rejection was refused; each carries what its message names.
public enum PromotionRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownVenue(String, known: [String])
    /// The actor is neither the strategy's member nor an officer or the admin.
    case notYours(strategy: String)
    case alreadyOn(venue: String)
    /// The strategy already waits for an approval.
    case alreadyPending(id: Int64, toVenue: String)
    /// The record is short of the target venue's minimum.
    case belowMinimum(venue: String, rule: String, required: Int, actual: Int)
    /// Approving, or deciding at all, needs an officer or the admin.
    case notAnOfficer(member: String)
    /// The requesting member cannot approve their own request.
    case selfApproval(member: String, id: Int64)
    case alreadyDecided(id: Int64, status: PromotionStatus, by: String?)
    /// The strategy moved since the request (a demotion, another approval).
    case movedSinceRequest(id: Int64, requestedFrom: String, now: String)
    /// A rejection must say why.
    case reasonMissing

    public var description: String {
        switch self {
        case .unknownVenue(let name, let known):
            "no venue \(name) on this desk (venues: \(known.joined(separator: ", ")))"
        case .notYours(let strategy):
            "strategy \(strategy) is not yours: only its member, an officer or the admin may move it"
        case .alreadyOn(let venue): "the strategy already runs on \(venue)"
        case .alreadyPending(let id, let venue):
            "the strategy already waits for approval \(id) to move to \(venue): wait for it or ask an officer to reject it"
        case .belowMinimum(let venue, let rule, let required, let actual):
            "\(venue) requires \(rule) \(required); the strategy's record has \(actual)"
        case .notAnOfficer(let member): "\(member) is not an officer: only officers and the admin decide approvals"
        case .selfApproval(let member, let id):
            "\(member) requested \(id) and cannot approve it: another officer or the admin must"
        case .alreadyDecided(let id, let status, let by):
            "approval \(id) is already \(status.rawValue)\(by.map { " by \($0)" } ?? "")"
        case .movedSinceRequest(let id, let from, let now):
            "approval \(id) was requested from \(from), but the strategy now runs on \(now): request again"
        case .reasonMissing: "a rejection needs a reason (--reason TEXT)"
        }
    }
}

/// What the desk does about a promotion request.
public enum PromotionStep: Sendable, Equatable {
    /// Move the strategy now: cancel its open orders on `from`, restart it on `to` with a fresh token.
    case move(from: String, to: String)
    /// Record a pending request; an officer decides.
    case awaitApproval(from: String, to: String)
}

/// The promotion rules of one desk: its venues and what each asks of a strategy
/// moving onto it. Pure: each method decides, the use case performs.
public struct PromotionRules: Sendable, Equatable {
    /// Each venue's entry rules, by name.
    public var venues: [String: VenueEntryRules]

    public init(venues: [String: VenueEntryRules]) {
        self.venues = venues
    }

    /// A request by `actor` to move `strategy` (of `member`, now on `venue`) to `target`.
    /// `pending` is the strategy's request still waiting, if any; `evidence` its record on `venue`.
    public func request(
        strategy: String, member: String, on venue: String, to target: String, by actor: PromotionActor,
        evidence: PromotionEvidence, pending: PromotionRequest?
    ) -> Result<PromotionStep, PromotionRefusal> {
        guard let rules = venues[target] else { return .failure(.unknownVenue(target, known: venues.keys.sorted())) }
        guard actor.member == member || actor.role.oversees else { return .failure(.notYours(strategy: strategy)) }
        guard target != venue else { return .failure(.alreadyOn(venue: venue)) }
        // A move that needs no approval (a demotion) goes ahead whatever waits; another request would not.
        if rules.requiresApproval, let pending, pending.status == .pending {
            return .failure(.alreadyPending(id: pending.id, toVenue: pending.toVenue))
        }
        let minimums = [
            ("min_paper_days", rules.minPaperDays, evidence.days), ("min_fills", rules.minFills, evidence.fills),
        ]
        for (rule, required, actual) in minimums {
            if let required, actual < required {
                return .failure(.belowMinimum(venue: target, rule: rule, required: required, actual: actual))
            }
        }
        return .success(
            rules.requiresApproval ? .awaitApproval(from: venue, to: target) : .move(from: venue, to: target))
    }

    /// `actor` approves `request`; the strategy is on `currentVenue` now. Returns the decided request.
    public func approve(_ request: PromotionRequest, by actor: PromotionActor, currentVenue: String, at: Date)
        -> Result<PromotionRequest, PromotionRefusal>
    {
        guard actor.role.oversees else { return .failure(.notAnOfficer(member: actor.member)) }
        guard actor.member != request.member else {
            return .failure(.selfApproval(member: actor.member, id: request.id))
        }
        guard request.status == .pending else {
            return .failure(.alreadyDecided(id: request.id, status: request.status, by: request.decidedBy))
        }
        guard currentVenue == request.fromVenue else {
            return .failure(.movedSinceRequest(id: request.id, requestedFrom: request.fromVenue, now: currentVenue))
        }
        var decided = request
        decided.status = .approved
        decided.decidedBy = actor.member
        decided.decidedAt = at
        return .success(decided)
    }

    /// `actor` rejects `request` for `reason`. Returns the decided request.
    public func reject(_ request: PromotionRequest, by actor: PromotionActor, reason: String, at: Date)
        -> Result<PromotionRequest, PromotionRefusal>
    {
        guard actor.role.oversees else { return .failure(.notAnOfficer(member: actor.member)) }
        guard request.status == .pending else {
            return .failure(.alreadyDecided(id: request.id, status: request.status, by: request.decidedBy))
        }
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { return .failure(.reasonMissing) }
        var decided = request
        decided.status = .rejected
        decided.decidedBy = actor.member
        decided.decidedAt = at
        decided.reason = reason
        return .success(decided)
    }
}

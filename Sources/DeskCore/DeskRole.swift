/// What a caller may do on the desk, beyond their own strategies and orders.
public enum DeskRole: String, Sendable, Codable, CaseIterable, Comparable {
    /// Trades and deploys for themselves; sees only their own figures.
    case member
    /// Approves promotions to venues that require approval, halts and resumes, and
    /// sees every member's figures; does not manage tokens or the desk.
    case officer
    /// Runs the desk: everything an officer may do, plus tokens and the desk itself.
    case admin

    /// Officers and admins oversee members (approvals, halts, everyone's figures).
    public var oversees: Bool { self != .member }

    public static func < (left: DeskRole, right: DeskRole) -> Bool {
        allCases.firstIndex(of: left)! < allCases.firstIndex(of: right)!
    }
}

import DeskCore
import Foundation

/// `POST /strategies?name=N[&start=1][&member=M]` and `PUT /strategies/{name}[?start=1][&member=M]`:
/// the strategy's name (for a new one) and whether to start it once deployed.
/// `member` is for admins deploying for a member; a member always deploys as themselves.
public struct DeployQuery: Sendable, Equatable {
    /// The strategy's name within its member's strategies (POST only; PUT takes it from the path).
    public var name: String?
    /// Start (or restart) it once it is in place.
    public var start: Bool
    /// Whose strategy it is (admins only).
    public var member: String?

    public init(name: String? = nil, start: Bool = false, member: String? = nil) {
        self.name = name
        self.start = start
        self.member = member
    }

    /// Reads `name`, `start` (`1` or `0`) and `member` (or `user`).
    public init(_ parameters: QueryParameters) throws(QueryProblem) {
        try parameters.check(allowed: ["name", "start", "member"])
        name = parameters.value("name")
        member = try parameters.member()
        switch parameters.value("start") {
        case nil, "0": start = false
        case "1": start = true
        case let other?:
            throw QueryProblem("start \(OrderValidation.quoted(other)) must be 1 (start it) or 0")
        }
    }

    public var parameters: QueryParameters {
        var items: [(name: String, value: String)] = []
        if let name { items.append(("name", name)) }
        if start { items.append(("start", "1")) }
        if let member { items.append(("member", member)) }
        return QueryParameters(items)
    }
}

/// What a deploy (or a rollback) put in place.
public struct DeployReply: Codable, Sendable, Equatable {
    /// The strategy's folder name: `<member>--<name>`, what status, start and logs take.
    public var name: String
    public var member: String
    /// Files in the deployed folder.
    public var files: Int
    /// Their size in bytes.
    public var bytes: Int
    /// Whether an earlier version was kept to roll back to.
    public var previousKept: Bool
    /// What starting it did, when asked to (or when it was running: it is restarted).
    public var started: StrategyActionResult?

    public init(
        name: String, member: String, files: Int, bytes: Int, previousKept: Bool,
        started: StrategyActionResult? = nil
    ) {
        self.name = name
        self.member = member
        self.files = files
        self.bytes = bytes
        self.previousKept = previousKept
        self.started = started
    }

    enum CodingKeys: String, CodingKey {
        case name, member, files, bytes, previousKept = "previous_kept", started
    }
}

/// `DELETE /strategies/{name}`.
public struct DeleteReply: Codable, Sendable, Equatable {
    public var name: String
    public var deleted: Bool

    public init(name: String, deleted: Bool) {
        self.name = name
        self.deleted = deleted
    }
}

/// The content type of a deploy's body: an uncompressed tar of the strategy's folder.
public enum StrategyArchiveFormat {
    /// `application/x-tar`.
    public static let contentType = "application/x-tar"
}

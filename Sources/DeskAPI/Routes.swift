/// One route of the desk's HTTP API: a method and a path pattern in which
/// `{name}` stands for one path segment (`/orders/{id}`). The server registers
/// its handlers from these, the client and the CLI build their paths from them,
/// and a request no route takes is answered with their list.
public struct Route: Hashable, Sendable, CustomStringConvertible {
    /// The HTTP methods the desk's routes take.
    public enum Method: String, Sendable, Hashable {
        case get = "GET"
        case post = "POST"
        case put = "PUT"
        case delete = "DELETE"
        case patch = "PATCH"
    }

    public let method: Method
    /// `/orders/{id}`.
    public let pattern: String

    public init(_ method: Method, _ pattern: String) {
        self.method = method
        self.pattern = pattern
    }

    /// `GET /orders/{id}`.
    public var description: String { "\(method.rawValue) \(pattern)" }

    /// The pattern in Hummingbird's router syntax: `orders/:id`.
    public var routerPath: String {
        pattern.split(separator: "/").map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? ":" + part.dropFirst().dropLast() : part
        }.joined(separator: "/")
    }

    /// The path with `values` in place of the pattern's `{name}` segments, in
    /// order, each percent-encoded so that it stays one segment
    /// (`/admin/strategies/a%2Fb/logs`, never a path of its own).
    public func path(_ values: String...) -> String {
        var remaining = values[...]
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: false).map { part -> String in
            guard part.hasPrefix("{") && part.hasSuffix("}") else { return String(part) }
            precondition(!remaining.isEmpty, "\(self) needs a value for \(part)")
            return Self.escapeSegment(remaining.removeFirst())
        }
        precondition(remaining.isEmpty, "\(self) takes \(values.count - remaining.count) values")
        return segments.joined(separator: "/")
    }

    /// Whether `path` (no query) fits the pattern.
    public func matches(_ path: String) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let expected = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard segments.count == expected.count else { return false }
        return zip(segments, expected).allSatisfy { segment, part in
            part.hasPrefix("{") ? !segment.isEmpty : segment == part
        }
    }

    /// `value` percent-encoded for a path segment or a query value: everything but
    /// RFC 3986's unreserved characters (letters, digits, `-`, `.`, `_`, `~`).
    public static func escapeSegment(_ value: String) -> String {
        var escaped = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                escaped.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                escaped.unicodeScalars.append("%")
                escaped.unicodeScalars.append(hex[Int(byte >> 4)])
                escaped.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return escaped
    }
}

/// Every route the desk answers. Adding a route: a line here (and in `all`),
/// its request and reply types beside it in this module, a handler in a
/// DeskHTTP controller, and a method on `DeskConnection`.
public enum Routes {
    /// `GET /healthz`: no token; `Health`.
    public static let health = Route(.get, "/healthz")
    /// `GET /metrics`: Prometheus text; the admin token or a metrics token.
    public static let metrics = Route(.get, "/metrics")
    /// `POST /order`: the seed's contract, protobuf (or JSON) `OrderRequest` → `OrderResponse`.
    public static let placeOrder = Route(.post, "/order")
    /// `GET /orders?…`: `OrderList`, newest first.
    public static let orders = Route(.get, "/orders")
    /// `GET /orders/{id}`: `OrderView` with its fills.
    public static let order = Route(.get, "/orders/{id}")
    /// `DELETE /orders/{id}`: cancels a working order; the `OrderView` afterwards.
    public static let cancelOrder = Route(.delete, "/orders/{id}")
    /// `GET /positions?…`: `PositionList`.
    public static let positions = Route(.get, "/positions")
    /// `GET /account?…`: `AccountView`.
    public static let account = Route(.get, "/account")
    /// `POST /admin/halt`: `HaltRequest` → `HaltReply`.
    public static let halt = Route(.post, "/admin/halt")
    /// `POST /admin/resume`: `ResumeRequest` → `HaltReply`.
    public static let resume = Route(.post, "/admin/resume")
    /// `GET /admin/halts`: `HaltList`.
    public static let halts = Route(.get, "/admin/halts")
    /// `POST /admin/prices`: `PriceRequest` → `PriceReply`.
    public static let publishPrice = Route(.post, "/admin/prices")
    /// `POST /admin/reconcile`: the broker's reconciliation report.
    public static let reconcile = Route(.post, "/admin/reconcile")
    /// `GET /admin/strategies`: `StrategyStatusReply`.
    public static let strategies = Route(.get, "/admin/strategies")
    /// `POST /admin/strategies/start`: `StrategyNames` → `StrategyActionReply`.
    public static let startStrategies = Route(.post, "/admin/strategies/start")
    /// `POST /admin/strategies/stop`: `StrategyNames` → `StrategyActionReply`.
    public static let stopStrategies = Route(.post, "/admin/strategies/stop")
    /// `POST /admin/strategies/restart`: `StrategyNames` → `StrategyActionReply`.
    public static let restartStrategies = Route(.post, "/admin/strategies/restart")
    /// `GET /admin/strategies/{name}/logs?tail=N[&follow=1]`: `StrategyLogReply`, or text while followed.
    public static let strategyLogs = Route(.get, "/admin/strategies/{name}/logs")

    /// `GET /admin/tokens`: `TokenList` (no secrets).
    public static let tokens = Route(.get, "/admin/tokens")
    /// `POST /admin/tokens`: `TokenIssueRequest` → `IssuedTokenReply` (the secret, shown once).
    public static let issueToken = Route(.post, "/admin/tokens")
    /// `DELETE /admin/tokens/{id}`: revokes a token (and every web session signed in with it).
    public static let revokeToken = Route(.delete, "/admin/tokens/{id}")

    /// `GET /strategies`: the caller's own strategies (an admin's: everyone's), `StrategyStatusReply`.
    public static let memberStrategies = Route(.get, "/strategies")
    /// `POST /strategies?name=N[&start=1]`: deploys a new strategy from a tar body; `DeployReply`.
    public static let deployStrategy = Route(.post, "/strategies")
    /// `PUT /strategies/{name}[?start=1]`: deploys a new version of the caller's strategy; `DeployReply`.
    public static let redeployStrategy = Route(.put, "/strategies/{name}")
    /// `DELETE /strategies/{name}`: stops the caller's strategy and removes its folder; `DeleteReply`.
    public static let deleteStrategy = Route(.delete, "/strategies/{name}")
    /// `POST /strategies/{name}/rollback`: puts the previous version back; `DeployReply`.
    public static let rollbackStrategy = Route(.post, "/strategies/{name}/rollback")
    /// `POST /strategies/start`: `StrategyNames` (the caller's own; none: all of them) → `StrategyActionReply`.
    public static let startMemberStrategies = Route(.post, "/strategies/start")
    /// `POST /strategies/stop`: as start.
    public static let stopMemberStrategies = Route(.post, "/strategies/stop")
    /// `POST /strategies/restart`: as start.
    public static let restartMemberStrategies = Route(.post, "/strategies/restart")
    /// `GET /strategies/{name}/logs?tail=N[&follow=1]`: the caller's own strategy's log.
    public static let memberStrategyLogs = Route(.get, "/strategies/{name}/logs")

    /// `POST /strategies/{name}/promote`: `PromoteRequest` → `PromoteReply` (a pending approval, or the move).
    public static let promoteStrategy = Route(.post, "/strategies/{name}/promote")
    /// `GET /approvals`: `ApprovalList`, newest first (a member's own; an officer's or the admin's all).
    public static let approvals = Route(.get, "/approvals")
    /// `POST /approvals/{id}/approve`: an officer or the admin approves; `ApprovalReply` with the move.
    public static let approveApproval = Route(.post, "/approvals/{id}/approve")
    /// `POST /approvals/{id}/reject`: `RejectRequest` (a reason is required) → `ApprovalReply`.
    public static let rejectApproval = Route(.post, "/approvals/{id}/reject")

    /// `POST /backtests`: `BacktestSubmission` → 202 `BacktestView` (queued).
    public static let submitBacktest = Route(.post, "/backtests")
    /// `GET /backtests`: `BacktestList` (the caller's; an officer's or the admin's: everyone's).
    public static let backtests = Route(.get, "/backtests")
    /// `GET /backtests/{id}`: `BacktestView`.
    public static let backtest = Route(.get, "/backtests/{id}")
    /// `POST /backtests/{id}/cancel`: `BacktestView` afterwards.
    public static let cancelBacktest = Route(.post, "/backtests/{id}/cancel")
    /// `GET /backtests/{id}/files/{name}`: report.html, report.json, equity.csv, sweep.json, sweep.html, walkforward.json, walkforward.html.
    public static let backtestFile = Route(.get, "/backtests/{id}/files/{name}")
    /// `GET /backtests/{id}/runs/{run}/{name}`: a sweep's run's report.html, report.json, equity.csv.
    public static let backtestRunFile = Route(.get, "/backtests/{id}/runs/{run}/{name}")

    /// `GET /pnl?member=&strategy=&since=&step=`: `PnLHistory`, the equity curve.
    public static let pnl = Route(.get, "/pnl")

    /// `GET /`: the web desk (a sign-in form without a session).
    public static let webPage = Route(.get, "/")
    /// `GET /assets/{file}`: the web desk's script and style sheet.
    public static let webAsset = Route(.get, "/assets/{file}")
    /// `POST /session`: `SessionRequest` (a token) → `SessionReply`, and the session cookie.
    public static let signIn = Route(.post, "/session")
    /// `GET /session`: who the session (or token) is; `SessionReply`.
    public static let session = Route(.get, "/session")
    /// `DELETE /session`: signs the session out.
    public static let signOut = Route(.delete, "/session")
    /// `GET /events`: server-sent events, the web desk's sections as they change.
    public static let events = Route(.get, "/events")

    /// Every route, in the order a 404 lists them.
    public static let all: [Route] = [
        health, metrics, placeOrder, orders, order, cancelOrder, positions, account, pnl, halt, resume, halts,
        publishPrice, reconcile, strategies, startStrategies, stopStrategies, restartStrategies, strategyLogs,
        tokens, issueToken, revokeToken, memberStrategies, deployStrategy, redeployStrategy, deleteStrategy,
        rollbackStrategy, startMemberStrategies, stopMemberStrategies, restartMemberStrategies, memberStrategyLogs,
        webPage, webAsset, signIn, session, signOut, events,
        promoteStrategy, approvals, approveApproval, rejectApproval,
        submitBacktest, backtests, backtest, cancelBacktest, backtestFile, backtestRunFile,
    ]
}

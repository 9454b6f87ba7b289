import DeskIdentity
import Hummingbird
import HummingbirdAuth
import Logging
import NIOCore
import Synchronization

/// The request context of every desk route: Hummingbird's core storage, the
/// caller an authenticator found (if any), and the request's log entry.
public struct DeskRequestContext: AuthRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who is calling, once an authenticator middleware found out.
    public var identity: Caller?
    /// What the access log reports about this request; shared with the child contexts.
    public let requestLog = RequestLog()
    /// The most bytes a body may have (set from the configuration by `BodySizeLimitMiddleware`).
    public var bodySizeLimit = BodySizeLimit.standard
    /// The connection the request came on.
    let channel: any Channel

    public init(source: Source) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The request is `caller`'s: its access log line says so, and its connection
    /// counts as `caller`'s member's (`ConnectionSlots`: no longer a stranger's to close).
    func identified(_ caller: Caller) {
        requestLog.caller = caller
        ConnectionSlotHandler.identified(caller.member, on: channel)
    }

    /// Bodies are read by the strict JSON rules, up to `bodySizeLimit`.
    public var requestDecoder: DeskRequestDecoder { DeskRequestDecoder(limit: bodySizeLimit) }
    /// Replies are the API's JSON.
    public var responseEncoder: DeskResponseEncoder { DeskResponseEncoder() }
}

/// What handling a request learned that its access log line reports: who
/// called, and the order it placed. A reference, so that the log middleware
/// outside sees what the authenticator and the handler inside found.
public final class RequestLog: Sendable {
    private let state = Mutex<(caller: Caller?, orderId: String?)>((nil, nil))

    public init() {}

    /// The caller, once authenticated.
    public var caller: Caller? {
        get { state.withLock { $0.caller } }
        set { state.withLock { $0.caller = newValue } }
    }

    /// The order the request placed or asked about.
    public var orderId: String? {
        get { state.withLock { $0.orderId } }
        set { state.withLock { $0.orderId = newValue } }
    }
}

/// The access a group of routes requires (see `Access`).
public protocol AccessPolicy: Sendable {
    static var access: Access { get }
}

/// Orders and a member's own reads.
public enum MemberAccess: AccessPolicy { public static let access = Access.member }
/// The admin API.
public enum AdminAccess: AccessPolicy { public static let access = Access.admin }
/// `/metrics`.
public enum MetricsAccess: AccessPolicy { public static let access = Access.metrics }
/// Kill switches: admins and officers.
public enum OversightAccess: AccessPolicy { public static let access = Access.oversight }

/// The context of the routes behind a policy: the caller is known and allowed,
/// so handlers take it as it is. Building it is the policy check: a request
/// without a caller (401) or whom the policy refuses (403) never reaches a handler.
public struct CallerContext<Policy: AccessPolicy>: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let caller: Caller
    public let requestLog: RequestLog
    /// The most bytes a body may have (the parent context's).
    public let bodySizeLimit: BodySizeLimit

    public init(context: DeskRequestContext) throws {
        do {
            caller = try Policy.access.admit(context.identity)
        } catch {
            throw DeskHTTPError(error)
        }
        coreContext = context.coreContext
        requestLog = context.requestLog
        bodySizeLimit = context.bodySizeLimit
    }

    public var requestDecoder: DeskRequestDecoder { DeskRequestDecoder(limit: bodySizeLimit) }
    public var responseEncoder: DeskResponseEncoder { DeskResponseEncoder() }
}

/// Routes for members (and admins, who act as one).
public typealias MemberContext = CallerContext<MemberAccess>
/// Routes for admin tokens.
public typealias AdminContext = CallerContext<AdminAccess>
/// Routes for admin and officer tokens (kill switches).
public typealias OversightContext = CallerContext<OversightAccess>
/// `/metrics`: the admin token or a metrics token.
public typealias MetricsContext = CallerContext<MetricsAccess>

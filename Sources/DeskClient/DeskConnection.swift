import AsyncHTTPClient
import DeskAPI
import DeskProto
import Foundation
import NIOCore
import NIOHTTP1

/// A connection to a desk server for Swift strategies and the `desk` CLI:
/// places orders with the seed's protobuf contract and calls the JSON API
/// with DeskAPI's types, on the paths of its route table. One keep-alive HTTP
/// client per connection.
public final class DeskConnection: Sendable {
    /// `http://host:port`, or `unix:///path/desk.sock`.
    public let serverURL: String
    private let token: String?
    private let member: String?
    private let client: HTTPClient
    private let baseURL: String

    /// What went wrong talking to the desk.
    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// Nothing answered at the URL.
        case unreachable(url: String, reason: String)
        /// The desk answered with an error status.
        case refused(status: Int, message: String)
        /// The desk's answer is not what the route returns (a different desk version?).
        case unreadable(route: String, reason: String)

        public var description: String {
            switch self {
            case .unreachable(let url, let reason): "cannot reach the desk at \(url): \(reason)"
            case .refused(let status, let message): "the desk answered \(status): \(message)"
            case .unreadable(let route, let reason): "the desk's answer to \(route) cannot be read: \(reason)"
            }
        }
    }

    /// - Parameters:
    ///   - serverURL: `DESK_SERVER_URL` (default `http://localhost:8080`); `unix://` URLs use the socket.
    ///   - token: `DESK_TOKEN`, sent as a bearer token.
    ///   - member: `USER_ID`, sent as the seed's `X-User-ID` (a development-mode desk trusts it).
    public init(serverURL: String, token: String?, member: String? = nil) {
        self.serverURL = serverURL
        self.token = token
        self.member = member
        if serverURL.hasPrefix("unix://") {
            let path = String(serverURL.dropFirst("unix://".count))
            baseURL = "http+unix://" + path.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        } else {
            baseURL = serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
        }
        var configuration = HTTPClient.Configuration()
        // The desk is local: a refused connection is an answer, not something to retry for long.
        configuration.timeout.connect = .seconds(3)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A connection configured from the environment the desk gives strategies.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        -> DeskConnection
    {
        DeskConnection(
            serverURL: environment["DESK_SERVER_URL"] ?? "http://localhost:8080", token: environment["DESK_TOKEN"],
            member: environment["USER_ID"])
    }

    /// Closes the HTTP client.
    public func shutdown() async throws { try await client.shutdown() }

    /// Places an order (`POST /order`, protobuf). A refusal comes back as a
    /// response with `status == "error"`; only transport failures throw.
    public func placeOrder(_ order: Orders_OrderRequest) async throws -> Orders_OrderResponse {
        let (_, body) = try await send(
            Routes.placeOrder, path: Routes.placeOrder.path(), body: try order.serializedBytes(),
            contentType: "application/x-protobuf")
        return try Orders_OrderResponse(serializedBytes: body)
    }

    // MARK: The JSON API

    /// `GET /healthz`.
    public func health() async throws -> Health { try await call(Routes.health) }

    /// `GET /orders`: your orders (everyone's, or `query.member`'s, with an admin token).
    public func orders(_ query: OrdersQuery = OrdersQuery()) async throws -> OrderList {
        try await call(Routes.orders, query: query.parameters)
    }

    /// `GET /orders/{id}`, with its fills.
    public func order(id: String) async throws -> OrderView {
        try await call(Routes.order, path: Routes.order.path(id))
    }

    /// `DELETE /orders/{id}`: cancels a working order; the order afterwards.
    public func cancelOrder(id: String) async throws -> OrderView {
        try await call(Routes.cancelOrder, path: Routes.cancelOrder.path(id))
    }

    /// `GET /positions`.
    public func positions(_ query: PositionsQuery = PositionsQuery()) async throws -> PositionList {
        try await call(Routes.positions, query: query.parameters)
    }

    /// `GET /account`.
    public func account(_ query: AccountQuery = AccountQuery()) async throws -> AccountView {
        try await call(Routes.account, query: query.parameters)
    }

    /// `POST /admin/halt` (admin token): the kill switch for a member, or the whole desk.
    public func halt(_ request: HaltRequest) async throws -> HaltReply { try await call(Routes.halt, body: request) }

    /// `POST /admin/resume` (admin token).
    public func resume(_ request: ResumeRequest) async throws -> HaltReply {
        try await call(Routes.resume, body: request)
    }

    /// `GET /admin/halts` (admin token).
    public func halts() async throws -> HaltList { try await call(Routes.halts) }

    /// `POST /admin/prices` (admin token): a trade price for the paper broker and the feed.
    public func publishPrice(_ request: PriceRequest) async throws -> PriceReply {
        try await call(Routes.publishPrice, body: request)
    }

    /// `POST /admin/reconcile` (admin token): the broker's report (its type is the broker's).
    public func reconcile<Report: Decodable & Sendable>(as type: Report.Type) async throws -> Report {
        try await call(Routes.reconcile)
    }

    /// `GET /strategies`: the caller's own strategies (every strategy, with an admin token).
    public func strategies() async throws -> StrategyStatusReply { try await call(Routes.memberStrategies) }

    /// `POST /strategies/{start,stop,restart}`: no names: all of the caller's strategies (an admin's: all).
    public func strategies(_ action: StrategyAction, names: [String]) async throws -> StrategyActionReply {
        try await call(action.memberRoute, body: StrategyNames(names: names))
    }

    /// `GET /strategies/{name}/logs`: the last lines of one of the caller's strategies' log.
    public func strategyLog(name: String, tail: Int) async throws -> StrategyLogReply {
        try await call(
            Routes.memberStrategyLogs, path: Routes.memberStrategyLogs.path(name),
            query: StrategyLogQuery(tail: tail).parameters)
    }

    /// Follows a strategy's log: its last `tail` lines, then new lines as they
    /// are written, handed to `onChunk` until the desk ends the answer.
    public func followStrategyLog(name: String, tail: Int, onChunk: @Sendable ([UInt8]) -> Void) async throws {
        let path =
            Routes.memberStrategyLogs.path(name) + StrategyLogQuery(tail: tail, follow: true).parameters.string
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .GET
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .hours(24 * 365))
        } catch {
            throw Failure.unreachable(url: serverURL, reason: "\(error)")
        }
        if response.status.code >= 400 {
            let body = try await response.body.collect(upTo: 1 << 20)
            throw Self.refusal(status: Int(response.status.code), body: Array(buffer: body))
        }
        for try await chunk in response.body { onChunk(Array(buffer: chunk)) }
    }

    /// `PUT /strategies/{name}`: deploys `archive` (a tar of the strategy's folder) as the
    /// caller's strategy `name`, new or a new version; `start`: (re)start it once in place.
    public func deployStrategy(name: String, archive: [UInt8], start: Bool, member: String? = nil) async throws
        -> DeployReply
    {
        let query = DeployQuery(start: start, member: member).parameters
        let route = Routes.redeployStrategy
        let (status, reply) = try await send(
            route, path: route.path(name) + query.string, body: archive, contentType: StrategyArchiveFormat.contentType)
        if status >= 400 { throw Self.refusal(status: status, body: reply) }
        do {
            return try APIJSON.decoder.decode(DeployReply.self, from: Data(reply))
        } catch {
            throw Failure.unreadable(route: route.description, reason: "\(error)")
        }
    }

    /// `DELETE /strategies/{name}`: stops one of the caller's deployed strategies and removes it.
    public func deleteStrategy(name: String) async throws -> DeleteReply {
        try await call(Routes.deleteStrategy, path: Routes.deleteStrategy.path(name))
    }

    /// `POST /strategies/{name}/rollback`: puts the previous version back.
    public func rollbackStrategy(name: String) async throws -> DeployReply {
        try await call(Routes.rollbackStrategy, path: Routes.rollbackStrategy.path(name))
    }

    /// `POST /strategies/{name}/promote`: asks to move a strategy to `venue` (a pending approval, or the move).
    public func promoteStrategy(name: String, to venue: String, backtest: String? = nil) async throws
        -> PromoteReply
    {
        try await call(
            Routes.promoteStrategy, path: Routes.promoteStrategy.path(name),
            body: PromoteRequest(venue: venue, backtest: backtest))
    }

    /// `GET /approvals`: the promotion requests the caller may see, newest first.
    public func approvals() async throws -> ApprovalList { try await call(Routes.approvals) }

    /// `POST /approvals/{id}/approve` (an officer or the admin).
    public func approve(id: Int64) async throws -> PromoteReply {
        try await call(Routes.approveApproval, path: Routes.approveApproval.path(String(id)))
    }

    /// `POST /approvals/{id}/reject` (an officer or the admin), saying why.
    public func reject(id: Int64, reason: String) async throws -> PromoteReply {
        try await call(
            Routes.rejectApproval, path: Routes.rejectApproval.path(String(id)), body: RejectRequest(reason: reason))
    }

    /// `POST /backtests`: submits a backtest (queued; refused with 400, or 429 over a cap).
    public func submitBacktest(_ submission: BacktestSubmission) async throws -> BacktestView {
        try await call(Routes.submitBacktest, body: submission)
    }

    /// `GET /backtests`: the caller's backtests (an officer's: everyone's), newest first.
    public func backtests() async throws -> BacktestList { try await call(Routes.backtests) }

    /// `GET /backtests/{id}`.
    public func backtest(id: String) async throws -> BacktestView {
        try await call(Routes.backtest, path: Routes.backtest.path(id))
    }

    /// `POST /backtests/{id}/cancel`: the backtest afterwards.
    public func cancelBacktest(id: String) async throws -> BacktestView {
        try await call(Routes.cancelBacktest, path: Routes.cancelBacktest.path(id))
    }

    /// `GET /backtests/{id}/files/{name}` (or a sweep's `run`: `/runs/{run}/{name}`): the file's bytes.
    public func backtestFile(id: String, name: String, run: String? = nil) async throws -> [UInt8] {
        let route = run == nil ? Routes.backtestFile : Routes.backtestRunFile
        let path = run.map { route.path(id, $0, name) } ?? route.path(id, name)
        let (status, body) = try await send(route, path: path, body: nil, contentType: "application/json")
        if status >= 400 { throw Self.refusal(status: status, body: body) }
        return body
    }

    /// `GET /admin/tokens` (admin token): every token, never a secret.
    public func tokens() async throws -> TokenList { try await call(Routes.tokens) }

    /// `POST /admin/tokens` (admin token): a new token, its secret shown this once.
    public func issueToken(_ request: TokenIssueRequest) async throws -> IssuedTokenReply {
        try await call(Routes.issueToken, body: request)
    }

    /// `DELETE /admin/tokens/{id}` (admin token).
    public func revokeToken(id: Int64) async throws -> RevokeTokenReply {
        try await call(Routes.revokeToken, path: Routes.revokeToken.path(String(id)))
    }

    /// `GET /session`: who the token is (its member, whether it is an admin's).
    public func session() async throws -> SessionReply { try await call(Routes.session) }

    /// `GET /pnl`: an equity curve.
    public func pnl(_ query: PnLQuery = PnLQuery()) async throws -> PnLHistory {
        try await call(Routes.pnl, query: query.parameters)
    }

    /// Calls a JSON route that takes no body and decodes its answer; a 4xx/5xx
    /// throws `Failure.refused` with the desk's message.
    public func call<Reply: Decodable & Sendable>(
        _ route: Route, path: String? = nil, query: QueryParameters = QueryParameters([])
    ) async throws -> Reply {
        try await exchange(route, path: path, query: query, payload: nil)
    }

    /// Calls a JSON route with `body` and decodes its answer.
    public func call<Reply: Decodable & Sendable>(_ route: Route, path: String? = nil, body: some Encodable & Sendable)
        async throws -> Reply
    {
        try await exchange(route, path: path, query: QueryParameters([]), payload: Array(APIJSON.encoder.encode(body)))
    }

    private func exchange<Reply: Decodable & Sendable>(
        _ route: Route, path: String?, query: QueryParameters, payload: [UInt8]?
    ) async throws -> Reply {
        let (status, reply) = try await send(
            route, path: (path ?? route.path()) + query.string, body: payload, contentType: "application/json")
        if status >= 400 { throw Self.refusal(status: status, body: reply) }
        do {
            return try APIJSON.decoder.decode(Reply.self, from: Data(reply))
        } catch {
            throw Failure.unreadable(route: route.description, reason: "\(error)")
        }
    }

    static func refusal(status: Int, body: [UInt8]) -> Failure {
        let message =
            (try? APIJSON.decoder.decode(ErrorReply.self, from: Data(body)))?.message
            ?? String(decoding: body, as: UTF8.self)
        return .refused(status: status, message: message)
    }

    private func send(_ route: Route, path: String, body: [UInt8]?, contentType: String) async throws -> (
        Int, [UInt8]
    ) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: route.method.rawValue)
        request.headers.add(name: "Content-Type", value: contentType)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let member { request.headers.add(name: "X-User-ID", value: member) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
            return (Int(response.status.code), Array(buffer: bytes))
        } catch {
            throw Failure.unreachable(url: serverURL, reason: "\(error)")
        }
    }
}

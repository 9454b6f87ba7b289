import DeskAPI
import DeskCore
import DeskIdentity
import DeskPromotion
import DeskRunner
import DeskServices
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Members' own strategies (a member group): list, deploy from a tar body,
/// start, stop, restart, roll back, delete, and read or follow logs. Who may do
/// what to which strategy is the `Strategies` use case's; this face reads
/// requests and answers with its shapes and status codes.
struct MemberStrategyController {
    let strategies: Strategies
    let logger: Logger

    func addRoutes(to router: some RouterMethods<MemberContext>) {
        router.on(Routes.memberStrategies, use: list)
        for action in StrategyAction.allCases {
            router.on(action.memberRoute) { request, context in try await act(action, request, context) }
        }
        router.on(Routes.deployStrategy) { request, context in try await deploy(request, context, replacing: false) }
        router.on(Routes.redeployStrategy) { request, context in try await deploy(request, context, replacing: true) }
        router.on(Routes.rollbackStrategy, use: rollback)
        router.on(Routes.deleteStrategy, use: delete)
        router.on(Routes.memberStrategyLogs, use: logs)
    }

    var admin: StrategyController { StrategyController(strategies: strategies) }

    /// The caller's own strategies (everyone's for an admin), with their order counts.
    func visible(to caller: Caller) async throws -> StrategyStatusReply {
        try await Self.translating { StrategyStatusReply(try await strategies.visible(to: caller)) }
    }

    @Sendable func list(_ request: Request, context: MemberContext) async throws -> StrategyStatusReply {
        try TokenController.noQuery(request)
        return try await visible(to: context.caller)
    }

    func act(_ action: StrategyAction, _ request: Request, _ context: MemberContext) async throws
        -> StrategyActionReply
    {
        _ = try Self.translating { try strategies.requireSupervisor() }
        let names = try await request.decode(as: StrategyNames.self, context: context).names ?? []
        return StrategyActionReply(
            results: try await Self.translating {
                try await strategies.perform(action, names: names, caller: context.caller)
            })
    }

    @Sendable func logs(_ request: Request, context: MemberContext) async throws -> Response {
        try await admin.logResponse(
            name: try context.parameters.require("name"), caller: context.caller, request: request, context: context)
    }

    func deploy(_ request: Request, _ context: MemberContext, replacing: Bool) async throws -> DeployReply {
        _ = try Self.translating { try strategies.requireDeployer() }
        let query: DeployQuery
        do { query = try DeployQuery(QueryParameters(request)) } catch { throw DeskHTTPError(error) }
        let member = try Self.translating { try Strategies.owner(requested: query.member, caller: context.caller) }
        let name: String
        if replacing {
            if query.name != nil {
                throw DeskHTTPError(.badRequest, "PUT /strategies/{name} takes the name from its path, not ?name=")
            }
            name = try context.parameters.require("name")
        } else {
            guard let given = query.name else {
                throw DeskHTTPError(
                    .badRequest,
                    "say the strategy's name: POST /strategies?name=trend (or PUT /strategies/trend), with a tar of its folder as the body"
                )
            }
            name = given
        }
        let placed = try await Self.translating {
            try await strategies.deploy(
                member: member, name: name, replacing: replacing, start: query.start, caller: context.caller
            ) { limit in try await readArchive(request, limit: limit) }
        }
        let deployment = placed.deployment
        return DeployReply(
            name: deployment.folder, member: member, files: deployment.files, bytes: deployment.bytes,
            previousKept: deployment.previousKept, started: placed.started)
    }

    @Sendable func rollback(_ request: Request, context: MemberContext) async throws -> DeployReply {
        _ = try Self.translating { try strategies.requireDeployer() }
        try TokenController.noQuery(request)
        let name = try context.parameters.require("name")
        let placed = try await Self.translating { try await strategies.rollback(name, caller: context.caller) }
        let deployment = placed.deployment
        return DeployReply(
            name: deployment.folder, member: deployment.member, files: deployment.files, bytes: deployment.bytes,
            previousKept: true, started: placed.started)
    }

    @Sendable func delete(_ request: Request, context: MemberContext) async throws -> DeleteReply {
        _ = try Self.translating { try strategies.requireDeployer() }
        try TokenController.noQuery(request)
        let name = try context.parameters.require("name")
        let folder = try await Self.translating { try await strategies.delete(name, caller: context.caller) }
        return DeleteReply(name: folder, deleted: true)
    }

    /// Runs `body`, answering any refusal with this face's status and words.
    static func translating<T>(_ body: () async throws -> T) async throws(DeskHTTPError) -> T {
        do { return try await body() } catch { throw httpError(error) }
    }

    /// Runs `body`, answering any refusal with this face's status and words.
    static func translating<T>(_ body: () throws -> T) throws(DeskHTTPError) -> T {
        do { return try body() } catch { throw httpError(error) }
    }

    /// What this face answers a request with, for the audit log.
    static let answer: FaceAnswer = { refusal in
        guard let refusal else { return (200, nil) }
        let error = httpError(refusal)
        return (Int(error.status.code), error.message)
    }

    /// The body as a tar archive of at most `limit` bytes: refused at once when
    /// its Content-Length says more, or as soon as more arrives.
    /// (An archive's limit is `ArchiveLimits`', not the desk's `BodySizeLimit` for requests:
    /// a strategy's files are a different thing from an order or an API request.)
    func readArchive(_ request: Request, limit: Int) async throws -> [UInt8] {
        let mediaType = request.headers[.contentType].map(ContentType.mediaType)
        guard mediaType == StrategyArchiveFormat.contentType || mediaType == "application/octet-stream" else {
            throw DeskHTTPError(
                .unsupportedMediaType,
                "a deploy's body is an uncompressed tar of the strategy's folder, sent as Content-Type: \(StrategyArchiveFormat.contentType) (desk strategies deploy DIR makes one)"
            )
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw DeskHTTPError(
                .contentTooLarge, "the archive is \(length) bytes; this desk takes at most \(limit) bytes")
        }
        do {
            return Array(buffer: try await request.body.collect(upTo: limit))
        } catch is NIOTooManyBytesError {
            throw DeskHTTPError(.contentTooLarge, "the archive is larger than \(limit) bytes, the most this desk takes")
        }
    }

    /// This face's one table: what it answers each refusal with.
    static func httpError(_ error: any Error) -> DeskHTTPError {
        switch error {
        case let error as DeskHTTPError: return error
        case let refusal as StrategyRefusal:
            let status: HTTPResponse.Status =
                switch refusal {
                case .noSupervisor, .noDeployer: .serviceUnavailable
                case .notYours, .unknown: .notFound
                case .otherMember, .notDeployedByCaller: .forbidden
                case .badMember: .badRequest
                case .followersFull: .tooManyRequests
                case .deploy(let problem): status(problem.kind)
                }
            return DeskHTTPError(status, refusal.message)
        case let problem as DeployProblem: return DeskHTTPError(status(problem.kind), problem.message)
        case let problem as PromotionProblem: return DeskHTTPError(status(problem), problem.message)
        default: return DeskHTTPError(.internalServerError, "\(error)")
        }
    }

    static func status(_ problem: PromotionProblem) -> HTTPResponse.Status {
        switch problem {
        case .refused(let refusal):
            switch refusal {
            case .unknownVenue, .reasonMissing: .badRequest
            case .notYours, .notAnOfficer, .selfApproval: .forbidden
            case .alreadyOn, .alreadyPending, .alreadyDecided, .movedSinceRequest, .belowMinimum: .conflict
            }
        case .noSuchApproval, .noSuchStrategy: .notFound
        case .backtest: .unprocessableContent
        case .noSupervisor: .serviceUnavailable
        }
    }

    static func status(_ kind: DeployProblem.Kind) -> HTTPResponse.Status {
        switch kind {
        case .badName, .invalid: .unprocessableContent
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .tooLarge: .contentTooLarge
        case .unavailable: .serviceUnavailable
        }
    }
}

import DeskAPI
import DeskCore
import DeskIdentity
import DeskLedger
import DeskRunner
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Members' own strategies (a member group): list, deploy from a tar body,
/// start, stop, restart, roll back, delete, and read or follow logs. A member
/// sees and acts on their own strategies only (another's is "not found", and
/// nothing is done); an admin on everyone's. Every deploy, rollback and delete,
/// accepted or refused, is a line in the audit log.
struct MemberStrategyController {
    let supervisor: Supervisor?
    let deployer: StrategyDeployer?
    let ledger: Ledger
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

    var strategies: StrategyController { StrategyController(supervisor: supervisor, ledger: ledger) }

    /// The caller's own strategies (everyone's for an admin), with their order counts.
    func visible(to caller: Caller) async throws -> StrategyStatusReply {
        var reply = try await strategies.statusReply()
        if !caller.isAdmin { reply.strategies = reply.strategies.filter { $0.member == caller.member } }
        return reply
    }

    @Sendable func list(_ request: Request, context: MemberContext) async throws -> StrategyStatusReply {
        try TokenController.noQuery(request)
        return try await visible(to: context.caller)
    }

    /// The folder name a caller means by `given`: one of theirs by its folder
    /// name, or their `<member>--<given>`; anything else is not found.
    /// An admin's name is taken as given (the supervisor says when it knows no such strategy).
    func resolve(_ given: String, caller: Caller) async throws -> String {
        if caller.isAdmin { return given }
        let mine = try await visible(to: caller).strategies.map(\.name)
        if mine.contains(given) { return given }
        if let folder = try? StrategyDeployer.folder(member: caller.member, name: given), mine.contains(folder) {
            return folder
        }
        throw DeskHTTPError(
            .notFound,
            "no strategy \(OrderValidation.quoted(given)) of member \(caller.member); yours: \(mine.isEmpty ? "none" : mine.joined(separator: ", "))"
        )
    }

    func act(_ action: StrategyAction, _ request: Request, _ context: MemberContext) async throws
        -> StrategyActionReply
    {
        let supervisor = try strategies.requireSupervisor()
        let given = try await request.decode(as: StrategyNames.self, context: context).names ?? []
        // A name that is not the caller's is a failed result, like one the desk does not have: nothing is done to it.
        var names: [String] = []
        var refused: [StrategyActionResult] = []
        for name in given {
            do { names.append(try await resolve(name, caller: context.caller)) } catch let error as DeskHTTPError {
                refused.append(StrategyActionResult(name: name, ok: false, message: error.message))
            }
        }
        if given.isEmpty && !context.caller.isAdmin {
            names = try await visible(to: context.caller).strategies.map(\.name)
            if names.isEmpty { return StrategyActionReply(results: []) }
        }
        // Empty names ask the supervisor for every strategy: only an admin's request with no names gets there.
        let done = !given.isEmpty && names.isEmpty ? [] : await strategies.perform(action, names, on: supervisor)
        return StrategyActionReply(results: refused + done)
    }

    @Sendable func logs(_ request: Request, context: MemberContext) async throws -> Response {
        let name = try await resolve(try context.parameters.require("name"), caller: context.caller)
        return try await strategies.logResponse(name: name, request: request, context: context)
    }

    /// The member a deploy is for: the caller's own, or (admins only) `?member=`.
    func owner(_ query: DeployQuery, caller: Caller) throws(DeskHTTPError) -> String {
        let member = try Readers.member(query.member, caller: caller) ?? caller.member
        guard Identifier.isSafe(member) else {
            throw DeskHTTPError(
                .badRequest, "member \(OrderValidation.quoted(member)) is not a member id: \(Identifier.rule)")
        }
        return member
    }

    func deploy(_ request: Request, _ context: MemberContext, replacing: Bool) async throws -> DeployReply {
        let (supervisor, deployer) = try requireDeployer()
        let query: DeployQuery
        do { query = try DeployQuery(QueryParameters(request)) } catch { throw DeskHTTPError(error) }
        let member = try owner(query, caller: context.caller)
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
        let folder = (try? StrategyDeployer.folder(member: member, name: name)) ?? name
        return try await audited(
            replacing ? "deploy_version" : "deploy", member: member, folder: folder, caller: context.caller
        ) {
            let archive = try await readArchive(request, limit: deployer.limits.maxBytes)
            let deployment = try await deployer.deploy(
                archive: archive, member: member, name: name, replacing: replacing)
            let running = await isRunning(deployment.folder, on: supervisor)
            let started =
                query.start || running
                ? await supervisor.restart([deployment.folder]).first.map(StrategyActionResult.init) : nil
            let reply = DeployReply(
                name: deployment.folder, member: member, files: deployment.files, bytes: deployment.bytes,
                previousKept: deployment.previousKept, started: started)
            return (reply, "files=\(reply.files) bytes=\(reply.bytes) previous_kept=\(reply.previousKept)")
        }
    }

    @Sendable func rollback(_ request: Request, context: MemberContext) async throws -> DeployReply {
        let (supervisor, deployer, folder, member) = try await owned(request, context)
        return try await audited("rollback", member: member, folder: folder, caller: context.caller) {
            let deployment = try await deployer.rollback(folder: folder, member: member)
            let started =
                await isRunning(folder, on: supervisor)
                ? await supervisor.restart([folder]).first.map(StrategyActionResult.init) : nil
            let reply = DeployReply(
                name: folder, member: member, files: deployment.files, bytes: deployment.bytes, previousKept: true,
                started: started)
            return (reply, "files=\(reply.files) bytes=\(reply.bytes)")
        }
    }

    @Sendable func delete(_ request: Request, context: MemberContext) async throws -> DeleteReply {
        let (supervisor, deployer, folder, member) = try await owned(request, context)
        return try await audited("delete", member: member, folder: folder, caller: context.caller) {
            _ = await supervisor.stop([folder])
            try await deployer.delete(folder: folder)
            await supervisor.forgetDeleted()
            return (DeleteReply(name: folder, deleted: true), nil)
        }
    }

    /// What a rollback or delete acts on: the path's strategy, one the caller may replace, and its member.
    func owned(_ request: Request, _ context: MemberContext) async throws -> (
        Supervisor, StrategyDeployer, folder: String, member: String
    ) {
        let (supervisor, deployer) = try requireDeployer()
        try TokenController.noQuery(request)
        let folder = try await ownedFolder(try context.parameters.require("name"), caller: context.caller)
        return (supervisor, deployer, folder, await member(of: folder, supervisor: supervisor) ?? context.caller.member)
    }

    /// Whether `folder` runs (or is about to run again), so a new version replaces it at once.
    func isRunning(_ folder: String, on supervisor: Supervisor) async -> Bool {
        let state = await supervisor.status().first { $0.name == folder }?.state
        return state == .running || state == .starting || state == .backoff
    }

    /// Runs `body` and records it in the audit log as `strategy_<action>`:
    /// accepted with the detail it returns, or refused with the status and message it is refused with.
    func audited<Reply>(
        _ action: String, member: String, folder: String, caller: Caller,
        _ body: () async throws -> (Reply, String?)
    ) async throws -> Reply {
        do {
            let (reply, detail) = try await body()
            try await audit(
                action, member: member, folder: folder, caller: caller, outcome: "accepted", status: 200,
                detail: detail)
            return reply
        } catch {
            let refusal = Self.httpError(error)
            try? await audit(
                action, member: member, folder: folder, caller: caller, outcome: "refused",
                status: Int(refusal.status.code), detail: refusal.message)
            throw refusal
        }
    }

    /// A folder the caller may replace, roll back or delete: one of theirs that
    /// they deployed (`<member>--…`); an admin: any.
    func ownedFolder(_ given: String, caller: Caller) async throws -> String {
        let folder = try await resolve(given, caller: caller)
        guard caller.isAdmin || StrategyDeployer.isDeployed(folder: folder, by: caller.member) else {
            throw DeskHTTPError(
                .forbidden,
                "\(folder) was put in the strategies folder by the desk's admin, not deployed by you; only the admin may remove or roll it back"
            )
        }
        return folder
    }

    func member(of folder: String, supervisor: Supervisor) async -> String? {
        await supervisor.status().first { $0.name == folder }?.member
    }

    func requireDeployer() throws(DeskHTTPError) -> (Supervisor, StrategyDeployer) {
        let supervisor = try strategies.requireSupervisor()
        guard let deployer else {
            throw DeskHTTPError(.serviceUnavailable, "this desk does not take deployed strategies")
        }
        return (supervisor, deployer)
    }

    /// The body as a tar archive of at most `limit` bytes: refused at once when
    /// its Content-Length says more, or as soon as more arrives.
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

    func audit(
        _ action: String, member: String, folder: String, caller: Caller, outcome: String, status: Int,
        detail: String?
    ) async throws {
        let by = caller.member == member ? "" : "by=\(caller.member) "
        try await ledger.record(
            AuditEvent(
                at: Date(), member: member, strategy: folder, action: "strategy_\(action)", outcome: outcome,
                httpStatus: status, detail: (by + (detail ?? "")).trimmingCharacters(in: .whitespaces)))
    }

    static func httpError(_ error: any Error) -> DeskHTTPError {
        switch error {
        case let error as DeskHTTPError: return error
        case let problem as DeployProblem:
            let status: HTTPResponse.Status =
                switch problem.kind {
                case .badName, .invalid: .unprocessableContent
                case .forbidden: .forbidden
                case .notFound: .notFound
                case .conflict: .conflict
                case .tooLarge: .contentTooLarge
                case .unavailable: .serviceUnavailable
                }
            return DeskHTTPError(status, problem.message)
        default: return DeskHTTPError(.internalServerError, "\(error)")
        }
    }
}

import DeskAPI
import DeskCore
import DeskIdentity
import DeskRunner
import DeskServices
import Foundation
import Hummingbird
import ServiceLifecycle

/// The strategy manager's admin API (an admin group): status, start, stop,
/// restart, and a strategy's log (`?tail=N[&follow=1]`), over the `Strategies` use case.
struct StrategyController {
    let strategies: Strategies

    func addRoutes(to router: some RouterMethods<AdminContext>) {
        router.on(Routes.strategies, use: status)
        for action in StrategyAction.allCases {
            router.on(action.route) { request, context in try await act(action, request, context) }
        }
        router.on(Routes.strategyLogs, use: logs)
    }

    @Sendable func status(_ request: Request, context: AdminContext) async throws -> StrategyStatusReply {
        try await MemberStrategyController.translating { StrategyStatusReply(try await strategies.status()) }
    }

    func act(_ action: StrategyAction, _ request: Request, _ context: AdminContext) async throws
        -> StrategyActionReply
    {
        _ = try MemberStrategyController.translating { try strategies.requireSupervisor() }
        let names = try await request.decode(as: StrategyNames.self, context: context).names ?? []
        return StrategyActionReply(
            results: try await MemberStrategyController.translating {
                try await strategies.perform(action, names: names, caller: context.caller)
            })
    }

    @Sendable func logs(_ request: Request, context: AdminContext) async throws -> Response {
        try await logResponse(
            name: try context.parameters.require("name"), caller: context.caller, request: request, context: context)
    }

    /// The last lines of the log of the strategy `caller` means by `name`, and
    /// with `?follow=1` every new one until the desk stops.
    func logResponse(name: String, caller: Caller, request: Request, context: some RequestContext) async throws
        -> Response
    {
        let source = try await MemberStrategyController.translating { try await strategies.log(name, caller: caller) }
        let query: StrategyLogQuery
        do { query = try StrategyLogQuery(QueryParameters(request)) } catch { throw DeskHTTPError(error) }
        let path = source.path
        let lines = try await Blocking.run { StrategyLog.tail(path: path, lines: query.tail) }
        guard query.follow else {
            return try StrategyLogReply(lines: lines).response(from: request, context: context)
        }
        let slot = try MemberStrategyController.translating { try strategies.followerSlot(source) }
        let follower = StrategyLog.follow(path: path)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody { writer in
                for line in lines { try await writer.write(ByteBuffer(string: line + "\n")) }
                // Ends with the desk: a follower left open must not keep a graceful shutdown waiting.
                for try await line in follower.cancelOnGracefulShutdown() {
                    try await writer.write(ByteBuffer(string: line + "\n"))
                }
                try await writer.finish(nil)
                withExtendedLifetime(slot) {}
            })
    }
}

extension StrategyStatusReply {
    /// Strategies and what the sandbox applies, as the API shows them.
    init(_ status: (strategies: [StrategyStatus], sandbox: SandboxReport)) {
        self.init(
            strategies: status.strategies,
            sandbox: SandboxView(applied: status.sandbox.applied, problem: status.sandbox.problem))
    }
}

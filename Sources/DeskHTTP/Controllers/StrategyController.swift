import DeskAPI
import DeskCore
import DeskLedger
import DeskRunner
import Foundation
import Hummingbird
import ServiceLifecycle

/// The strategy manager's admin API (an admin group): status, start, stop,
/// restart, and a strategy's log (`?tail=N[&follow=1]`).
struct StrategyController {
    let supervisor: Supervisor?
    let ledger: Ledger

    func addRoutes(to router: some RouterMethods<AdminContext>) {
        router.on(Routes.strategies, use: status)
        for action in StrategyAction.allCases {
            router.on(action.route) { request, context in try await act(action, request, context) }
        }
        router.on(Routes.strategyLogs, use: logs)
    }

    func requireSupervisor() throws(DeskHTTPError) -> Supervisor {
        guard let supervisor else {
            throw DeskHTTPError(
                .serviceUnavailable, "this desk runs no strategy supervisor (start it with --strategies-dir)")
        }
        return supervisor
    }

    @Sendable func status(_ request: Request, context: AdminContext) async throws -> StrategyStatusReply {
        try await statusReply()
    }

    /// Every strategy with its order count, and what the sandbox applies.
    func statusReply() async throws -> StrategyStatusReply {
        let supervisor = try requireSupervisor()
        let counts = try await ledger.orderCountsByStrategy()
        var strategies = await supervisor.status().map(StrategyStatus.init)
        for index in strategies.indices {
            strategies[index].ordersPlaced = counts["\(strategies[index].member)/\(strategies[index].name)"] ?? 0
        }
        let report = supervisor.sandboxReport
        return StrategyStatusReply(
            strategies: strategies, sandbox: SandboxView(applied: report.applied, problem: report.problem))
    }

    func act(_ action: StrategyAction, _ request: Request, _ context: AdminContext) async throws
        -> StrategyActionReply
    {
        let supervisor = try requireSupervisor()
        let names = try await request.decode(as: StrategyNames.self, context: context).names ?? []
        return StrategyActionReply(results: await perform(action, names, on: supervisor))
    }

    /// Starts, stops or restarts `names` (all when empty).
    func perform(_ action: StrategyAction, _ names: [String], on supervisor: Supervisor) async
        -> [StrategyActionResult]
    {
        let results =
            switch action {
            case .start: await supervisor.start(names)
            case .stop: await supervisor.stop(names)
            case .restart: await supervisor.restart(names)
            }
        return results.map(StrategyActionResult.init)
    }

    @Sendable func logs(_ request: Request, context: AdminContext) async throws -> Response {
        try await logResponse(name: try context.parameters.require("name"), request: request, context: context)
    }

    /// The last lines of `name`'s log, and with `?follow=1` every new one until the desk stops.
    func logResponse(name: String, request: Request, context: some RequestContext) async throws -> Response {
        let supervisor = try requireSupervisor()
        let statuses = await supervisor.status()
        let known = statuses.map(\.name)
        guard known.contains(name) else {
            throw DeskHTTPError(
                .notFound,
                "no strategy \(OrderValidation.quoted(name)) in \(await supervisor.configuration.strategiesDirectory.path); strategies: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
            )
        }
        let query: StrategyLogQuery
        do { query = try StrategyLogQuery(QueryParameters(request)) } catch { throw DeskHTTPError(error) }
        let path = supervisor.logPath(name)
        let lines = try await Blocking.run { StrategyLog.tail(path: path, lines: query.tail) }
        guard query.follow else {
            return try StrategyLogReply(lines: lines).response(from: request, context: context)
        }
        let member = statuses.first { $0.name == name }?.member ?? name
        guard let slot = supervisor.logFollowers.take(member: member) else {
            throw DeskHTTPError(
                .tooManyRequests,
                "member \(member)'s logs are followed \(supervisor.logFollowers.perMember) times already (the most at once); close one first"
            )
        }
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

import DeskCore
import DeskIdentity
import DeskLedger
import DeskRunner
import Foundation
import Hummingbird
import ServiceLifecycle

/// The strategy manager's admin API (admin tokens only):
/// `GET /admin/strategies`, `POST /admin/strategies/{start,stop,restart}`,
/// `GET /admin/strategies/{name}/logs?tail=N[&follow=1]`.
struct StrategyController {
    let supervisor: Supervisor?
    let ledger: Ledger

    func addRoutes(to router: some RouterMethods<DeskRequestContext>) {
        router.get("admin/strategies", use: status)
        router.post("admin/strategies/start") { try await act($0, $1) { await $0.start($1) } }
        router.post("admin/strategies/stop") { try await act($0, $1) { await $0.stop($1) } }
        router.post("admin/strategies/restart") { try await act($0, $1) { await $0.restart($1) } }
        router.get("admin/strategies/:name/logs", use: logs)
    }

    struct Names: Decodable {
        var names: [String]?
    }

    struct StatusView: Encodable {
        var strategies: [StrategyStatus]
        var sandbox: SandboxView
    }

    /// What the sandbox applies, and why no strategy can start when it cannot be built.
    struct SandboxView: Encodable {
        var applied: [String]
        var problem: String?
    }

    func requireSupervisor() throws -> Supervisor {
        guard let supervisor else {
            throw DeskHTTPError(
                .serviceUnavailable, "this desk runs no strategy supervisor (start it with --strategies-dir)")
        }
        return supervisor
    }

    @Sendable func status(_ request: Request, context: DeskRequestContext) async throws -> Response {
        _ = try AdminController.requireAdmin(context)
        let supervisor = try requireSupervisor()
        let counts = try await ledger.orderCountsByStrategy()
        var strategies = await supervisor.status()
        for index in strategies.indices {
            strategies[index].ordersPlaced = counts["\(strategies[index].member)/\(strategies[index].name)"] ?? 0
        }
        let report = supervisor.sandboxReport
        return try JSONReply.make(
            StatusView(strategies: strategies, sandbox: SandboxView(applied: report.applied, problem: report.problem)))
    }

    func act(
        _ request: Request, _ context: DeskRequestContext,
        _ action: @Sendable (Supervisor, [String]) async -> [StrategyActionResult]
    ) async throws -> Response {
        _ = try AdminController.requireAdmin(context)
        let supervisor = try requireSupervisor()
        let body = try await AdminController.decode(
            Names.self, request, allowed: ["names"], example: #"{"names": ["example_alice"]}"#)
        let results = await action(supervisor, body.names ?? [])
        return try JSONReply.make(["results": results])
    }

    @Sendable func logs(_ request: Request, context: DeskRequestContext) async throws -> Response {
        _ = try AdminController.requireAdmin(context)
        let supervisor = try requireSupervisor()
        let name = try context.parameters.require("name")
        let known = await supervisor.status().map(\.name)
        guard known.contains(name) else {
            throw DeskHTTPError(
                .notFound,
                "no strategy \(OrderValidation.quoted(name)) in \(await supervisor.configuration.strategiesDirectory.path); strategies: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
            )
        }
        let tailText = request.uri.queryParameters.get("tail") ?? "100"
        guard let tail = Int(tailText), (0...100_000).contains(tail) else {
            throw DeskHTTPError(.badRequest, "tail \"\(tailText)\" must be a whole number from 0 to 100000")
        }
        let path = supervisor.logPath(name)
        let lines = StrategyLog.tail(path: path, lines: tail)
        guard request.uri.queryParameters.get("follow") == "1" else {
            return try JSONReply.make(["lines": lines])
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
            })
    }
}

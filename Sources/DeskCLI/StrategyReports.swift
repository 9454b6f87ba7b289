import DeskAPI
import DeskCore
import Foundation
import Synchronization

/// What `desk strategies …` prints from the admin API's answers.
public enum StrategyReports {
    /// The status table, with each strategy's config problem or failure below it;
    /// what came from a strategy (its last log lines, its failure) with every
    /// control character escaped (`TerminalText`), whatever the output is.
    public static func status(_ reply: StrategyStatusReply) -> String {
        var lines = [
            TextTable(
                headers: [
                    "STRATEGY", "MEMBER", "STATE", "RUNTIME", "PID", "RESTARTS", "ORDERS", "TICKS", "DROPPED",
                    "SYMBOLS", "STARTED", "VENUE",
                ],
                rows: reply.strategies.map { strategy in
                    [
                        strategy.name, strategy.member, strategy.state.rawValue,
                        strategy.container.map { "docker:\($0)" } ?? strategy.runtime ?? "-",
                        strategy.pid.map(String.init) ?? "-", "\(strategy.restarts)",
                        strategy.ordersPlaced.map(String.init) ?? "-", "\(strategy.ticksDelivered)",
                        "\(strategy.ticksDropped)", strategy.symbols?.joined(separator: ",") ?? "all",
                        strategy.startedAt.map(Timestamp.string) ?? "-", strategy.venue ?? "-",
                    ]
                }
            ).render()
        ]
        for strategy in reply.strategies {
            if let problem = strategy.problem { lines.append("\(strategy.name): config problem: \(problem)") }
            if let failure = strategy.failure, strategy.state == .stopped {
                // Stopped by the desk with a reason (a loss rule), not a failure of the strategy.
                lines.append("\(strategy.name): stopped: \(failure)")
            } else if let failure = strategy.failure {
                lines.append("\(strategy.name): FAILED: \(failure) (last exit: \(strategy.lastExit ?? "-"))")
                for line in strategy.lastLogLines ?? [] { lines.append("    | \(line)") }
            }
        }
        if let problem = reply.sandbox.problem {
            lines.append("sandbox: NO STRATEGY CAN START: \(problem)")
        }
        return TerminalText.escape(lines.joined(separator: "\n"))
    }

    /// One line per strategy acted on (control characters escaped).
    public static func results(_ reply: StrategyActionReply) -> String {
        if reply.results.isEmpty { return "no strategies found" }
        return TerminalText.escape(
            reply.results.map { "\($0.ok ? "ok   " : "FAIL ") \($0.name): \($0.message)" }.joined(separator: "\n"))
    }
}

/// What `desk strategies start|stop|restart|status|logs` do, through the admin API.
public enum StrategyCommands {
    /// Starts, stops or restarts the named strategies (all when none is named); fails when any of them failed.
    /// A start or restart then watches the strategies for `grace` (`StartWatch`): one that
    /// ends or crashes within it is a failure, shown with its last log lines.
    public static func act(
        _ action: StrategyAction, names: [String], json: Bool, grace: Duration, server: ServerOptions
    ) async throws {
        let watching = action != .stop && grace > .zero
        let before = watching ? try await server.withDesk { try await $0.strategies() } : nil
        var reply = try await server.withDesk { try await $0.strategies(action, names: names.map(strategyName)) }
        if let before { reply.results = try await watch(reply.results, before: before, grace: grace, server: server) }
        printLine(json ? try encoded(reply) : StrategyReports.results(reply))
        if !reply.failures.isEmpty {
            throw DeskCommandError("could not \(action.rawValue) \(reply.failures.joined(separator: ", "))")
        }
    }

    /// Watches the strategies `results` says are starting until each is decided or
    /// `grace` is over; a failure carries the strategy's last log lines.
    static func watch(
        _ results: [StrategyActionResult], before: StrategyStatusReply, grace: Duration, server: ServerOptions
    ) async throws -> [StrategyActionResult] {
        let restarts = Dictionary(before.strategies.map { ($0.name, $0.restarts) }, uniquingKeysWith: { $1 })
        var verdicts: [String: StrategyActionResult] = [:]
        var pending = Set(results.filter(\.ok).map(\.name))
        let deadline = ContinuousClock.now + grace
        while !pending.isEmpty {
            try await Task.sleep(for: .milliseconds(200))
            let graceOver = ContinuousClock.now >= deadline
            let now = try await server.withDesk { try await $0.strategies() }
            for name in pending {
                let status = now.strategies.first { $0.name == name }
                guard
                    var verdict = StartWatch.verdict(
                        status, name: name, restartsBefore: restarts[name] ?? 0, graceOver: graceOver)
                else { continue }
                if !verdict.ok, let log = try? await server.withDesk({ try await $0.strategyLog(name: name, tail: 5) })
                {
                    verdict.message += (["; its last log lines:"] + log.lines.map { "    | \($0)" }).joined(
                        separator: "\n")
                }
                verdicts[name] = verdict
                pending.remove(name)
            }
        }
        return results.map { verdicts[$0.name] ?? $0 }
    }

    /// The status of every strategy, or of the named ones (fails naming those the desk does not have).
    /// A member's short name (`trend` for `alice--trend`) names their strategy, as with `start` and `logs`.
    public static func status(names: [String], json: Bool, server: ServerOptions) async throws {
        var reply = try await server.withDesk { try await $0.strategies() }
        let known = reply.strategies.map(\.name)
        let only = StrategyNames.resolve(
            names.map(strategyName), known: reply.strategies.map { ($0.name, $0.member) })
        if !only.isEmpty { reply.strategies = reply.strategies.filter { only.contains($0.name) } }
        printLine(json ? try encoded(reply) : StrategyReports.status(reply))
        let unknown = only.filter { !known.contains($0) }
        if !unknown.isEmpty {
            throw DeskCommandError(
                "no strategy \(unknown.joined(separator: ", ")) on this desk; it has: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
            )
        }
    }

    /// A strategy's last `tail` log lines, and with `follow` every new one until the desk stops.
    /// To a terminal, control characters are escaped (`TerminalText`): a strategy's
    /// output cannot command the terminal; to a pipe or a file, the log's bytes as they are.
    public static func logs(name: String, tail: Int, follow: Bool, server: ServerOptions) async throws {
        let name = strategyName(name)
        let toTerminal = isatty(STDOUT_FILENO) != 0
        if follow {
            let escaper = Mutex(TerminalText())
            try await server.withDesk { connection in
                try await connection.followStrategyLog(name: name, tail: tail) { chunk in
                    let shown = toTerminal ? escaper.withLock { $0.escape(chunk) } : Array(chunk)
                    FileHandle.standardOutput.write(Data(shown))
                }
            }
        } else {
            let reply = try await server.withDesk { try await $0.strategyLog(name: name, tail: tail) }
            let text = reply.lines.joined(separator: "\n")
            printLine(toTerminal ? TerminalText.escape(text) : text)
        }
    }
}

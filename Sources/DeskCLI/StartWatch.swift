import ArgumentParser
import DeskAPI
import Foundation

/// What `desk strategies start|restart` (and `deploy --start`) say about a
/// strategy the desk accepted to start, once they have watched it for a grace
/// period: running, or failed (it ended, crashed and is being restarted, or was
/// marked failed) — a strategy that crash-loops is never reported `ok`.
/// A pure judgement of one status snapshot; `StrategyCommands` polls.
public enum StartWatch {
    /// The verdict for a strategy whose status is `status` (nil: the desk no
    /// longer lists it) and which had `restartsBefore` restarts before the start;
    /// nil while it is still undecided (starting, or running before the grace period is over).
    public static func verdict(
        _ status: StrategyStatus?, name: String, restartsBefore: Int, graceOver: Bool
    ) -> StrategyActionResult? {
        guard let status else {
            return StrategyActionResult(name: name, ok: false, message: "the desk no longer lists it")
        }
        let exit = status.lastExit.map { " (\($0))" } ?? ""
        if status.state == .failed {
            return StrategyActionResult(
                name: name, ok: false, message: "it failed: \(status.failure ?? status.lastExit ?? "no reason given")")
        }
        if status.restarts > restartsBefore || status.state == .backoff {
            return StrategyActionResult(
                name: name, ok: false, message: "it exited\(exit) right after it started and is being restarted")
        }
        if status.state == .stopped {
            return StrategyActionResult(name: name, ok: false, message: "it ended right after it started\(exit)")
        }
        guard graceOver else { return nil }
        if status.state == .running {
            return StrategyActionResult(
                name: name, ok: true, message: "running\(status.pid.map { " (pid \($0))" } ?? "")")
        }
        return StrategyActionResult(name: name, ok: true, message: "still \(status.state.rawValue)")
    }
}

extension StartWatch {
    /// `--grace`'s rule: 0 (do not watch) to 600 seconds.
    public static func checkGrace(_ seconds: Double) throws {
        guard seconds >= 0, seconds <= 600 else { throw ValidationError("--grace must be from 0 to 600 seconds") }
    }
}

/// Which strategies of the desk's list the user means: each name as given, or a
/// member's short name (`trend` for `alice--trend`) when exactly one strategy in
/// the list is `<its member>--<name>` — with a member's token, the list holds
/// only their own, so their short names always resolve, as the desk resolves them.
public enum StrategyNames {
    /// `given` resolved against `known` (`(name, member)` pairs); unresolved names are kept as given.
    public static func resolve(_ given: [String], known: [(name: String, member: String)]) -> [String] {
        given.map { name in
            if known.contains(where: { $0.name == name }) { return name }
            let matches = known.filter { $0.name == "\($0.member)--\(name)" }
            return matches.count == 1 ? matches[0].name : name
        }
    }
}

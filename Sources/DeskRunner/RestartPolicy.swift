/// How a strategy process ended.
public enum StrategyExit: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    /// Killed by the kernel for going over its container's memory limit.
    case outOfMemory

    public var isSuccess: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): "exit code \(code)"
        case .signaled(let signal): "killed by signal \(signal)\(signal == 9 ? " (SIGKILL: a limit or a stop)" : "")"
        case .outOfMemory: "killed: out of memory (over the container's memory limit)"
        }
    }
}

/// What to do after a strategy process ended, decided without I/O.
public enum RestartDecision: Sendable, Equatable {
    /// Start it again after this delay.
    case restart(after: Duration)
    /// Leave it stopped (it finished, or policy says never).
    case stay
    /// It keeps crashing: mark it failed.
    case fail(reason: String)
}

/// The restart rule: exponential backoff, a limit on restarts in a row, and a
/// reset after a stable run. `restartsInARow` is how many restarts preceded this run.
public enum RestartPolicy {
    public static func decide(
        exit: StrategyExit, ranFor: Duration, restartsInARow: Int, settings: RestartSettings
    ) -> (decision: RestartDecision, restartsInARow: Int) {
        let streak = ranFor >= settings.stableAfter ? 0 : restartsInARow
        switch settings.policy {
        case .never: return (.stay, streak)
        case .onFailure where exit.isSuccess: return (.stay, 0)
        case .onFailure, .always: break
        }
        if streak >= settings.maxRestarts {
            return (.fail(reason: "\(exit) after \(streak) restart(s) in a row"), streak)
        }
        var delay = settings.backoffInitial
        for _ in 0..<streak { delay = min(delay * 2, settings.backoffMax) }
        return (.restart(after: min(delay, settings.backoffMax)), streak + 1)
    }
}

import DeskRunner
import Foundation

/// Why the desk did not take, show or cancel a submitted backtest.
public enum BacktestRefusal: Error, Sendable, Equatable {
    /// This desk runs no submitted backtests (a backtest's own private desk).
    case notServed
    /// No backtest of the caller's has this id (another member's is not theirs to see).
    case notFound(id: String)
    /// The caller has no deployed strategy of this name.
    case noStrategy(name: String, yours: [String])
    /// What was wrong with the submission, and what is allowed.
    case invalid(String)
    /// An uploaded file is larger than the desk takes.
    case tooLarge(String)
    /// A cap the submission would pass.
    case cap(BacktestCap)
    /// The uploaded strategy folder was refused, as a deploy of it would be.
    case archive(DeployProblem)
    /// The backtest has no such file (yet), or the name is not one the desk serves.
    case noFile(id: String, name: String, served: [String])
    /// The desk could not put the backtest's files in place.
    case unavailable(String)

    /// What the refusal says.
    public var message: String {
        switch self {
        case .notServed: "this desk does not run submitted backtests"
        case .notFound(let id): "no backtest \(id) of yours (GET /backtests lists them)"
        case .noStrategy(let name, let yours):
            "you have no deployed strategy \"\(name)\"; yours: \(yours.isEmpty ? "none (deploy one, or send it as \"archive\")" : yours.joined(separator: ", "))"
        case .invalid(let message), .tooLarge(let message), .unavailable(let message): message
        case .cap(let cap): cap.message
        case .archive(let problem): "the uploaded strategy: \(problem.message)"
        case .noFile(let id, let name, let served):
            "backtest \(id) has no file \"\(name)\"; it has: \(served.isEmpty ? "none yet" : served.joined(separator: ", "))"
        }
    }
}

/// Where ticks come from: a synthetic generator, a file replay, a live feed.
public protocol TickSource: Sendable {
    /// Short description for logs and status (`synthetic`, `replay ticks.csv`).
    var name: String { get }
    /// Emits ticks until the source is exhausted (returns) or the task is cancelled.
    func run(_ emit: @Sendable (Tick) async -> Void) async throws
}

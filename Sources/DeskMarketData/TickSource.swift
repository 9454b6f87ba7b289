/// Where ticks come from: a synthetic generator, a file replay, a live feed.
///
/// A ``FeedHub`` runs exactly one source and publishes whatever it emits.
public protocol TickSource: Sendable {
    /// Short description for logs and status (`synthetic (3 symbols, 20 ticks/s, seed 1)`, `replay ticks.csv`).
    var name: String { get }
    /// Emits ticks until the source is exhausted (returns) or the task is cancelled.
    ///
    /// The sources in this module return normally when cancelled; a thrown error
    /// means the source failed (the hub logs it and stays up).
    func run(_ emit: @Sendable (Tick) async -> Void) async throws
}

/// Pacing helpers shared by the sources.
enum Pacing {
    /// Ticks emitted in a row before a source that is not sleeping yields its thread.
    static let ticksBetweenYields = 256

    /// Shortest sleep a source takes: ticks due sooner are emitted at once, so high
    /// rates go out in batches instead of one sleep per tick.
    static let minimumSleep = Duration.milliseconds(1)

    /// `duration` in seconds.
    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }

    /// Sleeps until `deadline`; false when the task was cancelled.
    static func sleep(until deadline: ContinuousClock.Instant) async -> Bool {
        do {
            try await Task.sleep(until: deadline, clock: ContinuousClock())
            return true
        } catch {
            return false
        }
    }
}

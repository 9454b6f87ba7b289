import Dispatch
import Foundation

/// A command whose work runs in child processes of its own (a sweep's or a
/// walk-forward's runs) turns SIGTERM and SIGINT into the cancellation of that
/// work: the executor stops its runs (SIGTERM to each run's process group) and
/// the command fails saying which signal stopped it. Without this the command
/// would die at once and leave its runs going (each is a process group of its own).
public enum SignalCancellation {
    /// The signal that stopped the work.
    struct Signalled: Error {
        var number: Int32
        var name: String { number == SIGINT ? "SIGINT" : "SIGTERM" }
    }

    /// Runs `body`; SIGTERM or SIGINT meanwhile cancels it and fails the command.
    public static func run(_ body: @escaping @Sendable () async throws -> Void) async throws {
        let numbers = [SIGTERM, SIGINT]
        let (signals, continuation) = AsyncStream<Int32>.makeStream()
        for number in numbers { signal(number, SIG_IGN) }
        let sources = numbers.map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        defer {
            continuation.finish()
            for source in sources { source.cancel() }
            for number in numbers { signal(number, SIG_DFL) }
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    for await number in signals { throw Signalled(number: number) }
                }
                // The first to end: the work (then the signal watch is ended), or a signal (then the work is cancelled).
                try await group.next()
                continuation.finish()
                group.cancelAll()
            }
        } catch let signalled as Signalled {
            throw DeskCommandError("stopped by \(signalled.name): the runs still going were stopped")
        }
    }
}

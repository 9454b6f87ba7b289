import DeskCore
import Foundation

/// Who may compile now: at most `width` compiles desk-wide and one per member;
/// the others wait in the order they came. A pure state: the deployer resumes
/// the waiters `leave` returns.
struct CompileSlots<Waiter> {
    let width: Int
    private(set) var running: Set<String> = []
    private(set) var waiting: [(member: String, waiter: Waiter)] = []

    init(width: Int) { self.width = max(1, width) }

    /// Takes a slot for `member` now, if one is free and `member` has none.
    mutating func admit(_ member: String) -> Bool {
        guard running.count < width, !running.contains(member) else { return false }
        running.insert(member)
        return true
    }

    /// Queues `member`'s `waiter` for a slot.
    mutating func wait(_ member: String, _ waiter: Waiter) { waiting.append((member, waiter)) }

    /// Frees `member`'s slot; the waiters that now hold one, oldest first.
    mutating func leave(_ member: String) -> [Waiter] {
        running.remove(member)
        var admitted: [Waiter] = []
        while running.count < width, let next = waiting.firstIndex(where: { !running.contains($0.member) }) {
            let (member, waiter) = waiting.remove(at: next)
            running.insert(member)
            admitted.append(waiter)
        }
        return admitted
    }
}

/// The sandbox launcher running one deploy's compile check: its spec written to
/// its stdin, its output kept (the first `outputLimit` bytes), killed at the deadline.
struct CompileProcess {
    /// How it ended: its exit status (128 + N for signal N) and output, or killed at the deadline.
    typealias Outcome = CommandRun.Outcome

    let launcher: String
    static let outputLimit = 64 << 10
    /// Largest spec written: far below a pipe's capacity, so the write never waits.
    static let specLimit = CommandRun.inputLimit

    struct SpecTooLarge: Error, LocalizedError {
        var errorDescription: String? { "the compile's sandbox settings are over \(CompileProcess.specLimit) bytes" }
    }

    func run(spec: [UInt8], timeout: Duration) async throws -> Outcome {
        guard spec.count <= Self.specLimit else { throw SpecTooLarge() }
        return try await CommandRun(
            command: [launcher, "compile"], environment: [:], input: spec, workingDirectory: URL(fileURLWithPath: "/"),
            timeout: timeout, outputLimit: Self.outputLimit
        ).run()
    }
}

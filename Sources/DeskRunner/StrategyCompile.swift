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
    enum Outcome: Equatable {
        case exited(Int32, String)
        case timedOut
    }

    let launcher: String
    static let outputLimit = 64 << 10
    /// Largest spec written: far below a pipe's capacity, so the write never waits.
    static let specLimit = 16 << 10

    struct SpecTooLarge: Error, LocalizedError {
        var errorDescription: String? { "the compile's sandbox settings are over \(CompileProcess.specLimit) bytes" }
    }

    func run(spec: [UInt8], timeout: Duration) async throws -> Outcome {
        guard spec.count <= Self.specLimit else { throw SpecTooLarge() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: launcher)
        process.arguments = ["compile"]
        process.environment = [:]
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        let exited = OneShot<Int32>()
        process.terminationHandler = { ended in
            exited.fire(
                ended.terminationReason == .uncaughtSignal ? 128 + ended.terminationStatus : ended.terminationStatus)
        }
        let started = ContinuousClock.now
        try process.run()
        defer { try? output.fileHandleForReading.close() }
        // Into the empty pipe: a spec this small never waits for the launcher to read it.
        try? input.fileHandleForWriting.write(contentsOf: Data(spec))
        try? input.fileHandleForWriting.close()
        let pid = process.processIdentifier
        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await exited.wait() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            if first == nil {
                // The launcher leads its process group; its sandbox dies with it.
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
            }
            group.cancelAll()
            return first
        }
        // Past the deadline is past it, even when the exit was seen first (a busy desk
        // resumes the deadline's timer late).
        guard let status, ContinuousClock.now - started <= timeout else { return .timedOut }
        return .exited(status, Self.drain(output.fileHandleForReading.fileDescriptor))
    }

    /// What is in the pipe now, without waiting (everything the launcher and its
    /// children wrote before the launcher ended), at most `outputLimit` bytes.
    static func drain(_ descriptor: Int32) -> String {
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < outputLimit {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes += buffer[..<count]
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        return String(decoding: bytes.prefix(outputLimit), as: UTF8.self)
    }
}

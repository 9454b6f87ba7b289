import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// CPU time of a running process and everything under it, read from /proc: each
/// live descendant's user and system time plus what its reaped children used.
/// (At the end `wait4`'s rusage says the same for the whole run.)
enum ProcessTreeCPU {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// CPU seconds of `root` and its descendants so far (0 when it has ended).
    static func seconds(root: pid_t) -> Double {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        var parent: [pid_t: pid_t] = [:]
        var ticks: [pid_t: Double] = [:]
        for entry in entries {
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // After "pid (comm)": state ppid pgrp … utime(14) stime(15) cutime(16) cstime(17), counting from 1.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 15, let ppid = pid_t(fields[1]) else { continue }
            parent[pid] = ppid
            ticks[pid] = fields[11...14].compactMap { Double($0) }.reduce(0, +)
        }
        var total = 0.0
        for (pid, used) in ticks {
            var current = pid
            var steps = 0
            while current != root, let up = parent[current], up > 1, steps < 64 {
                current = up
                steps += 1
            }
            if current == root { total += used }
        }
        return total / ticksPerSecond
    }
}

/// File work done on a thread of its own, never on a Swift concurrency thread.
enum OffPool {
    static let queue = DispatchQueue(label: "desk.backtests.files", attributes: .concurrent)

    static func run<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}

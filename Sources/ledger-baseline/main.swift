// The benchmark's storage limit: the rows a paper market order writes (the order
// in its final state, its fill, the member's and the strategy's positions, the
// audit line) written through the ledger's own writer, with the same durability
// (WAL, synchronous=FULL, one fsync per batch), by N concurrent writers that each
// wait for their commit like an HTTP connection waits for its reply. No HTTP,
// no identity, no admission, no broker.
//
//   ledger-baseline --db PATH [--concurrency N] [--seconds S] [--no-group-commit] [--durability full|backtest]
//
// `--durability backtest` measures a backtest's ledger (synchronous=OFF, no fsync per commit).
//
// Prints one JSON line: orders, seconds, rps, p50/p99/p999 (ms), cpu_seconds.
import DeskCore
import DeskLedger
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
guard let path = option("--db") else {
    FileHandle.standardError.write(Data("usage: ledger-baseline --db PATH [--concurrency N] [--seconds S]\n".utf8))
    exit(64)
}
let concurrency = option("--concurrency").flatMap(Int.init) ?? 16
let seconds = option("--seconds").flatMap(Double.init) ?? 10
let durabilityName = option("--durability") ?? LedgerDurability.full.rawValue
guard let durability = LedgerDurability(rawValue: durabilityName) else {
    FileHandle.standardError.write(
        Data(
            "--durability \(durabilityName) is not a ledger durability: use \(LedgerDurability.allCases.map(\.rawValue).joined(separator: " or "))\n"
                .utf8))
    exit(64)
}
let ledger = try Ledger(path: path, groupCommit: !arguments.contains("--no-group-commit"), durability: durability)

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
}

let latencies = Mutex<[Double]>([])
let terms = OrderTerms(symbol: "AAPL", qty: 1, side: .buy)
let clock = WallClock()
let cpuBefore = cpuSeconds()
let started = ContinuousClock.now
let deadline = started + .milliseconds(Int64(seconds * 1000))
try await withThrowingTaskGroup(of: [Double].self) { group in
    for writer in 0..<concurrency {
        group.addTask {
            var mine: [Double] = []
            while ContinuousClock.now < deadline {
                let begun = ContinuousClock.now
                let now = clock.now()
                let order = Order(
                    id: clock.newOrderId(), member: "bench\(writer % 4)", strategy: "", terms: terms, placedAt: now)
                _ = try await ledger.record(
                    order,
                    updates: [
                        OrderUpdate(orderId: order.id, event: .accepted, at: now),
                        .fill(orderId: order.id, qty: 1, price: 100, cumulativeQty: 1, at: now),
                    ],
                    audit: AuditEvent(
                        at: now, member: order.member, strategy: "", action: .order, orderId: order.id,
                        outcome: .accepted, httpStatus: 201, detail: terms.summary))
                mine.append((ContinuousClock.now - begun) / .milliseconds(1))
            }
            return mine
        }
    }
    for try await mine in group { latencies.withLock { $0 += mine } }
}
let elapsed = (ContinuousClock.now - started) / .seconds(1)
let cpu = cpuSeconds() - cpuBefore
ledger.close()
let sorted = latencies.withLock { $0.sorted() }
func percentile(_ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p / 100))]
}
let figures: [String: Double] = [
    "orders": Double(sorted.count), "seconds": elapsed, "rps": Double(sorted.count) / elapsed,
    "p50": percentile(50), "p99": percentile(99), "p999": percentile(99.9), "cpu_seconds": cpu,
]
let json = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))

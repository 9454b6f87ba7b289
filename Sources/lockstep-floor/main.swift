import DeskCore
import DeskMarketData
import DeskRunner
import Foundation
import SandboxSpec

// The backtest benchmark's floor: one strategy in the same sandbox, fed the
// ticks of a file, with no desk, broker or ledger — the hand-off alone.
//   --mode strict (the default): one line at a time, each only once the strategy
//     asks for input again (its launcher's readiness reports, as `desk backtest
//     --lockstep strict` waits).
//   --mode packet: its stdin a pipe of packets written ahead as fast as it reads
//     (as `--lockstep stream` feeds a strategy that never orders), timed until it
//     has read the last line; a read that would cut a line fails the run.
//
// lockstep-floor [--mode strict|packet] STRATEGY.py TICKS.jsonl WORK_FOLDER
//   → one JSON line on stdout: mode, ticks, seconds, ticks_per_second (timed from
//     the strategy's first read on), and the CPU used by the floor from then on
//     and by everything it started, the strategy's whole life (cpu_seconds,
//     cpu_us_per_tick; getrusage).

/// How the floor hands lines to the strategy.
enum FloorMode: String, CaseIterable {
    case strict
    case packet
}

/// A line on stderr.
func say(_ message: String) {
    FileHandle.standardError.write(Data("\(message)\n".utf8))
}

func fail(_ message: String, status: Int32 = 64) -> Never {
    say("lockstep-floor: \(message)")
    exit(status)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var mode = FloorMode.strict
if let flag = arguments.firstIndex(of: "--mode") {
    guard flag + 1 < arguments.count, let chosen = FloorMode(rawValue: arguments[flag + 1]) else {
        fail("--mode takes one of: \(FloorMode.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    mode = chosen
    arguments.removeSubrange(flag...(flag + 1))
}
guard arguments.count == 3 else {
    fail("usage: lockstep-floor [--mode strict|packet] STRATEGY.py TICKS.jsonl WORK_FOLDER")
}
let script = URL(fileURLWithPath: arguments[0]).standardizedFileURL
let work = URL(fileURLWithPath: arguments[2]).standardizedFileURL
let lines = try ReplaySource(file: URL(fileURLWithPath: arguments[1]), speed: .asFastAsPossible).readTicks()
    .map { FeedLine(tick: $0).bytes }
// A packet run's threshold is a backtest's: the longest line, rounded up to 512 bytes.
let longest = lines.map(\.count).max() ?? 1
if mode == .packet && longest > SandboxSpec.largestPacket {
    fail("a line of \(longest) bytes is longer than one packet (\(SandboxSpec.largestPacket) bytes): use --mode strict")
}
let threshold = min(SandboxSpec.largestPacket, (longest + 511) / 512 * 512)
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
let strategies = work.appendingPathComponent("strategies/floor")
try FileManager.default.createDirectory(at: strategies, withIntermediateDirectories: true)
try? FileManager.default.removeItem(at: strategies.appendingPathComponent("strategy.py"))
try FileManager.default.copyItem(at: script, to: strategies.appendingPathComponent("strategy.py"))
let options = SandboxOptions()
let python = SupervisorConfiguration.defaultPython
let plan = SandboxPlan.probe(options: options, python: python, pythonPath: "")
if let problem = plan.report.problem { fail("sandbox: \(problem)", status: 1) }
// A uid of its own, claimed like a desk's strategies' (no desk on this machine has it).
let uid =
    getuid() == 0 ? try UIDClaims.machine.claimFirst(from: options.baseUID, owner: "lockstep-floor \(work.path)") : nil
let user = uid.map { StrategyUser(uid: $0, gid: $0) }
let stage = try StrategyStage(root: work.appendingPathComponent("sandbox")).prepare(
    name: "floor", from: strategies, user: user)
let counter = try ReadinessCounter(path: work.appendingPathComponent("floor.reads").path)
let log = StrategyLog(path: work.appendingPathComponent("floor.log").path, maxBytes: 1 << 20, keep: 1)

/// CPU seconds (user + system) of this process, and of its children that have ended.
func cpuSeconds() -> (own: Double, children: Double) {
    func seconds(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(who), &usage)
        return [usage.ru_utime, usage.ru_stime].reduce(0) { $0 + Double($1.tv_sec) + Double($1.tv_usec) / 1e6 }
    }
    return (seconds(RUSAGE_SELF.rawValue), seconds(RUSAGE_CHILDREN.rawValue))
}

let strategy = try await ProcessBackend(plan: plan).launch(
    LaunchSpec(
        name: "floor", member: "floor",
        program: [python, "-s", "-u", stage.app.appendingPathComponent("strategy.py").path],
        workingDirectory: stage.app, environment: ["PATH": "/usr/bin:/bin", "HOME": stage.home.path],
        limits: StrategyLimits(), log: log, user: user, home: stage.home,
        hiddenPaths: [work.appendingPathComponent("strategies").path], readiness: counter.path,
        packetThreshold: mode == .packet ? threshold : nil))
Task { counter.ended(await strategy.exitStatus()) }
// The clock starts once the strategy is reading: it asked for its first line (strict), or took it (packet).
var delivered = 0
switch mode {
case .strict: _ = await counter.wait(forReads: 1)
case .packet:
    if let first = lines.first, strategy.writePacket(first) == .written {
        while counter.count == 0, let unread = strategy.unreadInput(), unread > 0 {
            try await Task.sleep(for: .milliseconds(1))
        }
        delivered = strategy.unreadInput() == 0 ? 1 : 0
    }
}
let untimed = delivered
let cpuAtStart = cpuSeconds()
let started = ContinuousClock.now
switch mode {
case .strict:
    for (index, line) in lines.enumerated() {
        guard await strategy.write(line) else { break }
        let answer = await counter.wait(forReads: index + 2)
        guard case .asked = answer else {
            say("the strategy stopped asking after \(index + 1) ticks: \(answer)")
            break
        }
        delivered += 1
    }
case .packet:
    // Written ahead as far as the pipe holds; when it is full, the strategy is reading: look again shortly.
    var written = delivered
    writing: while written < lines.count && counter.count == 0 {
        switch strategy.writePacket(lines[written]) {
        case .written: written += 1
        case .full: try await Task.sleep(for: .microseconds(100))
        case .closed: break writing
        }
    }
    // Read to the end: nothing unread (it has taken the last line), or it ended, or it read in pieces.
    while written == lines.count && counter.count == 0, let unread = strategy.unreadInput(), unread > 0 {
        try await Task.sleep(for: .microseconds(100))
    }
    delivered = counter.count == 0 && strategy.unreadInput() == 0 ? written : 0
    if counter.count > 0 {
        say("the strategy reads stdin in pieces smaller than a line (\(threshold) bytes): use --mode strict")
    }
}
let elapsed = ContinuousClock.now - started
if counter.count > 0 && mode == .packet { await strategy.stop(grace: .zero) }
strategy.closeInput()
_ = await strategy.exitStatus()
let cpuAtEnd = cpuSeconds()
let cpu = (cpuAtEnd.own - cpuAtStart.own) + (cpuAtEnd.children - cpuAtStart.children)
say("reads reported: \(counter.count)")
counter.close()
log.close()
let seconds = elapsed.seconds
// The ticks handed over while the clock ran.
let timed = max(0, delivered - untimed)
print(
    #"{"mode": "\#(mode.rawValue)", "ticks": \#(delivered), "seconds": \#(seconds), "ticks_per_second": \#(Double(timed) / seconds), "cpu_seconds": \#(cpu), "cpu_us_per_tick": \#(timed > 0 ? cpu / Double(timed) * 1e6 : 0)}"#
)
exit(delivered == lines.count ? 0 : 1)

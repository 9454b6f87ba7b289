import DeskCore
import DeskMarketData
import DeskRunner
import Foundation

// The backtest benchmark's floor: one strategy in the same sandbox, fed the
// ticks of a file one line at a time, each only once the strategy asks for
// input again (its launcher's readiness reports, as `desk backtest` waits) —
// the handshake alone, with no desk, broker or ledger.
//
// lockstep-floor STRATEGY.py TICKS.jsonl WORK_FOLDER  → one JSON line on stdout.

let arguments = CommandLine.arguments
guard arguments.count == 4 else {
    FileHandle.standardError.write(Data("usage: lockstep-floor STRATEGY.py TICKS.jsonl WORK_FOLDER\n".utf8))
    exit(64)
}
let script = URL(fileURLWithPath: arguments[1]).standardizedFileURL
let work = URL(fileURLWithPath: arguments[3]).standardizedFileURL
let lines = try ReplaySource(file: URL(fileURLWithPath: arguments[2]), speed: .asFastAsPossible).readTicks()
    .map { FeedLine(tick: $0) }
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
let strategies = work.appendingPathComponent("strategies/floor")
try FileManager.default.createDirectory(at: strategies, withIntermediateDirectories: true)
try? FileManager.default.removeItem(at: strategies.appendingPathComponent("strategy.py"))
try FileManager.default.copyItem(at: script, to: strategies.appendingPathComponent("strategy.py"))
let options = SandboxOptions()
let python = SupervisorConfiguration.defaultPython
let plan = SandboxPlan.probe(options: options, python: python, pythonPath: "")
if let problem = plan.report.problem {
    FileHandle.standardError.write(Data("sandbox: \(problem)\n".utf8))
    exit(1)
}
// A uid of its own, claimed like a desk's strategies' (no desk on this machine has it).
let uid =
    getuid() == 0 ? try UIDClaims.machine.claimFirst(from: options.baseUID, owner: "lockstep-floor \(work.path)") : nil
let user = uid.map { StrategyUser(uid: $0, gid: $0) }
let stage = try StrategyStage(root: work.appendingPathComponent("sandbox")).prepare(
    name: "floor", from: strategies, user: user)
let counter = try ReadinessCounter(path: work.appendingPathComponent("floor.reads").path)
let log = StrategyLog(path: work.appendingPathComponent("floor.log").path, maxBytes: 1 << 20, keep: 1)
let strategy = try await ProcessBackend(plan: plan).launch(
    LaunchSpec(
        name: "floor", member: "floor",
        program: [python, "-s", "-u", stage.app.appendingPathComponent("strategy.py").path],
        workingDirectory: stage.app, environment: ["PATH": "/usr/bin:/bin", "HOME": stage.home.path],
        limits: StrategyLimits(), log: log, user: user, home: stage.home,
        hiddenPaths: [work.appendingPathComponent("strategies").path], readiness: counter.path))
Task { counter.ended(await strategy.exitStatus()) }
_ = await counter.wait(forReads: 1)
let started = ContinuousClock.now
var delivered = 0
for (index, line) in lines.enumerated() {
    guard await strategy.write(line.bytes) else { break }
    let answer = await counter.wait(forReads: index + 2)
    guard case .asked = answer else {
        FileHandle.standardError.write(Data("the strategy stopped asking after \(index + 1) ticks: \(answer)\n".utf8))
        break
    }
    delivered += 1
}
let elapsed = ContinuousClock.now - started
strategy.closeInput()
_ = await strategy.exitStatus()
FileHandle.standardError.write(Data("reads reported: \(counter.count)\n".utf8))
counter.close()
log.close()
let seconds = elapsed.seconds
print(#"{"ticks": \#(delivered), "seconds": \#(seconds), "ticks_per_second": \#(Double(delivered) / seconds)}"#)
exit(delivered == lines.count ? 0 : 1)

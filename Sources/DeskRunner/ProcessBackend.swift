import CDeskSandbox
import DeskCore
import Foundation
import SandboxSpec
import Synchronization

/// The user a strategy runs as: its own uid and group, plus the desk socket's group.
public typealias StrategyUser = SandboxSpec.User

/// Everything needed to start one strategy, whatever runs it.
public struct LaunchSpec: Sendable {
    public var name: String
    public var member: String
    /// Program and arguments (`python3 -s -u strategy.py`), before any sandbox.
    public var program: [String]
    /// The strategy's staged copy of its folder (see `StrategyStage`).
    public var workingDirectory: URL
    /// The complete environment: nothing is inherited from the desk.
    public var environment: [String: String]
    public var limits: StrategyLimits
    public var log: StrategyLog
    /// Its own user; nil: the desk's (a desk that is not root, or `--no-sandbox`).
    public var user: StrategyUser?
    /// Its private, persistent HOME.
    public var home: URL
    /// The supervisor's folders it must not see (strategies, logs, sandboxes).
    public var hiddenPaths: [String]
    /// A readiness FIFO (`ReadinessCounter`): each read of stdin the strategy
    /// starts is reported there (backtests); nil: not watched.
    public var readiness: String?
    /// With `readiness`: its stdin is fed in packets (`ReadWatch.packets`) and
    /// only reads shorter than this many bytes (and vectored reads) are reported,
    /// the strategy held there; nil: every read is reported (`ReadWatch.everyRead`).
    public var packetThreshold: Int?

    public init(
        name: String, member: String, program: [String], workingDirectory: URL, environment: [String: String],
        limits: StrategyLimits, log: StrategyLog, user: StrategyUser? = nil, home: URL, hiddenPaths: [String] = [],
        readiness: String? = nil, packetThreshold: Int? = nil
    ) {
        self.readiness = readiness
        self.packetThreshold = packetThreshold
        self.name = name
        self.member = member
        self.program = program
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.limits = limits
        self.log = log
        self.user = user
        self.home = home
        self.hiddenPaths = hiddenPaths
    }
}

/// A started strategy: its pid, its stdin, a way to stop it and its exit.
public protocol RunningStrategy: Sendable {
    var pid: Int32 { get }
    /// Writes bytes to its stdin without ever blocking a thread: false once the
    /// strategy has closed its stdin (or exited).
    func write(_ bytes: [UInt8]) async -> Bool
    /// Closes its stdin (it sees EOF).
    func closeInput()
    /// SIGTERM to its process group, SIGKILL after `grace`.
    func stop(grace: Duration) async
    /// Waits for it to end.
    func exitStatus() async -> StrategyExit
    /// The container it runs in, if any.
    var container: String? { get }
    /// Writes one line as one packet of its stdin without waiting (a stdin fed
    /// in packets: `LaunchSpec.packetThreshold`); each read the strategy makes
    /// returns at most one packet.
    func writePacket(_ bytes: [UInt8]) -> PacketWrite
    /// The bytes written to its stdin that it has not read yet: the kernel's
    /// count, which the strategy cannot change; nil once its stdin is closed, or
    /// where the desk cannot see it (a container).
    func unreadInput() -> Int?
}

/// What became of one packet written to a strategy's stdin.
public enum PacketWrite: Sendable, Equatable {
    case written
    /// Its stdin is full: write it again once the strategy has read.
    case full
    /// Its stdin is closed, or the strategy ended.
    case closed
}

extension RunningStrategy {
    public var container: String? { nil }
    public func writePacket(_ bytes: [UInt8]) -> PacketWrite { .closed }
    public func unreadInput() -> Int? { nil }
}

/// Starts strategies: `ProcessBackend` (the default) or `DockerBackend`.
public protocol StrategyBackend: Sendable {
    var name: String { get }
    func launch(_ spec: LaunchSpec) async throws -> any RunningStrategy
    /// Removes what an earlier run of this desk left behind (containers); returns what it removed.
    func removeLeftovers() async -> [String]
}

extension StrategyBackend {
    public func removeLeftovers() async -> [String] { [] }
}

/// Runs each strategy as a child process of the sandbox launcher
/// (`desk-sandbox`), which reads `plan.spec(for:)` from the start of its stdin.
///
/// Foundation's `Process` starts the launcher as the leader of its own process
/// group; the launcher stays outside the strategy's namespaces, forwards stop
/// signals into them and ends as the strategy ended, so to the supervisor it is
/// the strategy. This backend uses `Process` rather than swift-subprocess: it
/// needs a stdin written without blocking and output that goes straight to a
/// rotating log; the sandbox itself is the launcher's.
public struct ProcessBackend: StrategyBackend {
    public let plan: SandboxPlan
    public var name: String { "process" }

    public init(plan: SandboxPlan) {
        self.plan = plan
        // A strategy that exits while we write to its pipe must not kill the desk.
        signal(SIGPIPE, SIG_IGN)
    }

    public func launch(_ spec: LaunchSpec) async throws -> any RunningStrategy {
        if let problem = plan.report.problem { throw SandboxUnavailable(reason: problem) }
        if let user = spec.user {
            // Sandboxes of this uid that an earlier run left (a desk killed before its launchers ended)
            // are ended; a process of that uid the desk did not start is never touched.
            let launcher = URL(fileURLWithPath: plan.launcher).resolvingSymlinksInPath().path
            for pid in Self.leftoverSandboxes(ofUser: user.uid, launcher: launcher) {
                spec.log.note("ending a sandbox (init \(pid)) left running as uid \(user.uid) by an earlier run")
                kill(pid, SIGKILL)
            }
        }
        let child = try ChildProcess.spawn(
            [plan.launcher, spec.name], environment: [:], workingDirectory: URL(fileURLWithPath: "/"), log: spec.log)
        guard await child.write(plan.spec(for: spec).encoded()) else {
            await child.stop(grace: .zero)
            throw SandboxUnavailable(reason: "the sandbox launcher ended before it read its spec")
        }
        if spec.packetThreshold != nil {
            // Packets only after the whole spec is in the pipe (the launcher's exact reads of it then
            // never touch a packet), and the spec read before this returns: `unreadInput` is the
            // strategy's input alone from the first line on.
            do {
                try child.feedInPackets()
            } catch {
                await child.stop(grace: .zero)
                throw error
            }
            guard await child.waitUntilInputRead() else {
                await child.stop(grace: .zero)
                throw SandboxUnavailable(reason: "the sandbox launcher ended before it read its spec")
            }
        }
        return child
    }

    /// The inits (pid 1 of their pid namespace, seen from ours) of sandboxes made
    /// by `launcher` in which a process of real uid `uid` runs: killing such an
    /// init ends its whole namespace. A process of that uid in no sandbox of ours
    /// — in this pid namespace, or under another program's init — is not listed.
    static func leftoverSandboxes(ofUser uid: UInt32, launcher: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let ours = namespace(of: "self")
        var inits: [String: Int32] = [:]
        var holders: Set<String> = []
        for entry in entries {
            guard let pid = Int32(entry),
                let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8)
            else { continue }
            let fields = Dictionary(
                status.split(separator: "\n").compactMap { line -> (String, [Substring])? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (
                        String(line[..<colon]), line[line.index(after: colon)...].split(whereSeparator: \.isWhitespace)
                    )
                }, uniquingKeysWith: { first, _ in first })
            guard let space = namespace(of: entry), space != ours else { continue }
            if fields["NSpid"]?.last == "1",
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/exe")) == launcher
            {
                inits[space] = pid
            }
            if fields["Uid"]?.first == "\(uid)" { holders.insert(space) }
        }
        return holders.compactMap { inits[$0] }.sorted()
    }

    /// The pid namespace of `/proc/<process>`.
    static func namespace(of process: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process)/ns/pid")
    }
}

/// A child's exit status, set once when it ends, awaited by any number of tasks.
typealias ExitSignal = OneShot<StrategyExit>

/// A child process whose stdin is a non-blocking pipe and whose stdout and
/// stderr go to a strategy log: the strategy itself, or the docker CLI attached
/// to its container.
final class ChildProcess: RunningStrategy {
    let pid: Int32
    private let input: Pipe
    private let exit: ExitSignal
    private let inputOpen = Mutex(true)

    init(pid: Int32, input: Pipe, exit: ExitSignal) {
        self.pid = pid
        self.input = input
        self.exit = exit
    }

    /// Starts `command` (a path and its arguments) with exactly `environment`.
    /// Foundation's `Process` makes it the leader of a new process group.
    static func spawn(
        _ command: [String], environment: [String: String], workingDirectory: URL?, log: StrategyLog
    ) throws -> ChildProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = environment
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        let exit = ExitSignal()
        process.terminationHandler = { finished in
            let status: StrategyExit =
                finished.terminationReason == .uncaughtSignal
                ? .signaled(finished.terminationStatus) : .exited(finished.terminationStatus)
            exit.fire(status)
        }
        try process.run()
        // The output is read from a descriptor of our own, closed once the child's side ends: a
        // FileHandle's readability handler kept its descriptor open after end of file (one leaked per start).
        let outputCopy = fcntl(output.fileHandleForReading.fileDescriptor, F_DUPFD_CLOEXEC, 0)
        try? output.fileHandleForReading.close()
        if outputCopy >= 0 { copyOutput(outputCopy, into: log) }
        let fd = input.fileHandleForWriting.fileDescriptor
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return ChildProcess(pid: process.processIdentifier, input: input, exit: exit)
    }

    /// Appends what arrives on `fd` to `log` until end of file, then closes `fd`: a thread of its
    /// own blocked in read(2), never a dispatch source (libdispatch's epoll bookkeeping crashes
    /// the desk when read sources are set up and torn down as often as strategies restart:
    /// SIGSEGV in `_dispatch_event_loop_drain`, swift-corelibs-libdispatch #949).
    private static func copyOutput(_ fd: Int32, into log: StrategyLog) {
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                if got > 0 {
                    log.append(Data(buffer[0..<got]))
                } else if got == 0 || errno != EINTR {
                    break
                }
            }
            Glibc.close(fd)
        }
        thread.name = "strategy output"
        thread.start()
    }

    func write(_ bytes: [UInt8]) async -> Bool {
        var offset = 0
        while offset < bytes.count {
            guard inputOpen.withLock({ $0 }), exit.value == nil else { return false }
            let written = bytes.withUnsafeBytes { buffer in
                Glibc.write(
                    input.fileHandleForWriting.fileDescriptor, buffer.baseAddress! + offset, bytes.count - offset)
            }
            if written > 0 {
                offset += written
            } else if written < 0 && (errno == EAGAIN || errno == EINTR) {
                // The pipe is full: the strategy is not reading. Wait without holding a thread;
                // meanwhile its feed buffer keeps only the newest ticks.
                try? await Task.sleep(for: .milliseconds(5))
                if Task.isCancelled { return false }
            } else {
                closeInput()
                return false
            }
        }
        return true
    }

    /// The pipe size asked for a stdin fed in packets (`/proc/sys/fs/pipe-max-size`'s default).
    static let packetPipeBytes: Int32 = 1 << 20

    /// From now on each write to its stdin is one packet (O_DIRECT, Linux 3.4) and each read
    /// returns at most one, so the bytes the strategy has read end on a line. What is in the pipe
    /// already stays as it was: a read of it never runs into a packet beyond the count it asks.
    /// A packet takes a page of the pipe: the largest pipe an unprivileged writer may make holds
    /// 256 of them.
    func feedInPackets() throws {
        let made = inputOpen.withLock { open in
            open && desk_packet_pipe(input.fileHandleForWriting.fileDescriptor, ChildProcess.packetPipeBytes) == 0
        }
        if !made { throw SandboxUnavailable(reason: "stdin cannot be made a pipe of packets (O_DIRECT, Linux 3.4)") }
    }

    /// Returns true once everything written to its stdin has been read, false if it ended (or
    /// its stdin closed) first. Polls without holding a thread.
    func waitUntilInputRead(every interval: Duration = .milliseconds(1)) async -> Bool {
        while exit.value == nil, let unread = unreadInput() {
            if unread == 0 { return true }
            do { try await Task.sleep(for: interval) } catch { return false }
        }
        return false
    }

    func writePacket(_ bytes: [UInt8]) -> PacketWrite {
        inputOpen.withLock { open in
            guard open, exit.value == nil else { return .closed }
            while true {
                let written = bytes.withUnsafeBytes {
                    Glibc.write(input.fileHandleForWriting.fileDescriptor, $0.baseAddress!, $0.count)
                }
                if written == bytes.count { return .written }
                if written < 0 && errno == EINTR { continue }
                // A write of at most PIPE_BUF bytes is all or nothing: short only for longer lines.
                if written < 0 && errno == EAGAIN { return .full }
                return .closed
            }
        }
    }

    func unreadInput() -> Int? {
        inputOpen.withLock { open in
            guard open else { return nil }
            let unread = desk_pending_bytes(input.fileHandleForWriting.fileDescriptor)
            return unread >= 0 ? Int(unread) : nil
        }
    }

    func closeInput() {
        let wasOpen = inputOpen.withLock { open in
            defer { open = false }
            return open
        }
        if wasOpen { try? input.fileHandleForWriting.close() }
    }

    /// Whether it has ended.
    var hasExited: Bool { exit.value != nil }

    /// SIGTERM, then SIGKILL once `grace` has passed without its exit; returns once it ended
    /// (its exit is awaited as the event it is, the grace as one timer).
    func stop(grace: Duration) async {
        closeInput()
        guard exit.value == nil else { return }
        signalGroup(SIGTERM)
        let exit = self.exit
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await exit.wait() }
            group.addTask {
                do { try await Task.sleep(for: grace) } catch { return }
                if exit.value == nil { self.signalGroup(SIGKILL) }
            }
            // It ended (the timer is then cancelled), or the grace is over and it was killed.
            _ = await group.next()
            group.cancelAll()
        }
    }

    /// Signals its process group once (the launcher passes it on into the
    /// sandbox; sending it to the pid as well would deliver it twice).
    private func signalGroup(_ number: Int32) {
        if kill(-pid, number) != 0 { kill(pid, number) }
    }

    func exitStatus() async -> StrategyExit { await exit.wait() }
}

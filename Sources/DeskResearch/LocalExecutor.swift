import DeskBacktest
import DeskCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs research's jobs on this machine: each a child `desk backtest` process
/// (its own process group; stdout and stderr to files in its work folder), up to
/// `parallel` at once. A dedicated thread waits for each child (`wait4`, which also
/// gives the CPU time of the run and of the strategies it started), never a
/// Swift concurrency thread. Cancelling the caller's task sends SIGTERM to every
/// running job's process group (the backtest ends its strategies and fails).
public struct LocalExecutor: BacktestExecutor {
    /// The `desk` binary to run.
    public var deskBinary: URL
    /// Runs at once, at least 1.
    public var parallel: Int
    /// The environment of each run; nil: this process's.
    public var environment: [String: String]?

    public init(deskBinary: URL, parallel: Int, environment: [String: String]? = nil) {
        self.deskBinary = deskBinary
        self.parallel = max(1, parallel)
        self.environment = environment
    }

    /// This process's own binary (`desk` running a sweep runs itself).
    public static var currentBinary: URL {
        URL(
            fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0])
    }

    /// The machine's cores: `--jobs`' default.
    public static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    public func run(_ jobs: [BacktestJob], finished: @escaping @Sendable (BacktestJobResult) -> Void) async throws
        -> [BacktestJobResult]
    {
        guard FileManager.default.isExecutableFile(atPath: deskBinary.path) else {
            throw ResearchFailure("the desk binary \(deskBinary.path) is not there (or not executable)")
        }
        var results = [BacktestJobResult?](repeating: nil, count: jobs.count)
        try await withThrowingTaskGroup(of: (Int, BacktestJobResult).self) { group in
            var next = 0
            func start() {
                let index = next
                let job = jobs[index]
                next += 1
                group.addTask { (index, try await self.runOne(job)) }
            }
            while next < min(parallel, jobs.count) { start() }
            while let (index, result) = try await group.next() {
                results[index] = result
                finished(result)
                if next < jobs.count && !Task.isCancelled { start() }
            }
        }
        try Task.checkCancellation()
        return results.map { $0! }
    }

    /// One job, to its end.
    func runOne(_ job: BacktestJob) async throws -> BacktestJobResult {
        let work = URL(fileURLWithPath: job.work)
        do {
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        } catch {
            throw ResearchFailure("cannot make the run's work folder \(work.path): \(error.localizedDescription)")
        }
        let out = work.appendingPathComponent("backtest.out")
        let err = work.appendingPathComponent("backtest.err")
        let started = ContinuousClock.now
        let child = try ResearchChild.spawn(
            program: deskBinary.path, arguments: job.arguments, environment: environment, stdout: out.path,
            stderr: err.path)
        let ended = try await withTaskCancellationHandler {
            try await child.wait()
        } onCancel: {
            child.terminate()
        }
        let seconds = (ContinuousClock.now - started).seconds
        return Self.result(of: job, status: ended.status, seconds: seconds, cpuSeconds: ended.cpuSeconds)
    }

    /// A finished job's result, read from what it left in its work folder (`backtest.out`,
    /// `backtest.err`): the same wherever it ran.
    public static func result(of job: BacktestJob, status: Int32, seconds: Double, cpuSeconds: Double?)
        -> BacktestJobResult
    {
        let work = URL(fileURLWithPath: job.work)
        let stderrText = (try? String(contentsOf: work.appendingPathComponent("backtest.err"), encoding: .utf8)) ?? ""
        let tail = Self.tail(stderrText, lines: 20)
        if status == 0, let data = try? Data(contentsOf: work.appendingPathComponent("backtest.out")),
            let report = try? JSONDecoder().decode(BacktestReport.self, from: data)
        {
            return BacktestJobResult(
                id: job.id, params: job.params, report: report, failure: nil, logTail: [], seconds: seconds,
                cpuSeconds: cpuSeconds)
        }
        let failure = Self.failureMessage(stderrText, status: status)
        return BacktestJobResult(
            id: job.id, params: job.params, report: nil, failure: failure, logTail: tail, seconds: seconds,
            cpuSeconds: cpuSeconds)
    }

    /// The command's error line (`Error: …`), else how it ended.
    public static func failureMessage(_ stderr: String, status: Int32) -> String {
        let lines = stderr.split(separator: "\n", omittingEmptySubsequences: true)
        if let error = lines.last(where: { $0.hasPrefix("Error: ") }) { return String(error.dropFirst(7)) }
        if status == 0 { return "desk backtest printed no report" }
        return status > 128 ? "desk backtest ended by signal \(status - 128)" : "desk backtest exited with \(status)"
    }

    /// The last `lines` lines of `text`.
    static func tail(_ text: String, lines: Int) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines + 1).map(String.init)
            .filter { !$0.isEmpty }.suffix(lines).map { $0 }
    }
}

/// A child process of research: spawned in its own process group, waited for by a
/// thread of its own.
public final class ResearchChild: @unchecked Sendable {
    public let pid: pid_t
    private let ended = NSLock()
    private var result: Ended?
    private var waiters: [CheckedContinuation<Ended, Never>] = []

    public struct Ended: Sendable {
        /// The exit status, or 128 + the signal that ended it.
        public var status: Int32
        /// User and system time of it and the children it waited for.
        public var cpuSeconds: Double
    }

    private init(pid: pid_t) { self.pid = pid }

    public static func spawn(
        program: String, arguments: [String], environment: [String: String]?, stdout: String, stderr: String
    ) throws -> ResearchChild {
        try spawn(
            program: program, arguments: arguments, environment: environment, stdin: "/dev/null",
            stdout: .file(stdout), stderr: stderr)
    }

    /// Where a child's standard output goes.
    public enum Output: Sendable {
        /// This file, created or truncated.
        case file(String)
        /// This open descriptor of the parent (a pipe's write end), which the parent closes after the spawn.
        case descriptor(Int32)
    }

    /// A child reading the file `stdin`, writing its output to `stdout`, its errors to the file `stderr`.
    public static func spawn(
        program: String, arguments: [String], environment: [String: String]?, stdin: String, stdout: Output,
        stderr: String
    ) throws -> ResearchChild {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        switch stdout {
        case .file(let path): posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        case .descriptor(let descriptor): posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
        }
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Nothing else of the parent's: a desk's listening sockets, its ledger, its lock.
        if let closeFrom = Self.closeFrom { _ = closeFrom(&actions, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables =
            environment.map { $0.map { "\($0.key)=\($0.value)" } }
            ?? ProcessInfo.processInfo.environment
            .map { "\($0.key)=\($0.value)" }
        let envp = variables.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw ResearchFailure("cannot run \(program): \(String(cString: strerror(status)))")
        }
        let child = ResearchChild(pid: pid)
        let thread = Thread { child.reap() }
        thread.name = "research-wait-\(pid)"
        thread.start()
        return child
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not declare.
    private static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? =
        dlsym(
            nil, "posix_spawn_file_actions_addclosefrom_np"
        ).map {
            unsafeBitCast(
                $0, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
        }

    private func reap() {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let cpu =
            Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
        let outcome = Ended(status: code, cpuSeconds: cpu)
        ended.lock()
        result = outcome
        let waiting = waiters
        waiters = []
        ended.unlock()
        for waiter in waiting { waiter.resume(returning: outcome) }
    }

    public func wait() async throws -> Ended {
        await withCheckedContinuation { continuation in
            ended.lock()
            if let result {
                ended.unlock()
                continuation.resume(returning: result)
            } else {
                waiters.append(continuation)
                ended.unlock()
            }
        }
    }

    /// SIGTERM to its process group (it ends its strategies and exits).
    public func terminate() {
        ended.lock()
        let done = result != nil
        ended.unlock()
        if !done { kill(-pid, SIGTERM) }
    }
}

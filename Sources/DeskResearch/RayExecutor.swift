import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A Ray cluster's client address, `ray://HOST:PORT` (the head's `--ray-client-server-port`).
public struct RayAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// Reads `ray://HOST:PORT`, or says what is allowed.
    public init(_ text: String) throws(ResearchFailure) {
        let refusal = ResearchFailure(
            "--cluster \(text) is not a Ray client address: give ray://HOST:PORT (the head's client server port), "
                + "such as ray://10.0.0.5:10001")
        guard text.hasPrefix("ray://") else { throw refusal }
        let rest = text.dropFirst("ray://".count)
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
            (1...65535).contains(port)
        else { throw refusal }
        let host = String(rest[..<colon])
        guard !host.isEmpty, !host.contains("/"), !host.contains("@") else { throw refusal }
        self.host = host
        self.port = port
    }

    public var description: String { "ray://\(host):\(port)" }
}

/// Runs research's jobs as Ray tasks on a cluster: hands them to the Python driver
/// `python -m desk_client.ray_backtests` (a child process, its output read by a thread
/// of its own), which ships each job's strategies folder and files through Ray's object
/// store, runs the same `desk backtest` on a node (the `desk` installed there) and writes
/// what it left into the job's work folder here, as `LocalExecutor` leaves it. Each
/// finished job is one JSON line from the driver; its result is read from the work
/// folder as a local run's is. Cancelling the caller's task sends SIGTERM to the driver,
/// which cancels the tasks.
public struct RayExecutor: BacktestExecutor {
    /// The cluster.
    public var address: RayAddress
    /// The Python that has `desk_client` and `ray` (a path, or a name looked up on PATH).
    public var python: String
    /// The driver's environment; nil: this process's.
    public var environment: [String: String]?

    /// The driver module.
    public static let driver = "desk_client.ray_backtests"
    /// Where the driver's Python comes from when nothing is configured.
    public static let pythonVariable = "DESK_RAY_PYTHON"
    public static let defaultPython = "python3"

    public init(address: RayAddress, python: String = defaultPython, environment: [String: String]? = nil) {
        self.address = address
        self.python = python
        self.environment = environment
    }

    /// One line the driver prints for a finished job.
    struct FinishedLine: Decodable {
        var id: String
        var status: Int32?
        var seconds: Double
        var cpuSeconds: Double?
        var failure: String?

        /// The job's result: the driver's failure, else what the run left in its work folder.
        func result(of job: BacktestJob) -> BacktestJobResult {
            guard failure == nil, let status else {
                return BacktestJobResult(
                    id: job.id, params: job.params, report: nil,
                    failure: failure ?? "the Ray driver reported no exit status", logTail: [], seconds: seconds,
                    cpuSeconds: cpuSeconds)
            }
            return LocalExecutor.result(of: job, status: status, seconds: seconds, cpuSeconds: cpuSeconds)
        }
    }

    /// What the driver reads on stdin.
    struct Input: Encodable {
        struct Job: Encodable {
            var id: String
            var params: [String: String]
            var arguments: [String]
            var work: String
        }
        var jobs: [Job]
    }

    public func run(_ jobs: [BacktestJob], finished: @escaping @Sendable (BacktestJobResult) -> Void) async throws
        -> [BacktestJobResult]
    {
        guard !jobs.isEmpty else { return [] }
        let program = try Self.locate(python, environment: environment ?? ProcessInfo.processInfo.environment)
        let files = FileManager.default
        let folder = files.temporaryDirectory.appendingPathComponent("desk-ray-\(UUID().uuidString)")
        do {
            try files.createDirectory(at: folder, withIntermediateDirectories: true)
            let input = Input(
                jobs: jobs.map { .init(id: $0.id, params: $0.params, arguments: $0.arguments, work: $0.work) })
            try JSONEncoder().encode(input).write(to: folder.appendingPathComponent("jobs.json"))
        } catch {
            throw ResearchFailure(
                "cannot write the Ray driver's input in \(folder.path): \(error.localizedDescription)")
        }
        defer { try? files.removeItem(at: folder) }
        let errors = folder.appendingPathComponent("driver.err")
        var ends: [Int32] = [0, 0]
        // A socket pair rather than a pipe: made close-on-exec atomically, so no other child spawned meanwhile
        // inherits the write end (which would hold the stream open after the driver ended).
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw ResearchFailure("cannot make a pipe for the Ray driver: \(String(cString: strerror(errno)))")
        }
        let child: ResearchChild
        do {
            child = try ResearchChild.spawn(
                program: program,
                arguments: ["-m", Self.driver, "--address", address.description],
                environment: environment, stdin: folder.appendingPathComponent("jobs.json").path,
                stdout: .descriptor(ends[1]), stderr: errors.path)
        } catch {
            close(ends[0])
            close(ends[1])
            throw error
        }
        close(ends[1])
        let lines = LineReader.lines(of: ends[0])
        let byID = Dictionary(jobs.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var results: [String: BacktestJobResult] = [:]
        var unreadable: String?
        await withTaskCancellationHandler {
            for await line in lines {
                guard let data = line.data(using: .utf8),
                    let finishedLine = try? JSONDecoder().decode(FinishedLine.self, from: data),
                    let job = byID[finishedLine.id]
                else {
                    unreadable = unreadable ?? line
                    continue
                }
                let result = finishedLine.result(of: job)
                results[job.id] = result
                finished(result)
            }
        } onCancel: {
            child.terminate()
        }
        let ended = try await child.wait()
        try Task.checkCancellation()
        guard ended.status == 0, results.count == byID.count else {
            let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw ResearchFailure(
                Self.driverFailure(
                    stderr: text, status: ended.status, python: program, address: address, unreadable: unreadable,
                    missing: byID.count - results.count))
        }
        return jobs.map { results[$0.id]! }
    }

    /// Why the driver did not finish every job, in a sentence.
    static func driverFailure(
        stderr: String, status: Int32, python: String, address: RayAddress, unreadable: String?, missing: Int
    ) -> String {
        let lines = stderr.split(separator: "\n").map(String.init)
        if let said = lines.last(where: { $0.hasPrefix("desk-ray: ") }) {
            return String(said.dropFirst("desk-ray: ".count))
        }
        if stderr.contains("No module named desk_client") || stderr.contains("No module named 'desk_client'") {
            return "\(python) has no desk_client: install it there with Ray (pip install 'desk_client[ray]' from "
                + "clients/python), or set \(pythonVariable) to a Python that has both"
        }
        var message = "the Ray driver (\(python) -m \(driver) --address \(address)) "
        message += status == 0 ? "left \(missing) run(s) unreported" : "exited with \(status)"
        if let unreadable { message += "; it printed \(unreadable.prefix(200))" }
        if let last = lines.last(where: { !$0.isEmpty }) { message += "; its last error line: \(last)" }
        return message
    }

    /// `program` itself when it is a path, else the first executable of that name on PATH.
    static func locate(_ program: String, environment: [String: String]) throws(ResearchFailure) -> String {
        let files = FileManager.default
        if program.contains("/") {
            guard files.isExecutableFile(atPath: program) else {
                throw ResearchFailure(
                    "the Ray driver's Python \(program) is not an executable file (\(pythonVariable))")
            }
            return program
        }
        for folder in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(folder)/\(program)"
            if files.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ResearchFailure(
            "no \(program) on PATH for the Ray driver: set \(pythonVariable) to a Python with desk_client and ray")
    }
}

/// The lines a descriptor delivers, read by a thread of its own (never a Swift
/// concurrency thread); the stream ends at end of file, and the descriptor is closed.
enum LineReader {
    static func lines(of descriptor: Int32) -> AsyncStream<String> {
        AsyncStream { continuation in
            let thread = Thread {
                var pending: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 64 * 1024)
                while true {
                    let count = read(descriptor, &chunk, chunk.count)
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }
                    pending += chunk[0..<count]
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        continuation.yield(String(decoding: pending[..<newline], as: UTF8.self))
                        pending.removeSubrange(...newline)
                    }
                }
                if !pending.isEmpty { continuation.yield(String(decoding: pending, as: UTF8.self)) }
                close(descriptor)
                continuation.finish()
            }
            thread.name = "research-ray-lines"
            thread.start()
        }
    }
}

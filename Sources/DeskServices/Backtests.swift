import DeskAPI
import DeskCore
import DeskIdentity
import DeskLedger
import DeskResearch
import DeskRunner
import Foundation
import Logging
import ServiceLifecycle

/// Backtests members submit to the desk (`POST /backtests`): the use case every
/// face calls, and the `Service` that runs the queue.
///
/// A submission is checked (strategy, data, options), reserved under the caps by
/// `BacktestQueue` in the same actor step that checks them, put in place (the
/// strategy copied — or an uploaded one checked as a deploy would be — the data
/// and the sweep written into `<research data folder>/backtests/<id>/`), recorded
/// in the ledger and queued. Each runs as a child `desk backtest` of the desk's own
/// binary (`ResearchChild`: its own process group, a wait4 thread) with an
/// environment built from nothing, on the paper venue of its private desk, with the
/// desk's config file (the same caps and risk limits). Its CPU time is read from
/// /proc while it runs; past the member's budget of the day it is stopped. A member
/// sees and cancels their own; officers and the admin everyone's. A desk restart
/// keeps the queued ones queued and marks the ones that were running as failed.
public actor Backtests: Service {
    /// Where and how the desk runs backtests.
    public struct Settings: Sendable {
        public var research: ResearchSettings
        /// The research data folder: data files at its top, `feed/`, `backtests/`.
        public var dataFolder: URL
        /// The desk's config file (`--config` of every run), if it has one.
        public var configFile: String?
        /// The `desk` binary the runs are.
        public var deskBinary: URL
        /// The members' deployed strategies (nil: the desk runs none).
        public var strategiesDirectory: URL?
        /// The strategies' PYTHONPATH (`--python-path` of every run), as the desk's own strategies have it.
        public var pythonPath: String?
        /// The most an uploaded data file may hold (the config file's `strategies.upload` bytes).
        public var uploadBytes: Int
        /// The desk's own environment, which a run's is built from (only what `BacktestPlan.environment` keeps).
        public var deskEnvironment: [String: String]
        /// How often a running backtest's CPU time is read.
        public var cpuPollInterval: Duration

        public init(
            research: ResearchSettings, dataFolder: URL, configFile: String?, deskBinary: URL,
            strategiesDirectory: URL?, pythonPath: String? = nil, uploadBytes: Int,
            deskEnvironment: [String: String] = ProcessInfo.processInfo.environment,
            cpuPollInterval: Duration = .milliseconds(500)
        ) {
            self.research = research
            self.dataFolder = dataFolder
            self.configFile = configFile
            self.deskBinary = deskBinary
            self.strategiesDirectory = strategiesDirectory
            self.pythonPath = pythonPath
            self.uploadBytes = uploadBytes
            self.deskEnvironment = deskEnvironment
            self.cpuPollInterval = cpuPollInterval
        }
    }

    public nonisolated let settings: Settings
    let ledger: Ledger
    let deployer: StrategyDeployer?
    let logger: Logger
    private var queue: BacktestQueue
    private var records: [String: BacktestRecord] = [:]
    private var children: [String: ResearchChild] = [:]
    /// Running backtests a caller canceled, and ones stopped over their member's CPU budget.
    private var canceling: Set<String> = []
    private var overBudget: Set<String> = []
    private var loading: Task<Void, any Error>?
    private nonisolated let wakes: AsyncStream<Void>
    private nonisolated let wake: AsyncStream<Void>.Continuation

    /// The backtests of the desk whose ledger is `ledger`; `deployer` checks uploaded strategies.
    public init(settings: Settings, ledger: Ledger, deployer: StrategyDeployer?, logger: Logger) {
        self.settings = settings
        self.ledger = ledger
        self.deployer = deployer
        self.logger = logger
        queue = BacktestQueue(limits: BacktestQueue.Limits(settings.research))
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The largest `POST /backtests` body: an uploaded strategy and an uploaded data file (each
    /// within the upload limit, the deployer's too), base64, and the rest.
    public nonisolated var bodyLimit: Int { (settings.uploadBytes * 4 / 3 + 4) * 2 + 256 * 1024 }

    var backtestsFolder: URL { settings.dataFolder.appendingPathComponent("backtests") }

    // MARK: Restart

    /// Reads the ledger's backtests once: queued ones queue again, ones that were running failed.
    func loaded() async throws {
        if loading == nil {
            loading = Task { try await self.load() }
        }
        try await loading!.value
    }

    private func load() async throws {
        let now = Date()
        let today = BacktestPlan.newYorkDay(now)
        for var record in try await ledger.backtests() {
            switch BacktestStatus(rawValue: record.status) {
            case .running:
                // A desk killed while it ran left its child running: stopped now.
                let work = record.work
                try? await OffPool.run { Self.stopLeftOver(work: work) }
                record.status = BacktestStatus.failed.rawValue
                record.error = "the desk restarted while it ran"
                record.endedAt = now
                try await ledger.saveBacktest(record)
            case .queued: queue.restore(id: record.id, member: record.member)
            default: break
            }
            if let ended = record.endedAt, BacktestPlan.newYorkDay(ended) == today {
                let cpu = record.cpuSeconds.map { NSDecimalNumber(decimal: $0).doubleValue } ?? 0
                queue.restoreUsed(member: record.member, cpuSeconds: cpu, day: today)
            }
            records[record.id] = record
        }
        wake.yield()
    }

    /// The file where a running backtest's child's pid is, in its work folder.
    static let pidFile = "backtest.pid"

    /// Stops (SIGTERM to its process group) the `desk backtest` a killed desk left running in `work`,
    /// if the pid its file names is still that run (its command line names the work folder).
    static func stopLeftOver(work: String) {
        guard let text = try? String(contentsOfFile: work + "/" + pidFile, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
            let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
            String(decoding: command, as: UTF8.self).contains(work)
        else { return }
        kill(-pid, SIGTERM)
    }

    // MARK: Submitting

    /// Takes `submission` from `caller`: the queued backtest, or why not.
    public func submit(_ submission: BacktestSubmission, caller: Caller) async throws(BacktestRefusal) -> BacktestView {
        do { try await loaded() } catch { throw .unavailable("the ledger cannot be read: \(error)") }
        try Self.checkShape(submission)
        let id = "bt-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let work = backtestsFolder.appendingPathComponent(id)
        let flags = try BacktestPlan.flags(
            submission, research: settings.research, configFile: settings.configFile,
            sweepFile: work.appendingPathComponent("input/sweep-spec.json").path)
        // Checked and reserved in one step: two submissions at once cannot both pass a cap.
        if let cap = queue.submit(id: id, member: caller.member, day: BacktestPlan.newYorkDay(Date())) {
            throw .cap(cap)
        }
        let record: BacktestRecord
        do {
            record = try await prepare(submission, id: id, work: work, flags: flags, member: caller.member)
            try await saved(record)
        } catch {
            queue.finished(id: id, cpuSeconds: 0, day: queue.day)
            try? await OffPool.run { try FileManager.default.removeItem(at: work) }
            if let refusal = error as? BacktestRefusal { throw refusal }
            throw .unavailable("the backtest could not be put in place: \(error)")
        }
        queue.prepared(id: id)
        logger.info("backtest queued", metadata: ["member": "\(caller.member)", "backtest": "\(id)"])
        wake.yield()
        return await view(record)
    }

    /// The parts of a submission that are wrong whatever the desk holds.
    static func checkShape(_ submission: BacktestSubmission) throws(BacktestRefusal) {
        switch (submission.strategy, submission.archive) {
        case (nil, nil), (.some, .some):
            throw .invalid(
                "send exactly one of \"strategy\" (one of your deployed strategies, by name) and \"archive\" (a tar of a strategy folder, base64, with \"name\")"
            )
        case (nil, .some) where submission.name == nil:
            throw .invalid("an \"archive\" needs a \"name\": the strategy's name")
        default: break
        }
        if submission.data.isEmpty {
            throw .invalid(
                "\"data\" is empty: send at least one data set, {\"file\": NAME}, {\"recorded\": {\"from\": DAY, \"to\": DAY}} or {\"upload\": {\"name\": NAME, \"content\": BASE64}}"
            )
        }
        for set in submission.data {
            let given = [set.file != nil, set.recorded != nil, set.upload != nil].filter { $0 }.count
            if given != 1 {
                throw .invalid(
                    "each data set is exactly one of {\"file\": NAME}, {\"recorded\": {\"from\": DAY, \"to\": DAY}} or {\"upload\": {\"name\": NAME, \"content\": BASE64}}"
                )
            }
        }
        for set in submission.data {
            if let file = set.file { try BacktestPlan.checkDataName(file, what: "data file") }
            if let upload = set.upload { try BacktestPlan.checkDataName(upload.name, what: "uploaded data file") }
        }
        if let from = submission.from { _ = try BacktestPlan.checkDay(from, field: "from") }
        if let to = submission.to { _ = try BacktestPlan.checkDay(to, field: "to") }
    }

    /// Puts the backtest's strategy, data and sweep in `work/input/` and returns its record.
    func prepare(_ submission: BacktestSubmission, id: String, work: URL, flags: [String], member: String)
        async throws -> BacktestRecord
    {
        let input = work.appendingPathComponent("input")
        let strategies = input.appendingPathComponent("strategies")
        let dataFolder = settings.dataFolder
        try await OffPool.run {
            try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        }
        var files: [String] = []
        for (index, set) in submission.data.enumerated() {
            if let file = set.file {
                try BacktestPlan.checkDataName(file, what: "data file")
                let path = dataFolder.appendingPathComponent(file).path
                let known = try await OffPool.run { () -> [String]? in
                    var isFolder: ObjCBool = false
                    if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
                        return nil
                    }
                    return Self.dataFiles(in: dataFolder)
                }
                if let known {
                    throw BacktestRefusal.invalid(
                        "the desk has no data file \"\(file)\" in its research data folder; it has: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
                    )
                }
                files.append(path)
            } else if let recorded = set.recorded {
                let days = try BacktestPlan.days(from: recorded.from, to: recorded.to)
                let feed = dataFolder.appendingPathComponent("feed")
                let found = try await OffPool.run {
                    days.map { feed.appendingPathComponent("\($0).jsonl").path }.filter {
                        FileManager.default.fileExists(atPath: $0)
                    }
                }
                if found.isEmpty {
                    throw BacktestRefusal.invalid(
                        "no recorded feed for \(recorded.from) to \(recorded.to): the desk has no feed/YYYY-MM-DD.jsonl for those days in its research data folder"
                    )
                }
                // What was recorded when it was submitted, in whole lines: today's file grows meanwhile.
                let copies = try await OffPool.run {
                    try found.map { path in
                        let copy = input.appendingPathComponent(
                            "data-\(index)-recorded-\(URL(fileURLWithPath: path).lastPathComponent)")
                        try Self.copyWholeLines(from: URL(fileURLWithPath: path), to: copy)
                        return copy.path
                    }
                }
                files += copies
            } else if let upload = set.upload {
                try BacktestPlan.checkDataName(upload.name, what: "uploaded data file")
                guard let bytes = Data(base64Encoded: upload.content, options: .ignoreUnknownCharacters) else {
                    throw BacktestRefusal.invalid("upload \"\(upload.name)\": \"content\" is not base64")
                }
                if bytes.count > settings.uploadBytes {
                    throw BacktestRefusal.tooLarge(
                        "upload \"\(upload.name)\" is \(bytes.count) bytes; this desk takes at most \(settings.uploadBytes) bytes (strategies.upload.max_bytes)"
                    )
                }
                let path = input.appendingPathComponent("data-\(index)-\(upload.name)")
                try await OffPool.run { try bytes.write(to: path) }
                files.append(path.path)
            }
        }
        // The strategy last: an uploaded one is compiled, the dearest check.
        let (folder, name) = try await placeStrategy(submission, member: member, into: strategies)
        if let sweep = submission.sweep {
            let data = sweep.data
            let path = input.appendingPathComponent("sweep-spec.json")
            try await OffPool.run { try data.write(to: path) }
        }
        let job = BacktestJob(
            id: id, params: [:], strategiesDirectory: strategies.path, strategies: [folder], dataFiles: files,
            from: submission.from, to: submission.to,
            options: flags + (settings.pythonPath.map { ["--python-path", $0] } ?? []), work: work.path)
        return BacktestRecord(
            id: id, member: member, strategy: name, status: BacktestStatus.queued.rawValue, createdAt: Date(),
            work: work.path, options: job.arguments)
    }

    /// Copies the caller's deployed strategy, or checks and unpacks the uploaded one, into `strategies`:
    /// its folder name and the strategy's name.
    func placeStrategy(_ submission: BacktestSubmission, member: String, into strategies: URL) async throws
        -> (folder: String, name: String)
    {
        guard let root = settings.strategiesDirectory, let deployer else {
            throw BacktestRefusal.invalid(
                "this desk runs no strategies (desk serve --strategies-dir), so it has none of yours to backtest")
        }
        if let archive = submission.archive, let name = submission.name {
            guard let bytes = Data(base64Encoded: archive, options: .ignoreUnknownCharacters) else {
                throw BacktestRefusal.invalid("\"archive\" is not base64 (of a tar of the strategy's folder)")
            }
            do {
                let folder = try await deployer.unpack(
                    archive: Array(bytes), member: member, name: name, into: strategies)
                return (folder, name)
            } catch { throw BacktestRefusal.archive(error) }
        }
        let given = submission.strategy ?? ""
        let folder = try? StrategyDeployer.folder(member: member, name: given)
        let source = folder.map { root.appendingPathComponent($0) }
        let exists = try await OffPool.run { () -> Bool in
            guard let source else { return false }
            return FileManager.default.fileExists(atPath: source.appendingPathComponent("config.json").path)
                || FileManager.default.fileExists(atPath: source.appendingPathComponent("strategy.py").path)
        }
        guard exists, let folder else {
            let yours = try await OffPool.run {
                ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter {
                    StrategyDeployer.isDeployed(folder: $0, by: member)
                }.map { String($0.dropFirst(member.count + StrategyDeployer.separator.count)) }.sorted()
            }
            throw BacktestRefusal.noStrategy(name: given, yours: yours)
        }
        _ = try await OffPool.run {
            try StrategyCopies.prepare([:], from: root, names: [folder], into: strategies)
        }
        return (folder, String(folder.dropFirst(member.count + StrategyDeployer.separator.count)))
    }

    /// Copies `source` to `destination` up to its last newline (see `BacktestPlan.wholeLinesLength`).
    static func copyWholeLines(from source: URL, to destination: URL) throws {
        try FileManager.default.copyItem(at: source, to: destination)
        let handle = try FileHandle(forUpdating: destination)
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        let tailStart = size > 65_536 ? size - 65_536 : 0
        try handle.seek(toOffset: tailStart)
        let tail = try handle.readToEnd() ?? Data()
        let keep = BacktestPlan.wholeLinesLength(tail: tail, tailStart: Int(tailStart))
        if keep < Int(size) { try handle.truncate(atOffset: UInt64(keep)) }
    }

    /// The data files at the top of the research data folder.
    static func dataFiles(in folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { name in
            (try? BacktestPlan.checkDataName(name, what: "")) != nil
        }.sorted()
    }

    // MARK: Seeing

    /// The caller's backtests (an officer's or the admin's: everyone's), newest first.
    public func list(caller: Caller) async throws(BacktestRefusal) -> [BacktestView] {
        do { try await loaded() } catch { throw .unavailable("the ledger cannot be read: \(error)") }
        let visible = records.values.filter { caller.oversees || $0.member == caller.member }
            .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        var views: [BacktestView] = []
        for record in visible { views.append(await view(record)) }
        return views
    }

    /// One backtest the caller may see.
    public func get(_ id: String, caller: Caller) async throws(BacktestRefusal) -> BacktestView {
        await view(try visible(id, caller: caller))
    }

    func visible(_ id: String, caller: Caller) async throws(BacktestRefusal) -> BacktestRecord {
        do { try await loaded() } catch { throw .unavailable("the ledger cannot be read: \(error)") }
        guard let record = records[id], caller.oversees || record.member == caller.member else {
            throw .notFound(id: id)
        }
        return record
    }

    /// The path of a result file the caller may read: `name` one of `BacktestPlan.servedFiles`,
    /// or of a sweep's `run` (four digits) one of `BacktestPlan.runFiles`.
    public func file(_ id: String, run: String? = nil, name: String, caller: Caller) async throws(BacktestRefusal)
        -> URL
    {
        let record = try await visible(id, caller: caller)
        var folder = URL(fileURLWithPath: record.work)
        var served = BacktestPlan.servedFiles
        if let run {
            guard BacktestPlan.isRun(run) else {
                throw .invalid("run \"\(run)\" is not a sweep's run: four digits, such as 0001")
            }
            folder = folder.appendingPathComponent("runs").appendingPathComponent(run)
            served = BacktestPlan.runFiles
        }
        let path = folder.appendingPathComponent(name)
        var exists = false
        if served.contains(name) {
            exists = (try? await OffPool.run { FileManager.default.fileExists(atPath: path.path) }) ?? false
        }
        guard exists else {
            let (names, place) = (served, folder)
            let present = (try? await OffPool.run { Self.present(names, in: place) }) ?? []
            throw .noFile(id: id, name: name, served: present)
        }
        return path
    }

    static func present(_ names: [String], in folder: URL) -> [String] {
        names.filter { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
    }

    /// The view of `record`: progress from `progress.json` (sweeps, walk-forwards), files present.
    func view(_ record: BacktestRecord) async -> BacktestView {
        let work = URL(fileURLWithPath: record.work)
        let (progressFile, files) =
            (try? await OffPool.run {
                (
                    try? Data(contentsOf: work.appendingPathComponent("progress.json")),
                    Self.present(BacktestPlan.servedFiles, in: work)
                )
            }) ?? (nil, [])
        let status = BacktestStatus(rawValue: record.status) ?? .failed
        var progress = BacktestView.Progress(runsDone: status == .completed ? 1 : 0, runsTotal: 1)
        if let progressFile, let read = try? JSONDecoder().decode(BacktestView.Progress.self, from: progressFile) {
            progress = read
        }
        let running = queue.entries.first { $0.id == record.id && $0.stage == .running }?.cpuSeconds
        let cpu = running.map { Decimal(Int(($0 * 1000).rounded())) / 1000 } ?? record.cpuSeconds
        let result =
            status == .completed
            ? ["walkforward.json", "sweep.json", "report.json"].first { files.contains($0) } : nil
        return BacktestView(
            id: record.id, member: record.member, strategy: record.strategy, status: status,
            createdAt: UTCTimestamp.iso8601(record.createdAt),
            startedAt: record.startedAt.map { UTCTimestamp.iso8601($0) },
            endedAt: record.endedAt.map { UTCTimestamp.iso8601($0) }, progress: progress,
            cpuSeconds: cpu.map { ExactDecimal.plain($0) }, error: record.error, result: result, files: files)
    }

    // MARK: Canceling

    /// Cancels a backtest the caller may see: out of the queue, or its run stopped (SIGTERM to its group).
    public func cancel(_ id: String, caller: Caller) async throws(BacktestRefusal) -> BacktestView {
        var record = try await visible(id, caller: caller)
        switch queue.cancel(id: id) {
        case .none: return await view(record)
        case .dequeued: break
        case .terminate:
            canceling.insert(id)
            children[id]?.terminate()
        }
        record.status = BacktestStatus.canceled.rawValue
        record.error = caller.member == record.member ? "canceled" : "canceled by \(caller.member)"
        record.endedAt = Date()
        do { try await saved(record) } catch { throw .unavailable("the ledger cannot be written: \(error)") }
        logger.info("backtest canceled", metadata: ["member": "\(record.member)", "backtest": "\(id)"])
        wake.yield()
        return await view(record)
    }

    private func saved(_ record: BacktestRecord) async throws {
        try await ledger.saveBacktest(record)
        records[record.id] = record
    }

    // MARK: Running

    /// Runs the queue until the desk shuts down; the running backtests are stopped then
    /// (they stay `running` in the ledger, and fail at the next start).
    public func run() async throws {
        try await loaded()
        await withTaskGroup(of: Void.self) { group in
            await withGracefulShutdownHandler {
                for await _ in wakes {
                    for id in queue.next() { group.addTask { await self.execute(id) } }
                }
            } onGracefulShutdown: { [wake] in
                wake.finish()
            }
            group.cancelAll()
        }
    }

    /// One backtest, from its start to its end.
    private func execute(_ id: String) async {
        guard var record = records[id] else { return }
        if canceling.contains(id) {
            await ended(id, status: nil, cpuSeconds: 0, failure: nil)
            return
        }
        record.status = BacktestStatus.running.rawValue
        record.startedAt = Date()
        let work = URL(fileURLWithPath: record.work)
        let child: ResearchChild
        do {
            try await saved(record)
            child = try ResearchChild.spawn(
                program: settings.deskBinary.path, arguments: record.options,
                environment: BacktestPlan.environment(
                    from: settings.deskEnvironment, home: work.path, rayPython: settings.research.rayPython),
                stdout: work.appendingPathComponent("backtest.out").path,
                stderr: work.appendingPathComponent("backtest.err").path)
        } catch {
            await ended(id, status: nil, cpuSeconds: 0, failure: "the backtest could not start: \(error)")
            return
        }
        children[id] = child
        let pidFile = work.appendingPathComponent(Self.pidFile)
        try? await OffPool.run { try Data("\(child.pid)\n".utf8).write(to: pidFile) }
        logger.info("backtest started", metadata: ["member": "\(record.member)", "backtest": "\(id)"])
        if canceling.contains(id) { child.terminate() }
        let poll = settings.cpuPollInterval
        let outcome = await withTaskCancellationHandler {
            await withTaskGroup(of: ResearchChild.Ended?.self) { group in
                group.addTask { try? await child.wait() }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: poll)
                        let seconds = (try? await OffPool.run { ProcessTreeCPU.seconds(root: child.pid) }) ?? 0
                        if await self.used(id, seconds) { child.terminate() }
                    }
                    return nil
                }
                let ended = await group.next() ?? nil
                group.cancelAll()
                return ended
            }
        } onCancel: {
            child.terminate()
        }
        children[id] = nil
        if Task.isCancelled && !canceling.contains(id) { return }  // the desk stops: a restart fails it
        let measured = queue.entries.first { $0.id == id }?.cpuSeconds ?? 0
        await ended(id, status: outcome?.status, cpuSeconds: max(measured, outcome?.cpuSeconds ?? 0), failure: nil)
    }

    /// Notes a running backtest's CPU time; whether it passed its member's budget (stop it).
    private func used(_ id: String, _ seconds: Double) -> Bool {
        guard queue.used(id: id, cpuSeconds: seconds), !overBudget.contains(id) else { return false }
        overBudget.insert(id)
        return true
    }

    /// Records how `id` ended: canceled, over the budget, completed, or failed.
    private func ended(_ id: String, status: Int32?, cpuSeconds: Double, failure: String?) async {
        let now = Date()
        queue.finished(id: id, cpuSeconds: cpuSeconds, day: BacktestPlan.newYorkDay(now))
        defer { wake.yield() }
        guard var record = records[id] else { return }
        let work = URL(fileURLWithPath: record.work)
        record.cpuSeconds = Decimal(Int((cpuSeconds * 1000).rounded())) / 1000
        if canceling.remove(id) != nil {
            record.status = BacktestStatus.canceled.rawValue
        } else {
            record.endedAt = now
            if overBudget.remove(id) != nil {
                record.status = BacktestStatus.failed.rawValue
                record.error =
                    "over the CPU budget: \(record.member)'s backtests used \(Int(queue.cpuSeconds(member: record.member))) CPU seconds today, New York time (research.member_cpu_seconds_per_day is \(settings.research.memberCPUSecondsPerDay))"
            } else if let failure {
                record.status = BacktestStatus.failed.rawValue
                record.error = failure
            } else {
                let stderr =
                    (try? await OffPool.run {
                        (try? String(contentsOf: work.appendingPathComponent("backtest.err"), encoding: .utf8)) ?? ""
                    }) ?? ""
                let results =
                    (try? await OffPool.run {
                        Self.present(["report.json", "sweep.json", "walkforward.json"], in: work)
                    })
                    ?? []
                if status == 0 && !results.isEmpty {
                    record.status = BacktestStatus.completed.rawValue
                } else {
                    record.status = BacktestStatus.failed.rawValue
                    record.error = LocalExecutor.failureMessage(stderr, status: status ?? 1)
                }
            }
        }
        do { try await saved(record) } catch {
            logger.error(
                "backtest: the ledger cannot be written", metadata: ["backtest": "\(id)", "error": "\(error)"])
        }
        logger.info(
            "backtest ended",
            metadata: ["member": "\(record.member)", "backtest": "\(id)", "status": "\(record.status)"])
    }
}

import DeskCore
import Foundation
import Logging

/// Why a deploy, rollback or delete was refused: what was wrong and what is allowed.
public struct DeployProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP turns these into 400, 403, 404, 409, 413 and 422.
    public enum Kind: Sendable, Equatable {
        case badName, forbidden, notFound, conflict, tooLarge, invalid, unavailable
    }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// What a deploy or rollback put in place.
public struct Deployment: Sendable, Equatable {
    /// The folder name, `<member>--<name>`.
    public var folder: String
    public var member: String
    public var files: Int
    public var bytes: Int
    /// An earlier version was kept to roll back to.
    public var previousKept: Bool
}

/// Puts members' strategies into the strategies folder from archives.
///
/// A member's strategy `trend` lives in the folder `alice--trend`: the member's
/// name, two dashes, the strategy's name (which may not hold two dashes itself),
/// so no member's name can ever land in another's folder. Every deploy is
/// unpacked into a staging folder inside `.deploys/` of the strategies folder
/// (discovery skips dot folders; the sandbox hides the whole strategies folder),
/// checked there — config.json by `StrategyConfig`'s rules with the member
/// forced to the deploying one, `strategy.py` compiled (never run) by the
/// interpreter inside the strategies' sandbox, as an unprivileged uid, with the
/// member's memory and CPU limits and a deadline — and only then moved into
/// place, the version it replaces kept in `.deploys/previous/`. A refused deploy
/// leaves nothing behind.
///
/// The deployer is an actor, but a deploy awaits its compile, so deploys
/// interleave: each reserves its folder (and, for a new strategy, a place
/// under the member's `max_strategies`) before its first await and returns it
/// when it ends, so concurrent deploys never pass the cap together. Compiles run
/// one at a time per member and at most `concurrentCompiles` at once desk-wide;
/// the others wait without holding a thread.
public actor StrategyDeployer {
    public let strategiesDirectory: URL
    let python: String
    public let limits: ArchiveLimits
    public let caps: MemberCapsPolicy
    /// The strategies' sandbox (the supervisor's plan), which compiles run in.
    let sandbox: SandboxPlan
    let compileTimeout: Duration
    let logger: Logger
    /// Deploys under way: folder → member.
    private var deploying: [String: String] = [:]
    private var compiles: CompileSlots<CheckedContinuation<Void, Never>>

    public init(
        strategiesDirectory: URL, python: String, sandbox: SandboxPlan, limits: ArchiveLimits = ArchiveLimits(),
        caps: MemberCapsPolicy = MemberCapsPolicy(), compileTimeout: Duration = .seconds(20),
        concurrentCompiles: Int = 2, logger: Logger
    ) {
        self.strategiesDirectory = strategiesDirectory
        self.python = python
        self.sandbox = sandbox
        self.limits = limits
        self.caps = caps
        self.compileTimeout = compileTimeout
        self.compiles = CompileSlots(width: concurrentCompiles)
        self.logger = logger
    }

    /// The separator between a member's name and their strategy's in its folder name.
    public static let separator = "--"

    /// `<member>--<name>`, or why `name` cannot be one of `member`'s strategies.
    public static func folder(member: String, name: String) throws(DeployProblem) -> String {
        var name = name
        if name.hasPrefix(member + separator) { name.removeFirst(member.count + separator.count) }
        let folder = member + separator + name
        guard Identifier.isSafe(name), !name.contains(separator), !name.contains("."), Identifier.isSafe(folder)
        else {
            throw DeployProblem(
                .badName,
                "strategy name \(OrderValidation.quoted(name)) is not allowed: \(nameRule), and at most \(Identifier.maximumLength - member.count - separator.count) characters for member \(member)"
            )
        }
        return folder
    }

    /// A deployed strategy's name in words: a safe identifier without dots or `--`.
    public static let nameRule =
        "letters, digits, '_' and '-' (a letter or digit first; no dots, no \"--\")"

    /// Whether `folder` is in `member`'s own namespace (`<member>--…`).
    public static func isDeployed(folder: String, by member: String) -> Bool {
        folder.hasPrefix(member + separator) && !folder.dropFirst(member.count + 2).contains(separator)
    }

    var root: URL { strategiesDirectory.resolvingSymlinksInPath().standardizedFileURL }
    var deploys: URL { root.appendingPathComponent(".deploys") }
    func previous(_ folder: String) -> URL { deploys.appendingPathComponent("previous").appendingPathComponent(folder) }

    /// Deploys `archive` as `member`'s strategy `name`. `replacing`: a new
    /// version (PUT) — it may also be the first; otherwise the strategy must be new (POST).
    public func deploy(archive: [UInt8], member: String, name: String, replacing: Bool) async throws(DeployProblem)
        -> Deployment
    {
        let folder = try Self.folder(member: member, name: name)
        let target = root.appendingPathComponent(folder)
        let manager = FileManager.default
        // Checked and reserved before the first await: no other deploy passes between.
        try notUnderWay(folder)
        let exists = manager.fileExists(atPath: target.path)
        if exists && !replacing {
            throw DeployProblem(
                .conflict,
                "\(folder) is already deployed; send a new version with PUT /strategies/\(folder) (desk strategies deploy replaces it)"
            )
        }
        if !exists, let cap = caps.caps(for: member).maxStrategies {
            let owned = Set(Self.strategies(of: member, in: root)).union(
                deploying.filter { $0.value == member }.keys
            ).sorted()
            if owned.count >= cap {
                throw DeployProblem(
                    .forbidden,
                    "member \(member) may have at most \(cap) \(cap == 1 ? "strategy" : "strategies") on this desk (max_strategies) and has \(owned.count) (\(owned.joined(separator: ", "))), counting deploys under way; delete one first"
                )
            }
        }
        deploying[folder] = member
        defer { deploying[folder] = nil }
        let entries = try StrategyArchive.read(archive, limits: limits)
        let staging = try await stage(entries, member: member, folder: folder)
        defer { try? manager.removeItem(at: staging) }
        // In place: the current version becomes the previous one.
        let kept = previous(folder)
        do {
            try manager.createDirectory(at: kept.deletingLastPathComponent(), withIntermediateDirectories: true)
            if exists {
                try? manager.removeItem(at: kept)
                try manager.moveItem(at: target, to: kept)
            }
            do { try manager.moveItem(at: staging, to: target) } catch {
                if exists { try? manager.moveItem(at: kept, to: target) }
                throw error
            }
        } catch {
            throw DeployProblem(.unavailable, "could not put \(folder) in place: \(error.localizedDescription)")
        }
        // What is in place (config.json included, as written), as a rollback counts it.
        let (files, bytes) = Self.size(of: target)
        logger.info(
            "strategy deployed", metadata: ["member": "\(member)", "strategy": "\(folder)", "files": "\(files)"])
        return Deployment(folder: folder, member: member, files: files, bytes: bytes, previousKept: exists)
    }

    /// Checks `archive` exactly as a deploy of `member`'s strategy `name` (the
    /// archive's limits, config.json with the member forced, strategy.py compiled
    /// in the sandbox) and puts the folder in `destination` instead of the
    /// strategies folder: a submitted backtest's copy. Returns the folder's name.
    public func unpack(archive: [UInt8], member: String, name: String, into destination: URL)
        async throws(DeployProblem) -> String
    {
        let folder = try Self.folder(member: member, name: name)
        let entries = try StrategyArchive.read(archive, limits: limits)
        let staging = try await stage(entries, member: member, folder: folder)
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: destination, withIntermediateDirectories: true)
            try manager.moveItem(at: staging, to: destination.appendingPathComponent(folder))
        } catch {
            try? manager.removeItem(at: staging)
            throw DeployProblem(
                .unavailable, "could not copy \(folder) for the backtest: \(error.localizedDescription)")
        }
        return folder
    }

    /// Refuses a second deploy, a rollback or a delete of `folder` while a deploy of it is under way.
    func notUnderWay(_ folder: String) throws(DeployProblem) {
        if deploying[folder] != nil {
            throw DeployProblem(
                .conflict, "a deploy of \(folder) is under way; try again once it has finished")
        }
    }

    /// Puts the kept previous version of `folder` back (the current one becomes the previous).
    public func rollback(folder: String, member: String) throws(DeployProblem) -> Deployment {
        try notUnderWay(folder)
        let manager = FileManager.default
        let target = root.appendingPathComponent(folder)
        let kept = previous(folder)
        guard manager.fileExists(atPath: kept.path) else {
            throw DeployProblem(.notFound, "\(folder) has no previous version to roll back to")
        }
        let swap = deploys.appendingPathComponent("rollback-\(UUID().uuidString)")
        do {
            let hadCurrent = manager.fileExists(atPath: target.path)
            if hadCurrent { try manager.moveItem(at: target, to: swap) }
            try manager.moveItem(at: kept, to: target)
            if hadCurrent { try manager.moveItem(at: swap, to: kept) }
        } catch {
            throw DeployProblem(.unavailable, "could not roll \(folder) back: \(error.localizedDescription)")
        }
        let (files, bytes) = Self.size(of: target)
        logger.info("strategy rolled back", metadata: ["member": "\(member)", "strategy": "\(folder)"])
        return Deployment(folder: folder, member: member, files: files, bytes: bytes, previousKept: true)
    }

    /// Removes `folder` and its previous version.
    public func delete(folder: String) throws(DeployProblem) {
        try notUnderWay(folder)
        let manager = FileManager.default
        let target = root.appendingPathComponent(folder)
        guard manager.fileExists(atPath: target.path) else {
            throw DeployProblem(.notFound, "no strategy folder \(folder)")
        }
        do {
            try manager.removeItem(at: target)
            try? manager.removeItem(at: previous(folder))
        } catch {
            throw DeployProblem(.unavailable, "could not delete \(folder): \(error.localizedDescription)")
        }
    }

    /// The strategies folder names `member` owns: deployed in their namespace, or whose config.json names them.
    static func strategies(of member: String, in root: URL) -> [String] {
        let report = StrategyDiscovery.discover(in: root)
        var names = Set(report.strategies.filter { $0.config.member == member }.map(\.name))
        names.formUnion(report.problems.keys.filter { isDeployed(folder: $0, by: member) })
        return names.sorted()
    }

    /// Unpacks `entries` into a new staging folder and checks it; on any refusal nothing is left.
    func stage(_ entries: [ArchiveEntry], member: String, folder: String) async throws(DeployProblem) -> URL {
        let manager = FileManager.default
        let staging = deploys.appendingPathComponent("staging-\(UUID().uuidString)")
        do {
            try manager.createDirectory(at: deploys, withIntermediateDirectories: true)
            chmod(deploys.path, 0o700)
            try manager.createDirectory(at: staging, withIntermediateDirectories: false)
            for entry in entries {
                let url = staging.appendingPathComponent(entry.path)
                switch entry.kind {
                case .folder: try manager.createDirectory(at: url, withIntermediateDirectories: true)
                case .file:
                    try manager.createDirectory(
                        at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    guard manager.createFile(atPath: url.path, contents: Data(entry.contents)) else {
                        throw DeployProblem(.unavailable, "could not write \(entry.path)")
                    }
                }
            }
            let config = try checkConfig(in: staging, entries: entries, member: member, folder: folder)
            try await compile(in: staging, member: member, limits: caps.caps(for: member).clamp(config.limits))
            if case .failure(let problem) = StrategyDiscovery.load(name: folder, folder: staging, root: deploys) {
                throw DeployProblem(.invalid, problem.description)
            }
        } catch let problem as DeployProblem {
            try? manager.removeItem(at: staging)
            throw problem
        } catch {
            try? manager.removeItem(at: staging)
            throw DeployProblem(.unavailable, "could not unpack the archive: \(error.localizedDescription)")
        }
        return staging
    }

    /// config.json by `StrategyConfig`'s rules, naming `member` (written in when it names nobody;
    /// refused when it names someone else); the member's caps on its limits.
    @discardableResult
    func checkConfig(in staging: URL, entries: [ArchiveEntry], member: String, folder: String) throws(DeployProblem)
        -> StrategyConfig
    {
        guard entries.contains(where: { $0.path == "strategy.py" && $0.kind == .file }) else {
            throw DeployProblem(
                .invalid,
                "the archive has no strategy.py at its top (files: \(entries.prefix(5).map(\.path).joined(separator: ", "))\(entries.count > 5 ? ", …" : ""))"
            )
        }
        let configFile = staging.appendingPathComponent("config.json")
        var bytes = Array(entries.first { $0.path == "config.json" && $0.kind == .file }?.contents ?? Array("{}".utf8))
        let document: StrictJSON.Document
        do { document = try StrictJSON.parse(bytes) } catch {
            throw DeployProblem(.invalid, "config.json:\(error.line):\(error.column): not valid JSON: \(error.message)")
        }
        guard case .object(let members) = document.root.value else {
            throw DeployProblem(.invalid, "config.json must be a JSON object such as {\"member\": \"\(member)\"}")
        }
        let keys = Set(members.map(\.key))
        if keys.isDisjoint(with: ["member", "user_id"]) {
            // Names nobody: the deploying member, written in.
            let rest = bytes.drop { $0 != UInt8(ascii: "{") }.dropFirst()
            bytes = Array("{\"member\": \"\(member)\"\(members.isEmpty ? "" : ",")".utf8) + rest
        }
        let config: StrategyConfig
        switch StrategyConfig.parse(bytes, folder: folder, path: "config.json") {
        case .success(let parsed): config = parsed
        case .failure(let problem): throw DeployProblem(.invalid, problem.description)
        }
        guard config.member == member else {
            throw DeployProblem(
                .forbidden,
                "config.json names member \(OrderValidation.quoted(config.member)), but you deploy as \(OrderValidation.quoted(member)): a strategy trades as the member who deploys it; set \"member\" (or \"user_id\") to \"\(member)\" or leave it out"
            )
        }
        if let problem = caps.caps(for: member).problem(with: config.limits, member: member) {
            throw DeployProblem(.forbidden, "config.json: \(problem)")
        }
        guard FileManager.default.createFile(atPath: configFile.path, contents: Data(bytes)) else {
            throw DeployProblem(.unavailable, "could not write config.json")
        }
        return config
    }

    /// What the interpreter runs to check `strategy.py` in its working folder: it
    /// compiles the source and never runs it. Exit 1: the source is wrong (the
    /// reason on stderr); 3: compiling it needs more memory than the limit.
    static let compileCheck = """
        import sys
        try:
            compile(open('strategy.py', 'rb').read(), 'strategy.py', 'exec', dont_inherit=True)
        except MemoryError:
            sys.exit(3)
        except SyntaxError as e:
            print(f'strategy.py line {e.lineno}: {e.msg}', file=sys.stderr)
            sys.exit(1)
        except Exception as e:
            print(f'strategy.py: {type(e).__name__}: {e}', file=sys.stderr)
            sys.exit(1)
        """

    /// Compiles (never runs) `strategy.py` in `staging` inside the sandbox, with
    /// `limits` (the member's, as the strategy would run) and `compileTimeout`;
    /// waits its turn first (one compile per member, `concurrentCompiles` desk-wide).
    func compile(in staging: URL, member: String, limits: StrategyLimits) async throws(DeployProblem) {
        if let problem = sandbox.report.problem {
            throw DeployProblem(
                .unavailable, "strategy.py cannot be checked: \(SandboxUnavailable(reason: problem).description)")
        }
        await enterCompile(member)
        let outcome = await runCompile(in: staging, member: member, limits: limits)
        leaveCompile(member)
        try outcome.get()
    }

    private func enterCompile(_ member: String) async {
        if compiles.admit(member) { return }
        await withCheckedContinuation { compiles.wait(member, $0) }
    }

    private func leaveCompile(_ member: String) {
        for waiter in compiles.leave(member) { waiter.resume() }
    }

    /// Runs the compile check through the sandbox launcher as the strategies' probe
    /// uid (never the desk's root); what it printed and how it ended, as a refusal.
    func runCompile(in staging: URL, member: String, limits: StrategyLimits) async -> Result<Void, DeployProblem> {
        let manager = FileManager.default
        let scratch = deploys.appendingPathComponent("compile-\(UUID().uuidString)")
        defer { try? manager.removeItem(at: scratch) }
        do { try manager.createDirectory(at: scratch, withIntermediateDirectories: true) } catch {
            return .failure(DeployProblem(.unavailable, "could not prepare the compile: \(error.localizedDescription)"))
        }
        let uid = sandbox.options.probeUID
        let launch = LaunchSpec(
            name: "compile", member: member, program: [python, "-I", "-S", "-B", "-c", Self.compileCheck],
            workingDirectory: staging, environment: ["PATH": "/usr/bin:/bin"], limits: limits,
            log: StrategyLog(path: "/dev/null"), user: sandbox.switchesUser ? StrategyUser(uid: uid, gid: uid) : nil,
            home: scratch, hiddenPaths: [root.path])
        var spec = sandbox.spec(for: launch)
        if !sandbox.options.enabled {
            // No sandbox (`--no-sandbox`): still the memory and CPU limits.
            spec.limits = [
                .init(.addressSpace, limits.memoryBytes ?? StrategyLimits.defaultAddressSpace),
                .init(.cpuSeconds, limits.cpuSeconds),
            ]
        }
        let run = CompileProcess(launcher: sandbox.launcher)
        let ended: CompileProcess.Outcome
        do { ended = try await run.run(spec: spec.encoded(), timeout: compileTimeout) } catch {
            return .failure(
                DeployProblem(
                    .unavailable, "could not run \(python) to compile strategy.py: \(error.localizedDescription)"))
        }
        let memory = MemberCaps.size(limits.memoryBytes ?? StrategyLimits.defaultAddressSpace)
        switch ended {
        case .exited(0, _): return .success(())
        case .timedOut:
            return .failure(
                DeployProblem(
                    .invalid,
                    "strategy.py took longer than \(compileTimeout) to compile (the deploy's compile deadline); make it smaller or simpler"
                ))
        case .exited(3, _):
            return .failure(
                DeployProblem(
                    .invalid,
                    "strategy.py is too large or too deeply nested to compile within the memory limit (\(memory) of address space: config.json's limits.memory, within the member's cap); make it smaller or simpler"
                ))
        case .exited(1, let output):
            let reason = output.split(separator: "\n").last.map(String.init) ?? "exit status 1"
            return .failure(DeployProblem(.invalid, "strategy.py does not compile: \(reason)"))
        case .exited(126, let output):
            return .failure(
                DeployProblem(
                    .unavailable,
                    "strategy.py cannot be checked: the sandbox could not be set up (\(output.split(separator: "\n").last ?? "no reason given"))"
                ))
        case .exited(let status, let output):
            let said = output.split(separator: "\n").last.map { ": \($0)" } ?? ""
            let how = status > 128 ? "ended by signal \(status - 128)" : "ended with status \(status)"
            return .failure(
                DeployProblem(
                    .invalid,
                    "compiling strategy.py \(how) within its limits (\(memory) of address space, \(limits.cpuSeconds) CPU seconds)\(said)"
                ))
        }
    }

    static func size(of folder: URL) -> (files: Int, bytes: Int) {
        var files = 0
        var bytes = 0
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.fileSizeKey])
        while let url = enumerator?.nextObject() as? URL {
            if let size = try? url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]),
                size.isRegularFile == true
            {
                files += 1
                bytes += size.fileSize ?? 0
            }
        }
        return (files, bytes)
    }
}

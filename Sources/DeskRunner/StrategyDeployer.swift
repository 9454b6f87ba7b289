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
/// forced to the deploying one, `strategy.py` compiled by the interpreter with an
/// empty environment (nothing of it runs) — and only then moved into place, the
/// version it replaces kept in `.deploys/previous/`. A refused deploy leaves
/// nothing behind. One deploy at a time (an actor).
public actor StrategyDeployer {
    public let strategiesDirectory: URL
    let python: String
    public let limits: ArchiveLimits
    public let caps: MemberCapsPolicy
    let compileTimeout: Duration
    let logger: Logger

    public init(
        strategiesDirectory: URL, python: String, limits: ArchiveLimits = ArchiveLimits(),
        caps: MemberCapsPolicy = MemberCapsPolicy(), compileTimeout: Duration = .seconds(20), logger: Logger
    ) {
        self.strategiesDirectory = strategiesDirectory
        self.python = python
        self.limits = limits
        self.caps = caps
        self.compileTimeout = compileTimeout
        self.logger = logger
    }

    /// The separator between a member's name and their strategy's in its folder name.
    public static let separator = "--"

    /// `<member>--<name>`, or why `name` cannot be one of `member`'s strategies.
    public static func folder(member: String, name: String) throws(DeployProblem) -> String {
        var name = name
        if name.hasPrefix(member + separator) { name.removeFirst(member.count + separator.count) }
        let folder = member + separator + name
        guard Identifier.isSafe(name), !name.contains(separator), Identifier.isSafe(folder) else {
            throw DeployProblem(
                .badName,
                "strategy name \(OrderValidation.quoted(name)) is not allowed: \(Identifier.rule), without \"--\", and at most \(Identifier.maximumLength - member.count - separator.count) characters for member \(member)"
            )
        }
        return folder
    }

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
        let exists = manager.fileExists(atPath: target.path)
        if exists && !replacing {
            throw DeployProblem(
                .conflict,
                "\(folder) is already deployed; send a new version with PUT /strategies/\(folder) (desk strategies deploy replaces it)"
            )
        }
        if !exists, let cap = caps.caps(for: member).maxStrategies {
            let owned = Self.strategies(of: member, in: root)
            if owned.count >= cap {
                throw DeployProblem(
                    .forbidden,
                    "member \(member) has \(owned.count) strategies (\(owned.joined(separator: ", "))), the most this desk allows; delete one first"
                )
            }
        }
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
        let files = entries.filter { $0.kind == .file }
        logger.info(
            "strategy deployed",
            metadata: ["member": "\(member)", "strategy": "\(folder)", "files": "\(files.count)"])
        return Deployment(
            folder: folder, member: member, files: files.count, bytes: files.reduce(0) { $0 + $1.contents.count },
            previousKept: exists)
    }

    /// Puts the kept previous version of `folder` back (the current one becomes the previous).
    public func rollback(folder: String, member: String) throws(DeployProblem) -> Deployment {
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
            try checkConfig(in: staging, entries: entries, member: member, folder: folder)
            try await compile(staging.appendingPathComponent("strategy.py"))
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
    func checkConfig(in staging: URL, entries: [ArchiveEntry], member: String, folder: String) throws(DeployProblem) {
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
    }

    /// Compiles (never runs) `script` with the interpreter, started with an empty environment.
    func compile(_ script: URL) async throws(DeployProblem) {
        let check = """
            import sys
            try:
                compile(open(sys.argv[1], 'rb').read(), 'strategy.py', 'exec', dont_inherit=True)
            except SyntaxError as e:
                print(f'strategy.py line {e.lineno}: {e.msg}', file=sys.stderr)
                sys.exit(1)
            except Exception as e:
                print(f'strategy.py: {e}', file=sys.stderr)
                sys.exit(1)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python.hasPrefix("/") ? python : "/usr/bin/env")
        process.arguments = (python.hasPrefix("/") ? [] : [python]) + ["-I", "-S", "-B", "-c", check, script.path]
        process.environment = [:]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw DeployProblem(.unavailable, "could not run \(python) to compile strategy.py: \(error)")
        }
        let deadline = ContinuousClock.now + compileTimeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                while process.isRunning { try? await Task.sleep(for: .milliseconds(5)) }
                throw DeployProblem(.invalid, "strategy.py took longer than \(compileTimeout) to compile")
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            let reason =
                output.split(separator: "\n").last.map(String.init) ?? "exit status \(process.terminationStatus)"
            throw DeployProblem(.invalid, "strategy.py does not compile: \(reason)")
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

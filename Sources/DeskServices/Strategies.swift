import DeskAPI
import DeskCore
import DeskIdentity
import DeskLedger
import DeskRunner
import Foundation

/// Why the desk did not do what a caller asked of a strategy, with what a message needs.
public enum StrategyRefusal: Error, Sendable {
    /// This desk runs no strategy supervisor.
    case noSupervisor
    /// This desk takes no deployed strategies.
    case noDeployer
    /// None of the caller's strategies has this name (another member's is not theirs to see).
    case notYours(name: String, member: String, yours: [String])
    /// An admin named a strategy the supervisor does not know.
    case unknown(name: String, directory: String, known: [String])
    /// A member asked to act for another member.
    case otherMember
    /// The member id is not one.
    case badMember(String)
    /// The admin put this strategy in place, not the member: only the admin may replace or remove it.
    case notDeployedByCaller(folder: String)
    /// The member follows as many logs as a member may at once.
    case followersFull(member: String, perMember: Int)
    /// The deployer refused the archive, the name or the change.
    case deploy(DeployProblem)

    /// What the refusal says.
    public var message: String {
        switch self {
        case .noSupervisor: "this desk runs no strategy supervisor (start it with --strategies-dir)"
        case .noDeployer: "this desk does not take deployed strategies"
        case .notYours(let name, let member, let yours):
            "no strategy \(OrderValidation.quoted(name)) of member \(member); yours: \(yours.isEmpty ? "none" : yours.joined(separator: ", "))"
        case .unknown(let name, let directory, let known):
            "no strategy \(OrderValidation.quoted(name)) in \(directory); strategies: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
        case .otherMember: "only an admin token may read another member's data"
        case .badMember(let member): "member \(OrderValidation.quoted(member)) is not a member id: \(Identifier.rule)"
        case .notDeployedByCaller(let folder):
            "\(folder) was put in the strategies folder by the desk's admin, not deployed by you; only the admin may remove or roll it back"
        case .followersFull(let member, let perMember):
            "member \(member)'s logs are followed \(perMember) times already (the most at once); close one first"
        case .deploy(let problem): problem.message
        }
    }
}

/// What a face answers a request with, for the audit line: its status code,
/// and a refusal's words (`refusal` nil: the request was done).
public typealias FaceAnswer = @Sendable (_ refusal: (any Error)?) -> (status: Int, message: String?)

/// Members' strategies for a caller, whatever face asked: who sees, starts,
/// stops, deploys, rolls back, deletes and reads the log of which strategy.
/// A member acts on their own strategies only (another's is "not found", and
/// nothing is done); an admin on everyone's. Every deploy, rollback and delete,
/// done or refused, is a line in the audit log.
public struct Strategies: Sendable {
    /// The supervisor, when the desk runs strategies.
    public let supervisor: Supervisor?
    let deployer: StrategyDeployer?
    let ledger: Ledger
    /// Where a strategy runs unless the ledger moved it.
    let defaultVenue: String
    let answer: FaceAnswer

    /// Strategies of `supervisor` and `deployer` (nil: the desk has none), their
    /// order counts and venues from `ledger` (`defaultVenue` when not moved);
    /// `answer` is what the face answers (for the audit log).
    public init(
        supervisor: Supervisor?, deployer: StrategyDeployer?, ledger: Ledger, defaultVenue: String,
        answer: @escaping FaceAnswer
    ) {
        self.supervisor = supervisor
        self.deployer = deployer
        self.ledger = ledger
        self.defaultVenue = defaultVenue
        self.answer = answer
    }

    /// The supervisor, or the refusal that the desk has none.
    public func requireSupervisor() throws(StrategyRefusal) -> Supervisor {
        guard let supervisor else { throw .noSupervisor }
        return supervisor
    }

    // MARK: Seeing

    /// Every strategy with its order count and venue, and what the sandbox applies.
    public func status() async throws -> (strategies: [StrategyStatus], sandbox: SandboxReport) {
        let supervisor = try requireSupervisor()
        let counts = try await ledger.orderCountsByStrategy()
        let venues = try await ledger.strategyVenues()
        var strategies = await supervisor.status().map(StrategyStatus.init)
        for index in strategies.indices {
            strategies[index].ordersPlaced = counts["\(strategies[index].member)/\(strategies[index].name)"] ?? 0
            strategies[index].venue = venues[strategies[index].name] ?? defaultVenue
        }
        return (strategies, supervisor.sandboxReport)
    }

    /// The caller's own strategies (everyone's for an admin), with their order counts.
    public func visible(to caller: Caller) async throws -> (strategies: [StrategyStatus], sandbox: SandboxReport) {
        var reply = try await status()
        if !caller.isAdmin { reply.strategies = reply.strategies.filter { $0.member == caller.member } }
        return reply
    }

    /// The folder name a caller means by `given`: one of theirs by its folder
    /// name, or their `<member>--<given>`; anything else is not theirs.
    /// An admin's name is taken as given (the supervisor says when it knows no such strategy).
    public func resolve(_ given: String, caller: Caller) async throws -> String {
        if caller.isAdmin { return given }
        let mine = try await visible(to: caller).strategies.map(\.name)
        guard let folder = Self.folder(given, member: caller.member, among: mine) else {
            throw StrategyRefusal.notYours(name: given, member: caller.member, yours: mine)
        }
        return folder
    }

    /// The folder a member means by `given` among their strategies `mine`: the
    /// folder name itself, or their `<member>--<given>`; nil when neither is theirs.
    public static func folder(_ given: String, member: String, among mine: [String]) -> String? {
        if mine.contains(given) { return given }
        if let folder = try? StrategyDeployer.folder(member: member, name: given), mine.contains(folder) {
            return folder
        }
        return nil
    }

    /// Whether `caller` may replace, roll back or delete `folder`: an admin any,
    /// a member only one they deployed (`<member>--…`), not one the admin put in place.
    public static func mayReplace(_ folder: String, caller: Caller) -> Bool {
        caller.isAdmin || StrategyDeployer.isDeployed(folder: folder, by: caller.member)
    }

    // MARK: Running

    /// Starts, stops or restarts the caller's `names` (a member's: all theirs
    /// when none; an admin's: every strategy when none). A name that is not
    /// the caller's is a failed result, like one the desk does not have: nothing is done to it.
    public func perform(_ action: StrategyAction, names given: [String], caller: Caller) async throws
        -> [StrategyActionResult]
    {
        let supervisor = try requireSupervisor()
        var names: [String] = []
        var refused: [StrategyActionResult] = []
        for name in given {
            do { names.append(try await resolve(name, caller: caller)) } catch let refusal as StrategyRefusal {
                refused.append(StrategyActionResult(name: name, ok: false, message: refusal.message))
            }
        }
        if given.isEmpty && !caller.isAdmin {
            names = try await visible(to: caller).strategies.map(\.name)
            if names.isEmpty { return [] }
        }
        // Empty names ask the supervisor for every strategy: only an admin's request with no names gets there.
        let done = !given.isEmpty && names.isEmpty ? [] : await Self.perform(action, names, on: supervisor)
        return refused + done
    }

    /// Starts, stops or restarts `names` (all when empty).
    static func perform(_ action: StrategyAction, _ names: [String], on supervisor: Supervisor) async
        -> [StrategyActionResult]
    {
        let results =
            switch action {
            case .start: await supervisor.start(names)
            case .stop: await supervisor.stop(names)
            case .restart: await supervisor.restart(names)
            }
        return results.map(StrategyActionResult.init)
    }

    // MARK: Logs

    /// Where a strategy's log is, and whose strategy it is.
    public struct LogSource: Sendable {
        /// The strategy's folder name.
        public var name: String
        /// Its member (whose follower places a follow takes).
        public var member: String
        /// The log file.
        public var path: String
    }

    /// The log of the strategy the caller means by `given` (theirs, or any for an admin).
    public func log(_ given: String, caller: Caller) async throws -> LogSource {
        let supervisor = try requireSupervisor()
        let name = try await resolve(given, caller: caller)
        let statuses = await supervisor.status()
        guard let status = statuses.first(where: { $0.name == name }) else {
            throw StrategyRefusal.unknown(
                name: name, directory: await supervisor.configuration.strategiesDirectory.path,
                known: statuses.map(\.name))
        }
        return LogSource(name: name, member: status.member, path: supervisor.logPath(name))
    }

    /// A place among the log's member's followers, held while the log is followed.
    public func followerSlot(_ source: LogSource) throws(StrategyRefusal) -> MemberSlots.Slot {
        let supervisor = try requireSupervisor()
        guard let slot = supervisor.logFollowers.take(member: source.member) else {
            throw .followersFull(member: source.member, perMember: supervisor.logFollowers.perMember)
        }
        return slot
    }

    // MARK: Deploying

    /// The member a deploy is for: the caller's own, or (admins only) `requested`.
    public static func owner(requested: String?, caller: Caller) throws(StrategyRefusal) -> String {
        if let requested, requested != caller.member, !caller.isAdmin { throw .otherMember }
        let member = (caller.isAdmin ? requested : nil) ?? caller.member
        guard Identifier.isSafe(member) else { throw .badMember(member) }
        return member
    }

    /// What a deploy or rollback put in place, and the strategy's start when it was (re)started.
    public struct Placed: Sendable {
        /// The version now in place.
        public var deployment: Deployment
        /// The (re)start, when the strategy was running or a start was asked for.
        public var started: StrategyActionResult?
    }

    /// Puts `member`'s strategy `name` in place from the archive `archive` reads
    /// (a new one, or a new version when `replacing`), restarting it when it runs
    /// or `start` asks; audited, done or refused.
    public func deploy(
        member: String, name: String, replacing: Bool, start: Bool, caller: Caller,
        archive: (_ limit: Int) async throws -> [UInt8]
    ) async throws -> Placed {
        let (supervisor, deployer) = try requireDeployer()
        let folder = (try? StrategyDeployer.folder(member: member, name: name)) ?? name
        return try await audited(
            replacing ? .strategyDeployVersion : .strategyDeploy, member: member, folder: folder, caller: caller
        ) {
            let bytes = try await archive(deployer.limits.maxBytes)
            let deployment = try await deployer.deploy(archive: bytes, member: member, name: name, replacing: replacing)
            let running = await Self.isRunning(deployment.folder, on: supervisor)
            let started =
                start || running
                ? await supervisor.restart([deployment.folder]).first.map(StrategyActionResult.init) : nil
            return (
                Placed(deployment: deployment, started: started),
                "files=\(deployment.files) bytes=\(deployment.bytes) previous_kept=\(deployment.previousKept)"
            )
        }
    }

    /// Puts the caller's deployed strategy `given` back to its previous version; audited.
    public func rollback(_ given: String, caller: Caller) async throws -> Placed {
        let (supervisor, deployer, folder, member) = try await owned(given, caller: caller)
        return try await audited(.strategyRollback, member: member, folder: folder, caller: caller) {
            let deployment = try await deployer.rollback(folder: folder, member: member)
            let started =
                await Self.isRunning(folder, on: supervisor)
                ? await supervisor.restart([folder]).first.map(StrategyActionResult.init) : nil
            return (
                Placed(deployment: deployment, started: started),
                "files=\(deployment.files) bytes=\(deployment.bytes)"
            )
        }
    }

    /// Stops and removes the caller's deployed strategy `given`; audited. Returns its folder name.
    public func delete(_ given: String, caller: Caller) async throws -> String {
        let (supervisor, deployer, folder, member) = try await owned(given, caller: caller)
        return try await audited(.strategyDelete, member: member, folder: folder, caller: caller) {
            _ = await supervisor.stop([folder])
            try await deployer.delete(folder: folder)
            await supervisor.forgetDeleted()
            return (folder, nil)
        }
    }

    /// What a rollback or delete acts on: a strategy the caller may replace, and its member.
    func owned(_ given: String, caller: Caller) async throws -> (
        Supervisor, StrategyDeployer, folder: String, member: String
    ) {
        let (supervisor, deployer) = try requireDeployer()
        let folder = try await resolve(given, caller: caller)
        guard Self.mayReplace(folder, caller: caller) else {
            throw StrategyRefusal.notDeployedByCaller(folder: folder)
        }
        let member = await supervisor.status().first { $0.name == folder }?.member ?? caller.member
        return (supervisor, deployer, folder, member)
    }

    /// The supervisor and the deployer, or the refusal that the desk has none.
    public func requireDeployer() throws(StrategyRefusal) -> (Supervisor, StrategyDeployer) {
        let supervisor = try requireSupervisor()
        guard let deployer else { throw .noDeployer }
        return (supervisor, deployer)
    }

    /// Whether `folder` runs (or is about to run again), so a new version replaces it at once.
    static func isRunning(_ folder: String, on supervisor: Supervisor) async -> Bool {
        let state = await supervisor.status().first { $0.name == folder }?.state
        return state == .running || state == .starting || state == .backoff
    }

    /// Runs `body` and records it in the audit log as `action`: accepted with
    /// the detail it returns, or refused; with what the face answers (`answer`).
    func audited<Reply>(
        _ action: AuditAction, member: String, folder: String, caller: Caller,
        _ body: () async throws -> (Reply, String?)
    ) async throws -> Reply {
        let by = caller.member == member ? "" : "by=\(caller.member) "
        func record(_ outcome: AuditOutcome, status: Int, detail: String?) async throws {
            try await ledger.record(
                AuditEvent(
                    at: Date(), member: member, strategy: folder, action: action, outcome: outcome,
                    httpStatus: status, detail: (by + (detail ?? "")).trimmingCharacters(in: .whitespaces)))
        }
        do {
            let (reply, detail) = try await body()
            try await record(.accepted, status: answer(nil).status, detail: detail)
            return reply
        } catch {
            let (status, message) = answer(error)
            try? await record(.refused, status: status, detail: message)
            throw error
        }
    }
}

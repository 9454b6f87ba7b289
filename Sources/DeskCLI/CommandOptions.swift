import ArgumentParser
import DeskApp
import DeskBacktestEngine
import DeskClient
import DeskIdentity
import Foundation

/// Which ledger a report reads: `--db`'s (the club's desk), or `--work`'s, a
/// backtest's work folder (`FOLDER/desk.db`, the ledger `desk backtest --work FOLDER` wrote).
public struct LedgerChoice: ParsableArguments {
    @OptionGroup public var database: DatabaseOptions
    @Option(
        name: .customLong("work"),
        help:
            "A backtest's work folder: read the ledger it wrote (FOLDER/\(BacktestSettings.ledgerName)) instead of --db's."
    )
    public var work: String?

    public init() {}

    public func validate() throws {
        if work != nil && database.path != nil {
            throw ValidationError("give --db (a desk's ledger) or --work (a backtest's work folder), not both")
        }
    }

    /// The ledger file to read: the work folder's, else `--db`'s (see `DatabaseOptions`).
    public var resolved: DatabaseOptions {
        guard let work else { return database }
        var chosen = database
        chosen.path = (work as NSString).appendingPathComponent(BacktestSettings.ledgerName)
        return chosen
    }
}

/// How a command reaches a running desk: a member's token (its own strategies)
/// or an admin's (everyone's).
public struct ServerOptions: ParsableArguments {
    @Option(
        help:
            "Desk URL (env DESK_SERVER_URL; else the one `desk login` saved, the desk running on --db, or http://localhost:8080; unix:///path works)."
    )
    public var server: String?

    @Option(
        help:
            "A member's or admin's token (env DESK_TOKEN or DESK_ADMIN_TOKEN; else the one `desk login` saved, or desk-admin.token beside the database)."
    )
    public var token: String?

    @OptionGroup public var database: DatabaseOptions

    public init() {}

    /// Where the desk running on `--db`'s ledger listens, from its lock file.
    var runningDeskURL: String? {
        guard case .running(let record?) = DeskLock.probe(database: database.resolvedPath) else { return nil }
        return record.url ?? record.unixSocket.map { "unix://\($0)" }
    }

    /// A connection to the desk: the server and token given, else those `desk
    /// login` saved (when the server is the saved one), else the admin token beside the ledger.
    func connection() throws -> DeskConnection {
        let environment = DeskEnvironment()
        let login = try LoginFile.load()
        let given = server ?? environment[.serverURL]
        let url = given ?? login?.server ?? runningDeskURL ?? "http://localhost:8080"
        let saved = login.flatMap { $0.server == url ? $0.token : nil }
        let tokenFile = AdminTokenFile.path(forDatabase: database.resolvedPath)
        guard
            let token = token ?? environment[.token] ?? environment[.adminToken] ?? saved
                ?? AdminTokenFile.read(path: tokenFile)
        else {
            throw DeskCommandError(
                "no token: pass --token, set DESK_TOKEN, run `desk login --server \(url)`, or run this where `desk serve` wrote \(tokenFile)"
            )
        }
        return DeskConnection(serverURL: url, token: token)
    }

    /// Runs `body` with a connection and turns transport failures into a clear message.
    func withDesk<T>(_ body: (DeskConnection) async throws -> T) async throws -> T {
        let connection = try connection()
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body(connection)) } catch { outcome = .failure(error) }
        try? await connection.shutdown()
        do {
            return try outcome.get()
        } catch let failure as DeskConnection.Failure {
            switch failure {
            case .unreachable(let url, _):
                throw DeskCommandError(
                    "no desk is answering at \(url). Start one with `desk serve` (or point --server / DESK_SERVER_URL at it)."
                )
            case .refused(let status, let message):
                throw DeskCommandError(
                    "the desk refused (\(status)): \(message.isEmpty ? "it gave no reason" : message)")
            case .unreadable:
                throw DeskCommandError("\(failure)")
            }
        }
    }
}

/// `--member M`: one member (`--user`, the seed-era name, still works, unlisted).
public struct MemberOption: ParsableArguments {
    @Option(help: "Only this member.") public var member: String?
    @Option(name: .customLong("user"), help: .hidden) public var user: String?

    public init() {}

    public func validate() throws {
        if member != nil && user != nil {
            throw ValidationError("--user is the older name of --member: give one of them, not both")
        }
    }

    /// The member asked for, if any.
    public var value: String? { member ?? user }
}

/// A command that was well formed but could not do what it was asked: printed
/// as `Error: <message>` with exit status 1, without the usage text (which
/// ArgumentParser's `ValidationError` prints, with status 64, for bad arguments).
/// Control characters in it (a desk's message can quote a strategy's output) are escaped.
public struct DeskCommandError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = TerminalText.escape(message) }
    public var description: String { message }
}

/// A strategy as the user named it: its folder name, or a path to its folder
/// (`strategies/example_alice/` is `example_alice`).
func strategyName(_ given: String) -> String {
    given.split(separator: "/").last.map(String.init) ?? given
}

/// Writes `text` and a newline to standard output at once (a parent reading the pipe sees whole lines).
func printLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// The desk's release, as `desk --version` prints it (the Python client's is the same).
public enum DeskRelease {
    public static let version = "2.0.0"
}

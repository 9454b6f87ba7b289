import DeskAPI
import DeskClient
import DeskCore
import DeskRunner
import Foundation

/// The server and token `desk login` saved for this Unix user:
/// `$XDG_CONFIG_HOME/desk/login.json` (else `~/.config/desk/login.json`), mode
/// 0600 in a folder of mode 0700, written whole or not at all.
public struct LoginFile: Codable, Sendable, Equatable {
    public var server: String
    public var token: String
    /// Who the token is, as the desk said at login (shown, never trusted).
    public var member: String

    public init(server: String, token: String, member: String) {
        self.server = server
        self.token = token
        self.member = member
    }

    /// Where the file is for this process's environment.
    public static func path(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["DESK_LOGIN_FILE"], !path.isEmpty { return path }
        let base =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.config")
        return base + "/desk/login.json"
    }

    /// The saved login, if any; a file others may read is refused (its token may have leaked).
    public static func load(path: String = LoginFile.path()) throws(DeskCommandError) -> LoginFile? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        if status.st_mode & 0o077 != 0 {
            throw DeskCommandError(
                "\(path) can be read by other users (mode \(String(status.st_mode & 0o777, radix: 8))): revoke its token, delete the file and run `desk login` again"
            )
        }
        guard let data = FileManager.default.contents(atPath: path),
            let login = try? JSONDecoder().decode(LoginFile.self, from: data)
        else {
            throw DeskCommandError("\(path) is not a login file `desk login` wrote: delete it and log in again")
        }
        return login
    }

    /// Writes the file with mode 0600 from its first byte (a temporary file renamed into place).
    public func save(path: String = LoginFile.path()) throws(DeskCommandError) {
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw DeskCommandError("cannot create \(folder): \(error.localizedDescription)")
        }
        let temporary = folder + "/.login-\(getpid()).json"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0o600)
        guard descriptor >= 0 else {
            throw DeskCommandError("cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let bytes = Array((try? encoder.encode(self)) ?? Data())
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw DeskCommandError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// What `desk login`, `desk strategies deploy|delete|rollback` do: a member's
/// self-service against a desk that may be on another machine.
public enum MemberCommands {
    /// Checks `token` with the desk (`GET /session`) and saves the server and token for later commands.
    public static func login(server: String, token given: String?, path: String = LoginFile.path()) async throws {
        guard let token = given ?? readToken() else {
            throw DeskCommandError("no token: pass --token, set DESK_TOKEN, or type it when asked")
        }
        let connection = DeskConnection(serverURL: server, token: token)
        let reply: SessionReply
        do {
            reply = try await connection.session()
        } catch {
            try? await connection.shutdown()
            throw Self.explained(error, server: server)
        }
        try? await connection.shutdown()
        try LoginFile(server: server, token: token, member: reply.member).save(path: path)
        printLine("logged in to \(server) as \(reply.member)\(reply.admin ? " (admin)" : ""); saved in \(path)")
    }

    /// The token typed on the terminal (not echoed), or one line of standard input.
    static func readToken() -> String? {
        if isatty(STDIN_FILENO) != 0 {
            FileHandle.standardError.write(Data("Token: ".utf8))
            var settings = termios()
            tcgetattr(STDIN_FILENO, &settings)
            var quiet = settings
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSANOW, &quiet)
            defer {
                tcsetattr(STDIN_FILENO, TCSANOW, &settings)
                FileHandle.standardError.write(Data("\n".utf8))
            }
            return readLine().map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        return readLine().map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Folders the CLI leaves out of a deploy: caches and version control, never the strategy's own files.
    static let skipped: Set<String> = ["__pycache__", ".git", ".venv", ".mypy_cache", ".pytest_cache"]

    /// `folder`'s files and folders as archive entries (paths relative to it); a
    /// link or anything but a file or folder is refused, as the desk would.
    public static func entries(of folder: String) throws(DeskCommandError) -> [ArchiveEntry] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw DeskCommandError("\(folder) is not a folder: give the folder that holds strategy.py")
        }
        guard FileManager.default.fileExists(atPath: folder + "/strategy.py") else {
            throw DeskCommandError(
                "\(folder) has no strategy.py: a strategy's folder holds strategy.py (and config.json)")
        }
        var entries: [ArchiveEntry] = []
        func walk(_ relative: String) throws(DeskCommandError) {
            let path = relative.isEmpty ? folder : folder + "/" + relative
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: path).sorted() } catch {
                throw DeskCommandError("cannot read \(path): \(error.localizedDescription)")
            }
            for name in names where !skipped.contains(name) {
                let child = relative.isEmpty ? name : relative + "/" + name
                var status = stat()
                guard lstat(folder + "/" + child, &status) == 0 else {
                    throw DeskCommandError("cannot read \(folder)/\(child): \(String(cString: strerror(errno)))")
                }
                switch status.st_mode & S_IFMT {
                case S_IFDIR:
                    entries.append(ArchiveEntry(path: child, kind: .folder))
                    try walk(child)
                case S_IFREG:
                    guard let data = FileManager.default.contents(atPath: folder + "/" + child) else {
                        throw DeskCommandError("cannot read \(folder)/\(child)")
                    }
                    entries.append(ArchiveEntry(path: child, kind: .file, contents: Array(data)))
                default:
                    throw DeskCommandError(
                        "\(folder)/\(child) is a link or special file; the desk takes only files and folders (copy what it points to instead)"
                    )
                }
            }
        }
        try walk("")
        return entries
    }

    /// Deploys the strategy in `folder` as `name` (default: the folder's name), starting it when asked
    /// and then watching it for `grace`, as `desk strategies start` does.
    public static func deploy(
        folder: String, name: String?, start: Bool, member: String?, json: Bool, grace: Duration = .zero,
        server: ServerOptions
    ) async throws {
        let folderName = strategyName(URL(fileURLWithPath: folder).standardizedFileURL.path)
        if name == nil && folderName.contains(".") {
            throw DeskCommandError(
                "the folder's name \(folderName) is not a strategy name: \(StrategyDeployer.nameRule); rename the folder or pass --name"
            )
        }
        let archive = StrategyArchive.write(try entries(of: folder))
        let name = name ?? folderName
        let before = start && grace > .zero ? try await server.withDesk { try await $0.strategies() } : nil
        var reply = try await server.withDesk {
            try await $0.deployStrategy(name: name, archive: archive, start: start, member: member)
        }
        if let before, let started = reply.started {
            reply.started = try await StrategyCommands.watch([started], before: before, grace: grace, server: server)
                .first
        }
        if json {
            printLine(try encoded(reply))
        } else {
            var line =
                "deployed \(reply.name) for \(reply.member): \(ReportFormat.count(reply.files, "file")), \(ReportFormat.count(reply.bytes, "byte"))"
            if reply.previousKept { line += "; the previous version is kept (desk strategies rollback \(reply.name))" }
            printLine(line)
            if let started = reply.started {
                printLine(StrategyReports.results(StrategyActionReply(results: [started])))
            }
        }
        if let started = reply.started, !started.ok {
            throw DeskCommandError("deployed \(reply.name), but could not start it: \(started.message)")
        }
    }

    /// Stops and removes one of the caller's deployed strategies.
    public static func delete(name: String, json: Bool, server: ServerOptions) async throws {
        let reply = try await server.withDesk { try await $0.deleteStrategy(name: strategyName(name)) }
        printLine(json ? try encoded(reply) : "deleted \(reply.name)")
    }

    /// Puts the previous version of one of the caller's strategies back.
    public static func rollback(name: String, json: Bool, server: ServerOptions) async throws {
        let reply = try await server.withDesk { try await $0.rollbackStrategy(name: strategyName(name)) }
        printLine(
            json
                ? try encoded(reply)
                : "rolled \(reply.name) back: \(ReportFormat.count(reply.files, "file")), \(ReportFormat.count(reply.bytes, "byte"))"
        )
    }

    static func explained(_ error: any Error, server: String) -> any Error {
        switch error {
        case DeskConnection.Failure.unreachable(let url, _):
            DeskCommandError("no desk is answering at \(url): check --server")
        case DeskConnection.Failure.refused(let status, let message):
            DeskCommandError("the desk at \(server) refused the token (\(status)): \(message)")
        default: error
        }
    }
}

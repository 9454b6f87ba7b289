import DeskCore
import DeskIdentity
import DeskLedger
import Foundation
import Logging
import ServiceLifecycle

/// Why a desk did not start, in a sentence that says what to do (`desk serve`
/// prints it and exits 1, without the usage text).
public struct DeskStartupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Starting a desk on a ledger, in the order that keeps one ledger to one desk:
///
/// 1. the lock `<db>.lock` (a second desk stops here, before it reads or writes anything);
/// 2. the TCP port and the unix socket are free (else a plain message, still before the ledger);
/// 3. the desk's files are private: ledger, WAL and shared memory, admin token, lock, logs;
/// 4. the ledger opens (a damaged one is refused, naming the file and what to do);
///    strategy tokens a killed earlier run left live are revoked;
/// 5. the admin token file;
/// then `run` serves, and writes where it listens into the lock file.
public struct DeskLaunch: Sendable {
    /// The desk, built and not yet running.
    public let application: DeskApplication
    /// Held until the process ends.
    public let lock: DeskLock

    /// Performs steps 1 to 5; `lock` is one the caller already holds for this ledger (the demo).
    public static func prepare(configuration: DeskConfiguration, logger: Logger, lock held: DeskLock? = nil)
        async throws -> DeskLaunch
    {
        let database = configuration.databasePath
        let lock: DeskLock
        if let held {
            lock = held
        } else {
            do {
                let acquired = try DeskLock.acquire(database: database)
                lock = acquired.lock
                if let narrowed = acquired.narrowed { logNarrowed(narrowed, logger: logger) }
                if let previous = acquired.previous {
                    logger.notice(
                        "took over the ledger's lock: the desk that held it is no longer running (the kernel released its lock when it ended)",
                        metadata: [
                            "lock_file": "\(lock.path)", "previous_pid": "\(previous.pid)",
                            "previous_started_at": "\(previous.startedAt)",
                        ])
                }
            } catch {
                throw DeskStartupError(error.description)
            }
        }
        do {
            try ListenerCheck.checkTCP(host: configuration.host, port: configuration.port)
            if let path = configuration.unixSocketPath { try ListenerCheck.checkUnixSocket(path: path) }
        } catch {
            throw DeskStartupError(error.message)
        }
        var narrowed: [FileModeChange] = []
        do {
            if let logs = configuration.runtime?.logsDirectory.path { narrowed += try secureLogs(folder: logs) }
        } catch {
            throw DeskStartupError("cannot make the strategy logs private: \(error)")
        }
        // An Alpaca venue's calendar replaces the NYSE rules where it has days.
        let calendared = await VenueCalendar.adopt(configuration, logger: logger)
        let application: DeskApplication
        do {
            application = try DeskApplication(configuration: calendared, logger: logger)
        } catch let error as LedgerError {
            throw DeskStartupError(error.description)
        }
        narrowed = application.ledger.narrowedFiles + narrowed
        for change in narrowed { logNarrowed(change, logger: logger) }
        let revoked = try await application.ledger.revokeSupervisorTokens()
        logger.info(
            "revoked strategy tokens an earlier run left live",
            metadata: ["count": "\(revoked)", "database": "\(database)"])
        _ = try await AdminTokenFile.ensure(ledger: application.ledger) { logNarrowed($0, logger: logger) }
        return DeskLaunch(application: application, lock: lock)
    }

    /// The strategy logs folder 0700 and every file in it 0600.
    static func secureLogs(folder: String) throws(PrivateFiles.Problem) -> [FileModeChange] {
        var changes: [FileModeChange] = []
        if let change = try PrivateFiles.ensureFolder(folder) { changes.append(change) }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in names.sorted() {
            let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else {
                continue
            }
            if let change = try PrivateFiles.narrow(path, to: PrivateFiles.fileMode) { changes.append(change) }
        }
        return changes
    }

    static func logNarrowed(_ change: FileModeChange, logger: Logger) {
        logger.warning(
            "narrowed the permissions of a desk file that other users could read",
            metadata: [
                "path": "\(change.path)", "old_mode": "\(FileModeChange.octal(change.oldMode))",
                "new_mode": "\(FileModeChange.octal(change.newMode))",
            ])
    }

    /// Runs the desk (see `DeskApplication.run`); once it listens, the lock file
    /// names its pid and addresses. A port taken between the check and the bind
    /// is reported in the same plain words as the check.
    public func run(
        extraServices: [ServiceGroupConfiguration.ServiceConfiguration] = [],
        onListening: @escaping @Sendable (DeskApplication.Listening) async -> Void = { _ in }
    ) async throws {
        let configuration = application.configuration
        let lock = self.lock
        do {
            try await application.run(extraServices: extraServices) { listening in
                lock.write(
                    DeskLockRecord(
                        pid: getpid(), database: configuration.databasePath, startedAt: lock.startedAt,
                        url: listening.port.map { "http://\(configuration.host):\($0)" },
                        unixSocket: listening.unixSocketPath))
                await onListening(listening)
            }
        } catch {
            if let problem = ListenerCheck.explain(error, host: configuration.host, port: configuration.port) {
                throw DeskStartupError(problem.message)
            }
            throw error
        }
    }
}

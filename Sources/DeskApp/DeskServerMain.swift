import DeskIdentity
import Foundation
import Logging

/// What `desk serve` does with its options.
public enum DeskServerMain {
    /// Resolves `options`, then runs the desk until SIGTERM/SIGINT, printing where it listens.
    public static func serve(_ options: ServeOptions, environment: DeskEnvironment = DeskEnvironment()) async throws {
        let configuration = try options.resolve(environment)
        let logger = logger(environment, default: .info)
        if configuration.trustUserHeader {
            logger.warning(
                "DEVELOPMENT MODE: X-User-ID is trusted without a token; any client can trade as any member")
        }
        let launch = try await DeskLaunch.prepare(configuration: configuration, logger: logger)
        try await launch.run { listening in
            var lines: [String] = []
            if let port = listening.port { lines.append("desk listening on http://\(configuration.host):\(port)") }
            if let path = listening.unixSocketPath { lines.append("desk listening on unix://\(path)") }
            lines.append(
                "ledger \(configuration.databasePath); admin token in \(AdminTokenFile.path(forDatabase: configuration.databasePath))"
            )
            // Written in one call, unbuffered, so a parent waiting on the pipe sees it at once.
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
    }

    /// The desk's logger, at `LOG_LEVEL` (trace … critical), else at `level`.
    public static func logger(_ environment: DeskEnvironment, default level: Logger.Level) -> Logger {
        var logger = Logger(label: "desk")
        logger.logLevel = environment[.logLevel].flatMap { Logger.Level(rawValue: $0) } ?? level
        return logger
    }
}

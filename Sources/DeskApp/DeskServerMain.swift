import DeskIdentity
import Foundation
import Logging

/// What `desk serve` does once its settings are resolved.
public enum DeskServerMain {
    /// Runs the desk until SIGTERM/SIGINT, printing where it listens.
    public static func serve(configuration: DeskConfiguration) async throws {
        var logger = Logger(label: "desk")
        logger.logLevel =
            ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
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
}

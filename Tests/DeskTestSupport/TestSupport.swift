import DeskLedger
import DeskServer
import Foundation
import Logging

/// A fresh temporary folder, removed when the test is done with it.
public struct TemporaryDirectory: Sendable {
    public let url: URL

    public init() throws {
        url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "desk-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Path of `name` inside the folder.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    public func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A logger that stays quiet unless `DESK_TEST_LOG` is set.
public func testLogger(_ label: String = "desk-test") -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["DESK_TEST_LOG"] == nil ? .critical : .debug
    return logger
}

/// Runs `body` with a ledger in a temporary folder whose group-commit writer is running.
public func withRunningLedger<T: Sendable>(
    groupCommit: Bool = true, _ body: @Sendable (Ledger, TemporaryDirectory) async throws -> T
) async throws -> T {
    let folder = try TemporaryDirectory()
    defer { folder.remove() }
    let ledger = try Ledger(path: folder.path("desk.db"), groupCommit: groupCommit)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await ledger.run() }
        defer { ledger.close() }
        let result = try await body(ledger, folder)
        ledger.close()
        try await group.waitForAll()
        return result
    }
}

/// Runs `body` with a whole desk (ledger, paper broker, order desk) in a
/// temporary folder, with its background services running; HTTP is up to the test.
public func withRunningDesk<T: Sendable>(
    configure: (inout DeskConfiguration) -> Void = { _ in },
    _ body: @Sendable (DeskApplication) async throws -> T
) async throws -> T {
    let folder = try TemporaryDirectory()
    defer { folder.remove() }
    var configuration = DeskConfiguration(databasePath: folder.path("desk.db"))
    configure(&configuration)
    let application = try DeskApplication(configuration: configuration, logger: testLogger())
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await application.ledger.run() }
        group.addTask { try await application.orderDesk.run() }
        await application.orderDesk.ready()
        let result: T
        do {
            result = try await body(application)
        } catch {
            group.cancelAll()
            application.ledger.close()
            application.broker.finish()
            throw error
        }
        application.broker.finish()
        application.ledger.close()
        group.cancelAll()
        return result
    }
}

/// Where the `desk` executable is: `DESK_BIN`, else beside the test bundle.
public func deskExecutable() -> URL {
    if let path = ProcessInfo.processInfo.environment["DESK_BIN"] { return URL(fileURLWithPath: path) }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("desk")
}

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

/// Where the `desk` executable is: `DESK_BIN`, else beside the test bundle.
public func deskExecutable() -> URL {
    if let path = ProcessInfo.processInfo.environment["DESK_BIN"] { return URL(fileURLWithPath: path) }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("desk")
}

/// Polls `condition` until it holds or `seconds` pass; true once it holds. For
/// what another process or task does in its own time (a strategy started, a
/// subscription changed), never for how long something takes. The default is
/// generous: the whole suite starts at once on two cores, and a condition that
/// holds in 0.4 s alone took over 20 s there; only a failing check waits it out.
public func eventually(
    within seconds: Double = 60, every interval: Duration = .milliseconds(25), _ condition: () async -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return await condition()
}

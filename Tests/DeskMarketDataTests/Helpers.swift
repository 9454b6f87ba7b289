import DeskMarketData
import Foundation
import Logging
import Synchronization
import Testing

/// A fresh folder under the temporary directory, removed by `remove()`.
struct ScratchFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("desk-feed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` in the folder and returns its URL.
    func write(_ name: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        return file
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A logger that prints only critical messages, unless DESK_TEST_LOG is set.
func quietLogger() -> Logger {
    var logger = Logger(label: "desk-feed-test")
    logger.logLevel = ProcessInfo.processInfo.environment["DESK_TEST_LOG"] == nil ? .critical : .debug
    return logger
}

/// An exact decimal from text (tests only; crashes on bad text).
func dec(_ text: String) -> Decimal { Decimal(string: text)! }

/// Collects values from any task.
final class Collected<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])
    func append(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
    var count: Int { values.withLock { $0.count } }
}

/// A source that emits the given ticks, then either returns or throws.
struct ListSource: TickSource {
    var ticks: [Tick]
    var failure: String?
    var name: String { "list" }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run(_ emit: @Sendable (Tick) async -> Void) async throws {
        for tick in ticks { await emit(tick) }
        if let failure { throw Failure(description: failure) }
    }
}

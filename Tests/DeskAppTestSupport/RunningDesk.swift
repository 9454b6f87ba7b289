import DeskApp
import DeskCore
import DeskLedger
import DeskTestSupport
import Foundation

/// Runs `body` with a whole desk (ledger, venues and their services, order desk) in a
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
        // What each venue runs (Alpaca's stream and poller, which also closes its HTTP client at the end).
        for service in application.venues.all.compactMap(\.service) { group.addTask { try await service.run() } }
        await application.orderDesk.ready()
        let result: T
        do {
            result = try await body(application)
        } catch {
            group.cancelAll()
            application.ledger.close()
            application.venues.finish()
            throw error
        }
        application.venues.finish()
        application.ledger.close()
        group.cancelAll()
        return result
    }
}

/// Why `desk serve`'s options were refused: ArgumentParser's message for a flag, or the resolution's.
public struct ServeRefusal: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// `desk serve`'s configuration from command-line `arguments` and `environment`, as `desk serve` would resolve it.
public func serveConfiguration(_ arguments: [String], _ environment: [String: String] = [:]) -> Result<
    DeskConfiguration, ServeRefusal
> {
    let options: ServeOptions
    do { options = try ServeOptions.parse(arguments) } catch {
        return .failure(ServeRefusal(message: ServeOptions.message(for: error)))
    }
    do { return .success(try options.resolve(DeskEnvironment(environment))) } catch {
        return .failure(ServeRefusal(message: error.message))
    }
}

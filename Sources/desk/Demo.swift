import ArgumentParser
import DeskServer
import Foundation

/// `desk demo`: the main job, everything on one machine.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the desk with the paper broker, the synthetic feed and the example strategies, then report.")
    @Option(help: "How long to trade, in seconds.") var duration: Int = 60
    @Option(help: "Work folder for the ledger, logs and socket.") var work: String = "./demo-work"
    @Option(help: "Strategies folder.") var strategies: String = "./strategies"
    @Option(name: .customLong("feed-rate"), help: "Synthetic ticks per second.") var feedRate: Double = 20
    @Option(help: "Synthetic feed seed.") var seed: UInt64 = 7

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be at least 1 second") }
        guard FileManager.default.fileExists(atPath: strategies) else {
            throw ValidationError(
                "no strategies folder at \(strategies): run from the repository root or pass --strategies")
        }
    }

    func run() async throws {
        try await DeskDemo.run(
            DeskDemo.Options(
                duration: .seconds(duration), workDirectory: URL(fileURLWithPath: work),
                strategiesDirectory: URL(fileURLWithPath: strategies), feedRate: feedRate, seed: seed),
            environment: ProcessInfo.processInfo.environment
        ) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }
}

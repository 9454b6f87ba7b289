import ArgumentParser
import DeskCLI
import Foundation

/// `desk demo`: the main job, everything on one machine.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the desk with the paper broker, the synthetic feed and the example strategies, then report.",
        discussion: """
            Strategies import desk_client from --python-path (env DESK_PYTHONPATH); by default from the checkout \
            the desk executable was built in: <checkout>/.venv/strategy-site (scripts/python-env.sh makes it) and \
            <checkout>/clients/python. Exits 1 when no strategy could run, after printing their last log lines.
            """)
    @Option(help: "How long to trade, in seconds.") var duration: Int = 60
    @Option(help: "Work folder for the ledger, logs and socket.") var work: String = "./demo-work"
    @Option(help: "Strategies folder (default ./strategies, else the checkout's strategies/).") var strategies: String?
    @Option(name: .customLong("feed-rate"), help: "Synthetic ticks per second.") var feedRate: Double = 20
    @Option(help: "Synthetic feed seed.") var seed: UInt64 = 7
    @Option(
        name: .customLong("python-path"),
        help: "PYTHONPATH for strategies (env DESK_PYTHONPATH; default: from the desk's checkout, as said above).")
    var pythonPath: String?

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be at least 1 second") }
        guard FileManager.default.fileExists(atPath: DeskDemo.strategiesFolder(strategies)) else {
            throw ValidationError(
                "no strategies folder at \(DeskDemo.strategiesFolder(strategies)): pass --strategies FOLDER (no checkout was found above the desk executable either)"
            )
        }
    }

    func run() async throws {
        try await DeskDemo.command(
            duration: duration, work: work, strategies: DeskDemo.strategiesFolder(strategies), feedRate: feedRate,
            seed: seed, pythonPath: pythonPath)
    }
}

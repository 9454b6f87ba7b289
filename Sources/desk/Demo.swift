import ArgumentParser
import DeskApp
import DeskCLI
import DeskIdentity
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
        help: "PYTHONPATH for strategies (env DESK_PYTHONPATH; default: from the desk's checkout, see below).")
    var pythonPath: String?

    /// The strategies folder: as given, else ./strategies, else the checkout's.
    var strategiesFolder: String {
        if let strategies { return strategies }
        if FileManager.default.fileExists(atPath: "./strategies") { return "./strategies" }
        return DeskCheckout.locate()?.appendingPathComponent("strategies").path ?? "./strategies"
    }

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be at least 1 second") }
        guard FileManager.default.fileExists(atPath: strategiesFolder) else {
            throw ValidationError(
                "no strategies folder at \(strategiesFolder): pass --strategies FOLDER (no checkout was found above the desk executable either)"
            )
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let chosen: (path: String?, how: String)
        if let pythonPath {
            chosen = (pythonPath, "from --python-path")
        } else if let variable = environment["DESK_PYTHONPATH"] {
            chosen = (variable, "from DESK_PYTHONPATH")
        } else {
            let found = DeskCheckout.defaultPythonPath(checkout: DeskCheckout.locate())
            chosen = (found.pythonPath, found.how)
        }
        do {
            try await DeskDemo.run(
                DeskDemo.Options(
                    duration: .seconds(duration), workDirectory: URL(fileURLWithPath: work),
                    strategiesDirectory: URL(fileURLWithPath: strategiesFolder), feedRate: feedRate, seed: seed,
                    pythonPath: chosen.path, pythonPathOrigin: chosen.how),
                environment: environment
            ) { line in
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
        } catch let error as DeskDemo.DemoError {
            throw DeskCommandError(error.message)
        }
    }
}

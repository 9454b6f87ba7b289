import ArgumentParser
import DeskAPI
import DeskCLI

/// `desk strategies deploy|delete|rollback|start|stop|restart|status|logs|promote`: the
/// strategy manager, through the API. A member's token sees and acts on that
/// member's strategies only; an admin's on every strategy.
struct Strategies: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deploy, start, stop, restart and inspect strategies run by the desk.",
        subcommands: [
            Deploy.self, Delete.self, Rollback.self, Start.self, Stop.self, Restart.self, Status.self, Logs.self,
            Promote.self,
        ])

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Move a strategy to another venue (paper, live, …); a venue that requires approval gets a pending approval.",
            discussion:
                "Its open orders on the old venue are canceled and it restarts on the new one with a fresh token; its positions stay in the old venue's book. `promote NAME paper` (a demotion) is always allowed."
        )
        @Argument(help: "Strategy name.") var name: String
        @Argument(help: "The venue to move it to.") var venue: String
        @Option(help: "A backtest report folder (desk backtest --report DIR) to attach as evidence.")
        var backtest: String?
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions

        func run() async throws {
            try await PromotionCommands.promote(
                name: name, venue: venue, backtest: backtest, json: json, server: server)
        }
    }

    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a strategy's folder (strategy.py, config.json, …) to the desk, new or a new version.")
        @Argument(help: "The folder holding strategy.py.") var folder: String
        @Option(help: "The strategy's name (default: the folder's name); the desk files it as <member>--<name>.")
        var name: String?
        @Flag(help: "Start it (or restart it) once it is in place.") var start = false
        @Option(
            help: ArgumentHelp(
                "With --start, seconds to watch it: if it ends or crashes within them, the deploy fails (0: do not watch).",
                valueName: "seconds"))
        var grace: Double = 3
        @Option(help: "Admins only: deploy for this member.") var member: String?
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions

        func validate() throws { try StartWatch.checkGrace(grace) }

        func run() async throws {
            try await MemberCommands.deploy(
                folder: folder, name: name, start: start, member: member, json: json, grace: .seconds(grace),
                server: server)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a deployed strategy and remove it.")
        @Argument(help: "Strategy name.") var name: String
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions
        func run() async throws { try await MemberCommands.delete(name: name, json: json, server: server) }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a deployed strategy's previous version back (restarted if it was running).")
        @Argument(help: "Strategy name.") var name: String
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions
        func run() async throws { try await MemberCommands.rollback(name: name, json: json, server: server) }
    }

    /// The names and output of start, stop and restart.
    struct Selection: ParsableArguments {
        @Argument(help: "Strategy folder names (or paths to the folders); none: all strategies.")
        var names: [String] = []
        @Option(
            help: ArgumentHelp(
                "Seconds to watch a started strategy: one that ends or crashes within them is a failure (0: do not watch).",
                valueName: "seconds"))
        var grace: Double = 3
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions

        func validate() throws { try StartWatch.checkGrace(grace) }

        func act(_ action: StrategyAction) async throws {
            try await StrategyCommands.act(action, names: names, json: json, grace: .seconds(grace), server: server)
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start strategies (all when no name is given).")
        @OptionGroup var selection: Selection
        func run() async throws { try await selection.act(.start) }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop strategies (all when no name is given).")
        @OptionGroup var selection: Selection
        func run() async throws { try await selection.act(.stop) }
    }

    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restart strategies (all when no name is given).")
        @OptionGroup var selection: Selection
        func run() async throws { try await selection.act(.restart) }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every strategy's state.")
        @Argument(help: "Only these strategies (folder names or paths).") var names: [String] = []
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions

        func run() async throws { try await StrategyCommands.status(names: names, json: json, server: server) }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a strategy's log.")
        @Argument(help: "Strategy folder name (or the path to its folder).") var name: String
        @Flag(name: [.customShort("f"), .long], help: "Keep printing new lines.") var follow = false
        @Option(help: "Lines to show first.") var tail: Int = 50
        @OptionGroup var server: ServerOptions

        func validate() throws {
            guard (0...StrategyLogQuery.maximumTail).contains(tail) else {
                throw ValidationError("--tail must be from 0 to \(StrategyLogQuery.maximumTail)")
            }
        }

        func run() async throws {
            try await StrategyCommands.logs(name: name, tail: tail, follow: follow, server: server)
        }
    }
}

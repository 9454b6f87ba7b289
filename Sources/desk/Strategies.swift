import ArgumentParser
import DeskApp
import DeskCLI
import DeskClient
import DeskIdentity
import Foundation

/// `desk strategies start|stop|restart|status|logs`: the strategy manager, through the admin API.
struct Strategies: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start, stop, restart and inspect strategies run by the desk.",
        subcommands: [Start.self, Stop.self, Restart.self, Status.self, Logs.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start strategies (all when no name is given).")
        @Argument(help: "Strategy folder names (or paths to the folders).") var names: [String] = []
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions
        func run() async throws { try await act("start", names, json: json, server) }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop strategies (all when no name is given).")
        @Argument(help: "Strategy folder names (or paths to the folders).") var names: [String] = []
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions
        func run() async throws { try await act("stop", names, json: json, server) }
    }

    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restart strategies (all when no name is given).")
        @Argument(help: "Strategy folder names (or paths to the folders).") var names: [String] = []
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions
        func run() async throws { try await act("restart", names, json: json, server) }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every strategy's state.")
        @Argument(help: "Only these strategies (folder names or paths).") var names: [String] = []
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let body = try await withDesk(server) { try await $0.json(method: .GET, path: "/admin/strategies") }
            let only = names.map(strategyName)
            print(try StrategyReports.status(body, only: only, json: json))
            let known = try StrategyReports.names(body)
            let unknown = only.filter { !known.contains($0) }
            if !unknown.isEmpty {
                throw DeskCommandError(
                    "no strategy \(unknown.joined(separator: ", ")) on this desk; it has: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
                )
            }
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a strategy's log.")
        @Argument(help: "Strategy folder name (or the path to its folder).") var name: String
        @Flag(name: [.customShort("f"), .long], help: "Keep printing new lines.") var follow = false
        @Option(help: "Lines to show first.") var tail: Int = 50
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let encoded = strategyName(name).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name
            let path = "/admin/strategies/\(encoded)/logs?tail=\(tail)"
            if follow {
                try await withDesk(server) { connection in
                    try await connection.stream(path: path + "&follow=1") { chunk in
                        FileHandle.standardOutput.write(Data(chunk))
                    }
                }
            } else {
                let body = try await withDesk(server) { try await $0.json(method: .GET, path: path) }
                print(try StrategyReports.logLines(body))
            }
        }
    }

    /// Asks the desk to start, stop or restart; exits 1 when any of them failed.
    static func act(_ verb: String, _ names: [String], json: Bool, _ server: ServerOptions) async throws {
        let body = try await withDesk(server) {
            try await $0.json(
                method: .POST, path: "/admin/strategies/\(verb)", jsonBody: ["names": names.map(strategyName)])
        }
        print(try StrategyReports.results(body, json: json))
        let failed = try StrategyReports.failures(body)
        if !failed.isEmpty {
            throw DeskCommandError("could not \(verb) \(failed.joined(separator: ", "))")
        }
    }
}

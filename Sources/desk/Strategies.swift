import ArgumentParser
import DeskClient
import DeskServer
import Foundation

/// `desk strategies start|stop|restart|status|logs`: the strategy manager, through the admin API.
struct Strategies: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start, stop, restart and inspect strategies run by the desk.",
        subcommands: [Start.self, Stop.self, Restart.self, Status.self, Logs.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start strategies (all when no name is given).")
        @Argument(help: "Strategy folder names.") var names: [String] = []
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions
        func run() async throws { try await act("start", names, json: json, server) }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop strategies (all when no name is given).")
        @Argument(help: "Strategy folder names.") var names: [String] = []
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions
        func run() async throws { try await act("stop", names, json: json, server) }
    }

    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restart strategies (all when no name is given).")
        @Argument(help: "Strategy folder names.") var names: [String] = []
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions
        func run() async throws { try await act("restart", names, json: json, server) }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every strategy's state.")
        @Argument(help: "Only these strategies.") var names: [String] = []
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let body = try await withDesk(server) { try await $0.json(method: .GET, path: "/admin/strategies") }
            print(try StrategyReports.status(body, only: names, json: json))
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a strategy's log.")
        @Argument(help: "Strategy folder name.") var name: String
        @Flag(name: [.customShort("f"), .long], help: "Keep printing new lines.") var follow = false
        @Option(help: "Lines to show first.") var tail: Int = 50
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let path = "/admin/strategies/\(name)/logs?tail=\(tail)"
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

    static func act(_ verb: String, _ names: [String], json: Bool, _ server: ServerOptions) async throws {
        let body = try await withDesk(server) {
            try await $0.json(method: .POST, path: "/admin/strategies/\(verb)", jsonBody: ["names": names])
        }
        print(try StrategyReports.results(body, json: json))
    }
}

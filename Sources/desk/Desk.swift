import ArgumentParser
import DeskCLI

/// The `desk` command: the server and the tools that talk to it.
@main
struct Desk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "desk",
        abstract: "The trading desk for quant clubs: one broker account, many members' strategies.",
        version: "desk \(DeskRelease.version)",
        subcommands: [
            Serve.self, Demo.self, Backtest.self, DataCommand.self, Strategies.self, Orders.self, Positions.self,
            Tokens.self, Halt.self, Resume.self, Reconcile.self, Login.self, Approvals.self,
        ])
}

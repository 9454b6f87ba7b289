import ArgumentParser
import DeskCLI

/// `desk approvals list|approve|reject`: promotion requests waiting for an officer.
struct Approvals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, approve and reject requests to move strategies to venues that require approval.",
        discussion:
            "A member sees their own requests; officers and the admin see all and decide them (never their own).",
        subcommands: [List.self, Approve.self, Reject.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show promotion requests, newest first.")
        @Flag(help: "JSON output: a list of objects.") var json = false
        @OptionGroup var server: ServerOptions

        func run() async throws { try await PromotionCommands.list(json: json, server: server) }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a request: the strategy restarts on its new venue with a fresh token.")
        @Argument(help: "The request's id (desk approvals list).") var id: Int64
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions

        func run() async throws { try await PromotionCommands.approve(id: id, json: json, server: server) }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a request, saying why.")
        @Argument(help: "The request's id (desk approvals list).") var id: Int64
        @Option(help: "Why (required).") var reason: String
        @Flag(help: "JSON output.") var json = false
        @OptionGroup var server: ServerOptions

        func validate() throws {
            if reason.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("--reason must say why the request is rejected")
            }
        }

        func run() async throws {
            try await PromotionCommands.reject(id: id, reason: reason, json: json, server: server)
        }
    }
}

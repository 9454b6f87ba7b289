import ArgumentParser
import DeskApp
import DeskCLI

/// `desk login --server URL`: saves a desk's URL and a member's token for the other commands.
struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Save a desk's URL and your token (checked with the desk) in a file only you can read.",
        discussion: "The file is $XDG_CONFIG_HOME/desk/login.json (else ~/.config/desk/login.json), mode 0600.")
    @Option(help: "The desk's URL, e.g. https://desk.club.example:8080.") var server: String
    @Option(help: "Your token (else $DESK_TOKEN, else typed when asked, not echoed).") var token: String?

    func run() async throws {
        try await MemberCommands.login(server: server, token: token ?? DeskEnvironment()[.token])
    }
}

import ArgumentParser
import DeskCLI

/// `desk halt [--member M]`: the kill switch.
struct Halt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Kill switch: refuse new orders from one member, or from everyone.",
        discussion: AdminCommands.adminOnly)
    @OptionGroup var member: MemberOption
    @Option(help: "Why, for the audit log.") var reason: String?
    @OptionGroup var server: ServerOptions

    func run() async throws { try await AdminCommands.halt(member: member.value, reason: reason, server: server) }
}

/// `desk resume [--member M]`: turns the kill switch off.
struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a kill switch off.", discussion: AdminCommands.adminOnly)
    @OptionGroup var member: MemberOption
    @OptionGroup var server: ServerOptions

    func run() async throws { try await AdminCommands.resume(member: member.value, server: server) }
}

import ArgumentParser
import DeskCLI

/// Which kill switch: one member's, one venue's, one strategy's (at most one), or the whole desk's.
struct HaltScopeOptions: ParsableArguments {
    @OptionGroup var member: MemberOption
    @Option(help: "Only this venue's orders (paper, live, …).") var venue: String?
    @Option(help: "Only this strategy's orders.") var strategy: String?

    func validate() throws {
        if [member.value, venue, strategy].compactMap({ $0 }).count > 1 {
            throw ValidationError("give one scope: --member, --venue or --strategy (none: the whole desk)")
        }
    }
}

/// `desk halt [--member M | --venue V | --strategy S]`: the kill switch.
struct Halt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Kill switch: refuse new orders from one member, venue or strategy, or from everyone.",
        discussion: AdminCommands.adminOrOfficer)
    @OptionGroup var scope: HaltScopeOptions
    @Option(help: "Why, for the audit log.") var reason: String?
    @OptionGroup var server: ServerOptions

    func run() async throws {
        try await AdminCommands.halt(
            member: scope.member.value, venue: scope.venue, strategy: scope.strategy, reason: reason, server: server)
    }
}

/// `desk resume [--member M | --venue V | --strategy S]`: turns a kill switch off.
struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a kill switch off.", discussion: AdminCommands.adminOrOfficer)
    @OptionGroup var scope: HaltScopeOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        try await AdminCommands.resume(
            member: scope.member.value, venue: scope.venue, strategy: scope.strategy, server: server)
    }
}

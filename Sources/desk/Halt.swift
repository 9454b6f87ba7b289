import ArgumentParser
import DeskClient

/// `desk halt [--user U]`: the kill switch.
struct Halt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Kill switch: refuse new orders from one member, or from everyone.")
    @Option(help: "Only this member (default: the whole desk).") var user: String?
    @Option(help: "Why, for the audit log.") var reason: String?
    @OptionGroup var server: ServerOptions

    func run() async throws {
        var body: [String: String] = [:]
        body["user"] = user
        body["reason"] = reason
        _ = try await withDesk(server) { try await $0.json(method: .POST, path: "/admin/halt", body: body) }
        print("halted: \(user ?? "the whole desk")")
    }
}

/// `desk resume [--user U]`: turns the kill switch off.
struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Turn a kill switch off.")
    @Option(help: "Only this member (default: the whole desk).") var user: String?
    @OptionGroup var server: ServerOptions

    func run() async throws {
        var body: [String: String] = [:]
        body["user"] = user
        _ = try await withDesk(server) { try await $0.json(method: .POST, path: "/admin/resume", body: body) }
        print("resumed: \(user ?? "the whole desk")")
    }
}

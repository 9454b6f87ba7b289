import ArgumentParser
import DeskApp

/// `desk serve`: run the desk server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the desk server (paper or Alpaca broker, SQLite ledger).",
        discussion: """
            Environment (a flag wins over its variable): \(DeskVariable.serveList). \
            --broker alpaca and --feed alpaca read the club's keys from APCA_API_KEY_ID and APCA_API_SECRET_KEY.
            """)

    @OptionGroup var options: ServeOptions

    func run() async throws { try await DeskServerMain.serve(options) }
}

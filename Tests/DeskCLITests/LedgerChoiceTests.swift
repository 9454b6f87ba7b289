import DeskCLI
import Testing

@Suite("Which ledger a report reads")
struct LedgerChoiceTests {
    @Test(
        "--work is a backtest's work folder (its desk.db), --db a ledger file; not both",
        arguments: [
            (["--work", "runs/one"], "runs/one/desk.db" as String?),
            (["--db", "club.db"], "club.db"),
            ([String](), nil),
            (["--work", "runs/one", "--db", "club.db"], nil),
        ])
    func choice(arguments: [String], path: String?) throws {
        guard arguments.count < 4 else {
            #expect(throws: (any Error).self) { try LedgerChoice.parse(arguments) }
            return
        }
        #expect(try LedgerChoice.parse(arguments).resolved.path == path)
    }
}

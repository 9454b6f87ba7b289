import DeskCore
import Testing

@testable import DeskLedger

@Suite("Token hashes")
struct TokenHashTests {
    @Test(
        "the stored hash is the lowercase hex SHA-256 of the token",
        arguments: [
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ])
    func sha256(token: String, hex: String) {
        #expect(Ledger.hash(token: token) == hex)
    }
}

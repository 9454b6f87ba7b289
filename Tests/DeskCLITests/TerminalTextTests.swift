import Testing

@testable import DeskCLI

@Suite("What a strategy prints, shown on a terminal")
struct TerminalTextTests {
    @Test(
        "control characters become text; newline, tab and other text stay",
        arguments: [
            ("plain line\twith tab\n", "plain line\twith tab\n"),
            ("\u{1B}]0;pwned\u{07}", "\\x1b]0;pwned\\x07"),
            ("\u{1B}]52;c;cm0K\u{07}", "\\x1b]52;c;cm0K\\x07"),
            ("real\u{1B}[2K\rFORGED", "real\\x1b[2K\\x0dFORGED"),
            ("back\u{08}space del\u{7F} nul\u{00}", "back\\x08space del\\x7f nul\\x00"),
            ("c1 \u{9B}31m next\u{85}line", "c1 \\u009b31m next\\u0085line"),
            ("prix 190 € — ok, Â, é", "prix 190 € — ok, Â, é"),
        ])
    func escape(text: String, shown: String) {
        #expect(TerminalText.escape(text) == shown)
    }

    @Test("a C1 control split between two chunks (logs -f) is still escaped; a last lone byte is kept")
    func chunks() {
        var escaper = TerminalText()
        let first = escaper.escape([0x61, 0xC2])
        let second = escaper.escape([0x9B, 0x62, 0xC2])
        let third = escaper.escape([0xA9])
        let last = escaper.escape([0xC2]) + escaper.finish()
        #expect(first == [0x61])
        #expect(String(decoding: second, as: UTF8.self) == "\\u009bb")
        #expect(String(decoding: third, as: UTF8.self) == "©")
        #expect(last == [0xC2])
    }
}

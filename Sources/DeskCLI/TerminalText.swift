/// A strategy's output made safe to show on a terminal: every control character
/// a terminal would obey — ESC (colours, titles, the clipboard), BEL, CR, BS,
/// the other C0 controls, DEL and the C1 controls U+0080–U+009F — is written as
/// text (`\x1b`, `\x07`, `\r`, `\u009b`), so what a strategy prints can never
/// move the cursor, rewrite a line or reach the clipboard. Newline and tab stay.
///
/// `desk strategies status` shows strategy output (its last log lines, its failure)
/// escaped always; `desk strategies logs` escapes when its standard output is a
/// terminal (to a pipe or file it writes the log's bytes as they are, unless asked).
/// Fed chunk by chunk (`logs -f`), it keeps the first byte of a two-byte C1
/// control that a chunk ends with for the next chunk.
public struct TerminalText: Sendable {
    private var held: UInt8?

    public init() {}

    /// `chunk` escaped, continuing from the chunks before it.
    public mutating func escape(_ chunk: some Sequence<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        for byte in chunk {
            if let lead = held {
                held = nil
                if (0x80...0x9F).contains(byte) {
                    output += Array("\\u00\(Self.hex(byte))".utf8)
                    continue
                }
                output.append(lead)
            }
            switch byte {
            case UInt8(ascii: "\n"), UInt8(ascii: "\t"): output.append(byte)
            case 0x00..<0x20, 0x7F: output += Array("\\x\(Self.hex(byte))".utf8)
            case 0xC2: held = byte
            default: output.append(byte)
            }
        }
        return output
    }

    /// What is still held back at the end of the output (a last lone 0xC2 byte).
    public mutating func finish() -> [UInt8] {
        defer { held = nil }
        return held.map { [$0] } ?? []
    }

    /// `text` escaped.
    public static func escape(_ text: String) -> String {
        var escaper = TerminalText()
        return String(decoding: escaper.escape(text.utf8) + escaper.finish(), as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}

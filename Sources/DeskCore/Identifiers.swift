/// Rules for the names people choose: member ids and strategy names.
public enum Identifier {
    /// Longest member id or strategy name.
    public static let maximumLength = 64

    /// True for `alice`, `bob_2`, `mean-rev.v2`: ASCII letters and digits first,
    /// then letters, digits, `_`, `-` or `.`; never `..`; at most 64 characters.
    /// Such a name is safe as a folder, file or container name.
    public static func isSafe(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= maximumLength, isAlphanumeric(first), !name.contains("..") else {
            return false
        }
        return bytes.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
    }

    /// The rule in words, for error messages.
    public static let rule =
        "1 to 64 characters: a letter or digit first, then letters, digits, '_', '-' or '.' (no '..')"

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

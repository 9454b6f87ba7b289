/// Bytes that are not one well-formed MessagePack value: what is wrong and at which byte.
public struct MessagePackError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public enum Problem: Sendable, Equatable {
        /// The input ended inside a value that needed `needed` more bytes than the `available` ones.
        case truncated(what: String, needed: Int, available: Int)
        /// 0xc1, which the format never uses.
        case neverUsedByte
        /// A str whose bytes are not UTF-8.
        case invalidUTF8
        /// A timestamp extension whose payload is not 4, 8 or 12 bytes, or whose nanoseconds exceed 999 999 999.
        case invalidTimestamp(length: Int)
        /// Arrays and maps nested deeper than the decoder allows.
        case tooDeep(limit: Int)
        /// Bytes left after the value.
        case trailingBytes(count: Int)
    }

    /// The offset (from the start of the input) of the byte where the problem starts.
    public var offset: Int
    /// What is wrong.
    public var problem: Problem

    /// An error at `offset`.
    public init(_ problem: Problem, at offset: Int) {
        self.problem = problem
        self.offset = offset
    }

    /// `MessagePack at offset 3: truncated str 8: needs 10 bytes, 4 remain`.
    public var description: String {
        let what: String =
            switch problem {
            case .truncated(let what, let needed, let available):
                "truncated \(what): needs \(needed) bytes, \(available) remain"
            case .neverUsedByte: "byte 0xc1 is never used"
            case .invalidUTF8: "str is not valid UTF-8"
            case .invalidTimestamp(let length):
                "timestamp extension of \(length) bytes is invalid (4, 8 or 12 bytes, nanoseconds below 10^9)"
            case .tooDeep(let limit): "arrays and maps nested deeper than \(limit)"
            case .trailingBytes(let count): "\(count) bytes after the value"
            }
        return "MessagePack at offset \(offset): \(what)"
    }
}

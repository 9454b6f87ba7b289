extension MessagePackValue {
    /// How deeply arrays and maps may nest before decoding refuses the input (so that
    /// hostile input cannot exhaust the stack).
    public static let maximumDepth = 256

    /// Decodes exactly one value from `bytes`; anything else — truncated input, a
    /// byte the format never uses, invalid UTF-8, a malformed timestamp, nesting
    /// deeper than ``maximumDepth``, bytes after the value — throws an error naming
    /// the problem and its offset. Never traps, whatever the input.
    public static func decode(_ bytes: [UInt8]) throws(MessagePackError) -> MessagePackValue {
        var reader = MessagePackReader(bytes: bytes)
        let value = try reader.value(depth: 0)
        if reader.offset != bytes.count {
            throw MessagePackError(.trailingBytes(count: bytes.count - reader.offset), at: reader.offset)
        }
        return value
    }
}

/// Reads MessagePack values from a byte array, front to back.
struct MessagePackReader {
    let bytes: [UInt8]
    /// The next byte to read.
    var offset = 0

    private var remaining: Int { bytes.count - offset }

    /// The `count` bytes at the read position (the read position moves past them).
    private mutating func take(_ count: Int, for what: String, startingAt start: Int) throws(MessagePackError)
        -> ArraySlice<UInt8>
    {
        guard count <= remaining else {
            throw MessagePackError(.truncated(what: what, needed: count, available: remaining), at: start)
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    private mutating func integer<Integer: FixedWidthInteger>(
        _ type: Integer.Type, for what: String, startingAt start: Int
    ) throws(MessagePackError) -> Integer {
        let slice = try take(Integer.bitWidth / 8, for: what, startingAt: start)
        // Accumulated unsigned, then reinterpreted: signed types take the bits as two's complement.
        var bits: UInt64 = 0
        for byte in slice { bits = bits << 8 | UInt64(byte) }
        return Integer(truncatingIfNeeded: bits)
    }

    /// A length stored in `width` bytes (1, 2 or 4).
    private mutating func length(width: Int, for what: String, startingAt start: Int) throws(MessagePackError) -> Int {
        switch width {
        case 1: Int(try integer(UInt8.self, for: what, startingAt: start))
        case 2: Int(try integer(UInt16.self, for: what, startingAt: start))
        default: Int(try integer(UInt32.self, for: what, startingAt: start))
        }
    }

    /// Reads one value; `depth` counts the arrays and maps around it.
    mutating func value(depth: Int) throws(MessagePackError) -> MessagePackValue {
        let start = offset
        let marker = try take(1, for: "value", startingAt: start).first!
        switch marker {
        case 0x00...0x7f: return .int(Int64(marker))
        case 0x80...0x8f: return try map(count: Int(marker & 0x0f), depth: depth, start: start)
        case 0x90...0x9f: return try array(count: Int(marker & 0x0f), depth: depth, start: start)
        case 0xa0...0xbf: return try string(count: Int(marker & 0x1f), what: "fixstr", start: start)
        case 0xc0: return .null
        case 0xc1: throw MessagePackError(.neverUsedByte, at: start)
        case 0xc2: return .bool(false)
        case 0xc3: return .bool(true)
        case 0xc4, 0xc5, 0xc6:
            let what = ["bin 8", "bin 16", "bin 32"][Int(marker - 0xc4)]
            let count = try length(width: 1 << Int(marker - 0xc4), for: what, startingAt: start)
            return .binary(Array(try take(count, for: what, startingAt: start)))
        case 0xc7, 0xc8, 0xc9:
            let what = ["ext 8", "ext 16", "ext 32"][Int(marker - 0xc7)]
            let count = try length(width: 1 << Int(marker - 0xc7), for: what, startingAt: start)
            return try ext(count: count, what: what, start: start)
        case 0xca: return .float(Float(bitPattern: try integer(UInt32.self, for: "float 32", startingAt: start)))
        case 0xcb: return .double(Double(bitPattern: try integer(UInt64.self, for: "float 64", startingAt: start)))
        case 0xcc: return .int(Int64(try integer(UInt8.self, for: "uint 8", startingAt: start)))
        case 0xcd: return .int(Int64(try integer(UInt16.self, for: "uint 16", startingAt: start)))
        case 0xce: return .int(Int64(try integer(UInt32.self, for: "uint 32", startingAt: start)))
        case 0xcf:
            let value = try integer(UInt64.self, for: "uint 64", startingAt: start)
            return Int64(exactly: value).map { .int($0) } ?? .uint(value)
        case 0xd0: return .int(Int64(try integer(Int8.self, for: "int 8", startingAt: start)))
        case 0xd1: return .int(Int64(try integer(Int16.self, for: "int 16", startingAt: start)))
        case 0xd2: return .int(Int64(try integer(Int32.self, for: "int 32", startingAt: start)))
        case 0xd3: return .int(try integer(Int64.self, for: "int 64", startingAt: start))
        case 0xd4...0xd8:
            let count = 1 << Int(marker - 0xd4)
            return try ext(count: count, what: "fixext \(count)", start: start)
        case 0xd9, 0xda, 0xdb:
            let what = ["str 8", "str 16", "str 32"][Int(marker - 0xd9)]
            let count = try length(width: 1 << Int(marker - 0xd9), for: what, startingAt: start)
            return try string(count: count, what: what, start: start)
        case 0xdc, 0xdd:
            let what = marker == 0xdc ? "array 16" : "array 32"
            let count = try length(width: marker == 0xdc ? 2 : 4, for: what, startingAt: start)
            return try array(count: count, depth: depth, start: start)
        case 0xde, 0xdf:
            let what = marker == 0xde ? "map 16" : "map 32"
            let count = try length(width: marker == 0xde ? 2 : 4, for: what, startingAt: start)
            return try map(count: count, depth: depth, start: start)
        default: return .int(Int64(Int8(bitPattern: marker)))
        }
    }

    private mutating func string(count: Int, what: String, start: Int) throws(MessagePackError) -> MessagePackValue {
        let slice = try take(count, for: what, startingAt: start)
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw MessagePackError(.invalidUTF8, at: start)
        }
        return .string(text)
    }

    private mutating func ext(count: Int, what: String, start: Int) throws(MessagePackError) -> MessagePackValue {
        let type = try integer(Int8.self, for: what, startingAt: start)
        let payload = try take(count, for: what, startingAt: start)
        guard type == MessagePackTimestamp.extensionType else { return .ext(type: type, data: Array(payload)) }
        guard let timestamp = MessagePackTimestamp(payload: payload) else {
            throw MessagePackError(.invalidTimestamp(length: count), at: start)
        }
        return .timestamp(timestamp)
    }

    private mutating func array(count: Int, depth: Int, start: Int) throws(MessagePackError) -> MessagePackValue {
        guard depth < MessagePackValue.maximumDepth else {
            throw MessagePackError(.tooDeep(limit: MessagePackValue.maximumDepth), at: start)
        }
        // Every element takes at least one byte: a count beyond the input is refused before allocating.
        guard count <= remaining else {
            throw MessagePackError(
                .truncated(what: "array of \(count)", needed: count, available: remaining), at: start)
        }
        var elements: [MessagePackValue] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try value(depth: depth + 1)) }
        return .array(elements)
    }

    private mutating func map(count: Int, depth: Int, start: Int) throws(MessagePackError) -> MessagePackValue {
        guard depth < MessagePackValue.maximumDepth else {
            throw MessagePackError(.tooDeep(limit: MessagePackValue.maximumDepth), at: start)
        }
        guard count <= remaining / 2 else {
            throw MessagePackError(
                .truncated(what: "map of \(count)", needed: 2 * count, available: remaining), at: start)
        }
        var entries: [(key: MessagePackValue, value: MessagePackValue)] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let key = try value(depth: depth + 1)
            entries.append((key: key, value: try value(depth: depth + 1)))
        }
        return .map(entries)
    }
}

extension MessagePackValue {
    /// The value's bytes, each part in its smallest form: integers as fixint or the
    /// narrowest int/uint, strings as fixstr or the narrowest str, timestamps in
    /// the shortest of their three forms. Floats keep their width (`.double` is
    /// float 64). Map entries are written in their order.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    /// Appends the value's bytes to `out`.
    public func encode(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(0xc0)
        case .bool(let value): out.append(value ? 0xc3 : 0xc2)
        case .int(let value):
            if value >= 0 {
                Self.appendUnsigned(UInt64(value), to: &out)
            } else {
                Self.appendNegative(value, to: &out)
            }
        case .uint(let value): Self.appendUnsigned(value, to: &out)
        case .float(let value):
            out.append(0xca)
            out.append(contentsOf: BigEndian.bytes(value.bitPattern))
        case .double(let value):
            out.append(0xcb)
            out.append(contentsOf: BigEndian.bytes(value.bitPattern))
        case .string(let value):
            let count = value.utf8.count
            if count < 32 {
                out.append(0xa0 | UInt8(count))
            } else {
                Self.appendHeader(count, markers: (0xd9, 0xda, 0xdb), to: &out)
            }
            out.append(contentsOf: value.utf8)
        case .binary(let bytes):
            Self.appendHeader(bytes.count, markers: (0xc4, 0xc5, 0xc6), to: &out)
            out.append(contentsOf: bytes)
        case .array(let elements):
            if elements.count < 16 {
                out.append(0x90 | UInt8(elements.count))
            } else {
                Self.appendHeader(elements.count, markers: (nil, 0xdc, 0xdd), to: &out)
            }
            for element in elements { element.encode(into: &out) }
        case .map(let entries):
            if entries.count < 16 {
                out.append(0x80 | UInt8(entries.count))
            } else {
                Self.appendHeader(entries.count, markers: (nil, 0xde, 0xdf), to: &out)
            }
            for entry in entries {
                entry.key.encode(into: &out)
                entry.value.encode(into: &out)
            }
        case .timestamp(let timestamp):
            Self.appendExt(type: MessagePackTimestamp.extensionType, payload: timestamp.payload(), to: &out)
        case .ext(let type, let data):
            Self.appendExt(type: type, payload: data, to: &out)
        }
    }

    private static func appendUnsigned(_ value: UInt64, to out: inout [UInt8]) {
        switch value {
        case 0..<0x80: out.append(UInt8(value))
        case 0..<0x100: out.append(contentsOf: [0xcc, UInt8(value)])
        case 0..<0x1_0000: out.append(marker: 0xcd, BigEndian.bytes(UInt16(value)))
        case 0..<0x1_0000_0000: out.append(marker: 0xce, BigEndian.bytes(UInt32(value)))
        default: out.append(marker: 0xcf, BigEndian.bytes(value))
        }
    }

    private static func appendNegative(_ value: Int64, to out: inout [UInt8]) {
        switch value {
        case -32..<0: out.append(UInt8(bitPattern: Int8(value)))
        case Int64(Int8.min)..<0: out.append(contentsOf: [0xd0, UInt8(bitPattern: Int8(value))])
        case Int64(Int16.min)..<0: out.append(marker: 0xd1, BigEndian.bytes(Int16(value)))
        case Int64(Int32.min)..<0: out.append(marker: 0xd2, BigEndian.bytes(Int32(value)))
        default: out.append(marker: 0xd3, BigEndian.bytes(value))
        }
    }

    /// A marker and a length of 1, 2 or 4 bytes, the narrowest that holds `count`
    /// among the markers given (arrays and maps have no 1-byte form).
    private static func appendHeader(_ count: Int, markers: (UInt8?, UInt8, UInt8), to out: inout [UInt8]) {
        if let narrow = markers.0, count < 0x100 {
            out.append(contentsOf: [narrow, UInt8(count)])
        } else if count < 0x1_0000 {
            out.append(markers.1)
            out.append(contentsOf: BigEndian.bytes(UInt16(count)))
        } else {
            out.append(markers.2)
            out.append(contentsOf: BigEndian.bytes(UInt32(count)))
        }
    }

    private static func appendExt(type: Int8, payload: [UInt8], to out: inout [UInt8]) {
        switch payload.count {
        case 1: out.append(0xd4)
        case 2: out.append(0xd5)
        case 4: out.append(0xd6)
        case 8: out.append(0xd7)
        case 16: out.append(0xd8)
        default: appendHeader(payload.count, markers: (0xc7, 0xc8, 0xc9), to: &out)
        }
        out.append(UInt8(bitPattern: type))
        out.append(contentsOf: payload)
    }
}

extension [UInt8] {
    /// Appends a marker byte and the bytes that follow it.
    fileprivate mutating func append(marker: UInt8, _ payload: [UInt8]) {
        append(marker)
        append(contentsOf: payload)
    }
}

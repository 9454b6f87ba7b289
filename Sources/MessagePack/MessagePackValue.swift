/// A MessagePack value (the codec Alpaca's market data stream speaks).
///
/// Integers decode canonically: `.int` for every value that fits `Int64`, `.uint`
/// only above `Int64.max`; and `==` compares integers by value, so `.uint(5) == .int(5)`.
/// Maps keep their entries in wire order (Alpaca's clients require `T` first) and
/// may repeat a key; ``subscript(_:)`` finds the first.
public enum MessagePackValue: Sendable {
    /// `nil` (0xc0).
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A signed integer (fixint, int 8–64, and uint 8–64 up to `Int64.max`).
    case int(Int64)
    /// An unsigned integer above `Int64.max` (or given so when encoding).
    case uint(UInt64)
    /// A float 32.
    case float(Float)
    /// A float 64.
    case double(Double)
    /// A UTF-8 string.
    case string(String)
    /// Raw bytes (bin 8–32).
    case binary([UInt8])
    /// An array.
    case array([MessagePackValue])
    /// A map, entries in wire order.
    case map([(key: MessagePackValue, value: MessagePackValue)])
    /// The timestamp extension (type −1).
    case timestamp(MessagePackTimestamp)
    /// Any other extension: its type and payload.
    case ext(type: Int8, data: [UInt8])
}

extension MessagePackValue: Equatable {
    /// Structural equality; integers compare by value whatever their case.
    public static func == (lhs: MessagePackValue, rhs: MessagePackValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.uint(let a), .uint(let b)): a == b
        case (.int(let a), .uint(let b)), (.uint(let b), .int(let a)): a >= 0 && UInt64(a) == b
        case (.float(let a), .float(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.binary(let a), .binary(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.map(let a), .map(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.timestamp(let a), .timestamp(let b)): a == b
        case (.ext(let t1, let d1), .ext(let t2, let d2)): t1 == t2 && d1 == d2
        default: false
        }
    }
}

extension MessagePackValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    /// `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// `.int`.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// `.double`.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// `.array`.
    public init(arrayLiteral elements: MessagePackValue...) { self = .array(elements) }
    /// `.null`.
    public init(nilLiteral: ()) { self = .null }
}

extension MessagePackValue {
    /// A map with string keys, in the order given.
    public static func map(_ entries: KeyValuePairs<String, MessagePackValue>) -> MessagePackValue {
        .map(entries.map { (key: .string($0.key), value: $0.value) })
    }

    /// The value of the first entry whose key is the string `key`; nil for a missing key or a non-map.
    public subscript(key: String) -> MessagePackValue? {
        guard case .map(let entries) = self else { return nil }
        for entry in entries {
            if case .string(let name) = entry.key, name == key { return entry.value }
        }
        return nil
    }

    /// The string, for `.string`.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, for `.int` and for a `.uint` that fits `Int64`.
    public var int64Value: Int64? {
        switch self {
        case .int(let value): value
        case .uint(let value): Int64(exactly: value)
        default: nil
        }
    }

    /// The number as a `Double`: floats as they are, integers converted (exactly up to 2^53).
    public var doubleValue: Double? {
        switch self {
        case .double(let value): value
        case .float(let value): Double(value)
        case .int(let value): Double(value)
        case .uint(let value): Double(value)
        default: nil
        }
    }

    /// The elements, for `.array`.
    public var arrayValue: [MessagePackValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The entries, for `.map`.
    public var mapEntries: [(key: MessagePackValue, value: MessagePackValue)]? {
        if case .map(let entries) = self { return entries }
        return nil
    }

    /// True for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

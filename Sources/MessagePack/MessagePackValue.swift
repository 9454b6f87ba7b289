import Foundation

/// A MessagePack value (the codec Alpaca's market data stream speaks).
public enum MessagePackValue: Sendable, Equatable {
    case nil_
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case float(Float)
    case double(Double)
    case string(String)
    case binary([UInt8])
    case array([MessagePackValue])
    /// Keys in their wire order (Alpaca's clients require `T` first).
    case map([(MessagePackValue, MessagePackValue)])
    /// A timestamp extension value (type -1).
    case timestamp(seconds: Int64, nanoseconds: UInt32)
    case ext(type: Int8, data: [UInt8])

    public static func == (lhs: MessagePackValue, rhs: MessagePackValue) -> Bool {
        switch (lhs, rhs) {
        case (.nil_, .nil_): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.uint(let a), .uint(let b)): a == b
        case (.float(let a), .float(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.binary(let a), .binary(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.map(let a), .map(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.timestamp(let s1, let n1), .timestamp(let s2, let n2)): s1 == s2 && n1 == n2
        case (.ext(let t1, let d1), .ext(let t2, let d2)): t1 == t2 && d1 == d2
        default: false
        }
    }
}

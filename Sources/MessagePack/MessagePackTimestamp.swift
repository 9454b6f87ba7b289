import Foundation

/// The MessagePack timestamp extension (type −1): seconds since 1970-01-01 UTC
/// and nanoseconds within that second, in its 32-, 64- or 96-bit wire form.
public struct MessagePackTimestamp: Sendable, Hashable {
    /// The extension type of timestamps.
    public static let extensionType: Int8 = -1

    /// Whole seconds since the epoch (negative before 1970).
    public var seconds: Int64
    /// Nanoseconds within the second, 0 to 999 999 999.
    public var nanoseconds: UInt32

    /// A timestamp; whole seconds in `nanoseconds` carry into `seconds`.
    public init(seconds: Int64, nanoseconds: UInt32 = 0) {
        self.seconds = seconds + Int64(nanoseconds / 1_000_000_000)
        self.nanoseconds = nanoseconds % 1_000_000_000
    }

    /// The timestamp nearest to `date` (to the nanosecond as far as a `Date` holds it).
    public init(_ date: Date) {
        let interval = date.timeIntervalSince1970
        let whole = interval.rounded(.down)
        var nanos = ((interval - whole) * 1e9).rounded()
        var seconds = Int64(whole)
        if nanos >= 1e9 {
            nanos -= 1e9
            seconds += 1
        }
        self.init(seconds: seconds, nanoseconds: UInt32(nanos))
    }

    /// The moment as a `Date` (whose `Double` keeps about a tenth of a microsecond today).
    public var date: Date {
        Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1e9)
    }

    /// The extension payload in the smallest form that holds it: 4 bytes (seconds
    /// in 0 ..< 2³², no nanoseconds), 8 bytes (seconds in 0 ..< 2³⁴) or 12 bytes.
    public func payload() -> [UInt8] {
        if nanoseconds == 0, let small = UInt32(exactly: seconds) {
            return BigEndian.bytes(small)
        }
        if seconds >= 0, seconds < (1 << 34) {
            return BigEndian.bytes(UInt64(nanoseconds) << 34 | UInt64(seconds))
        }
        return BigEndian.bytes(nanoseconds) + BigEndian.bytes(UInt64(bitPattern: seconds))
    }

    /// Reads a timestamp payload of 4, 8 or 12 bytes; nil for any other length or
    /// for nanoseconds of a billion or more.
    public init?(payload: some Collection<UInt8>) {
        let bytes = Array(payload)
        let seconds: Int64
        let nanoseconds: UInt32
        switch bytes.count {
        case 4:
            (seconds, nanoseconds) = (Int64(BigEndian.read(UInt32.self, bytes, at: 0)), 0)
        case 8:
            let word = BigEndian.read(UInt64.self, bytes, at: 0)
            (seconds, nanoseconds) = (Int64(word & ((1 << 34) - 1)), UInt32(word >> 34))
        case 12:
            seconds = Int64(bitPattern: BigEndian.read(UInt64.self, bytes, at: 4))
            nanoseconds = BigEndian.read(UInt32.self, bytes, at: 0)
        default:
            return nil
        }
        guard nanoseconds < 1_000_000_000 else { return nil }
        self.init(seconds: seconds, nanoseconds: nanoseconds)
    }
}

/// Network byte order helpers.
enum BigEndian {
    /// The bytes of `value`, most significant first.
    static func bytes<Integer: FixedWidthInteger>(_ value: Integer) -> [UInt8] {
        (0..<Integer.bitWidth / 8).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    /// The unsigned integer whose bytes start at `offset`, most significant first; the caller checked the length.
    static func read<Integer: UnsignedInteger & FixedWidthInteger>(
        _ type: Integer.Type, _ bytes: [UInt8], at offset: Int
    ) -> Integer {
        var value: Integer = 0
        for index in offset..<offset + Integer.bitWidth / 8 {
            value = value << 8 | Integer(bytes[index])
        }
        return value
    }
}

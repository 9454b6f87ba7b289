import Foundation
import MessagePack

/// The data stream's JSON form, for clients that did not ask for MessagePack
/// (wscat, the docs): the same arrays of maps as JSON text, timestamps as RFC 3339
/// strings with nanoseconds.
public enum MarketDataJSON {
    /// `value` as JSON text; map keys stay in order (non-string keys become their
    /// JSON text), binary and extension values become null.
    public static func text(_ value: MessagePackValue) -> String {
        var out = ""
        append(value, to: &out)
        return out
    }

    private static func append(_ value: MessagePackValue, to out: inout String) {
        switch value {
        case .null, .binary, .ext: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .int(let number): out += String(number)
        case .uint(let number): out += String(number)
        case .float(let number): appendNumber(Double(number), to: &out)
        case .double(let number): appendNumber(number, to: &out)
        case .string(let text): appendString(text, to: &out)
        case .timestamp(let timestamp): appendString(rfc3339(timestamp), to: &out)
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                append(element, to: &out)
            }
            out += "]"
        case .map(let entries):
            out += "{"
            for (index, entry) in entries.enumerated() {
                if index > 0 { out += "," }
                if case .string(let key) = entry.key {
                    appendString(key, to: &out)
                } else {
                    appendString(text(entry.key), to: &out)
                }
                out += ":"
                append(entry.value, to: &out)
            }
            out += "}"
        }
    }

    /// The shortest text that reads back as `number`; null for NaN and infinities.
    private static func appendNumber(_ number: Double, to out: inout String) {
        out += number.isFinite ? "\(number)" : "null"
    }

    private static func appendString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// `2024-01-02T15:04:05.123456789Z`.
    public static func rfc3339(_ timestamp: MessagePackTimestamp) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second],
            from: Date(timeIntervalSince1970: Double(timestamp.seconds)))
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", parts.year!, parts.month!, parts.day!, parts.hour!,
            parts.minute!, parts.second!, Int(timestamp.nanoseconds))
    }

    /// A client's JSON message as a value (numbers that are whole become `.int`);
    /// nil when the text is not JSON.
    public static func value(fromJSON bytes: [UInt8]) -> MessagePackValue? {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)))?.value
    }

    /// Any JSON value, decoded.
    private struct JSONValue: Decodable {
        let value: MessagePackValue

        init(from decoder: any Decoder) throws {
            if var array = try? decoder.unkeyedContainer() {
                var elements: [MessagePackValue] = []
                while !array.isAtEnd { elements.append(try array.decode(JSONValue.self).value) }
                value = .array(elements)
            } else if let object = try? decoder.container(keyedBy: AnyKey.self) {
                value = .map(
                    try object.allKeys.sorted { $0.stringValue < $1.stringValue }.map {
                        (key: .string($0.stringValue), value: try object.decode(JSONValue.self, forKey: $0).value)
                    })
            } else {
                let single = try decoder.singleValueContainer()
                if single.decodeNil() {
                    value = .null
                } else if let flag = try? single.decode(Bool.self) {
                    value = .bool(flag)
                } else if let whole = try? single.decode(Int64.self) {
                    value = .int(whole)
                } else if let number = try? single.decode(Double.self) {
                    value = .double(number)
                } else {
                    value = .string(try single.decode(String.self))
                }
            }
        }
    }

    private struct AnyKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

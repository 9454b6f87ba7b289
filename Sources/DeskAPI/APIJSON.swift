import Foundation

/// How the API writes and reads its JSON: sorted keys, slashes unescaped,
/// ISO-8601 times (`2026-11-25T14:30:00Z`), decimals as strings, absent values
/// null (`@Nullable`) or left out where a field only sometimes applies.
public enum APIJSON {
    /// The server's and the CLI's encoder.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The client's decoder for the server's answers.
    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

/// An optional field that is written as `null` when absent (Swift's synthesized
/// coding would leave the key out), and read as absent when its key is missing.
@propertyWrapper
public struct Nullable<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// A `@Nullable` field whose key is missing reads as nil.
    public func decode<Value>(_ type: Nullable<Value>.Type, forKey key: Key) throws -> Nullable<Value> {
        try decodeIfPresent(type, forKey: key) ?? Nullable(wrappedValue: nil)
    }
}

/// The error body of every JSON route: `{"status":"error","message":…}`.
public struct ErrorReply: Codable, Sendable, Equatable {
    public var status: String
    public var message: String

    public init(message: String) {
        status = "error"
        self.message = message
    }
}

/// A request body with an example, for the error that says what to send instead.
public protocol APIRequestBody: Codable, Sendable {
    /// A body that would be accepted, e.g. `{"member": "alice"}`.
    static var example: String { get }
}

import Foundation

/// Decodes `Decodable` types from JSON read by `StrictJSON`'s rules, and refuses
/// every key the type does not read: `{"usr": "alice"}` for a type that reads
/// `member` is an error naming `usr` and the keys that are read, not a request
/// with no member. Every problem carries its line and column.
///
/// A key counts as known when the type asks for it (`decode`, `decodeIfPresent`,
/// `contains`), so optional keys, aliases (`member` or the seed's `user_id`) and
/// dictionaries need nothing extra. Numbers keep their text: `Decimal` is read
/// exactly, integers only from whole numbers. Types report their own rules by
/// throwing `DecodingError.dataCorrupted` with a sentence; it comes back as a
/// `StrictJSON.Problem` at the value's key.
public struct StrictJSONDecoder: Sendable {
    /// Handed to the types being decoded (`Decoder.userInfo`).
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    public init() {}

    /// Decodes `type` from `bytes`.
    /// - Parameter canonicalKey: see `StrictJSON.check(_:canonicalKey:)`.
    public func decode<T: Decodable>(
        _ type: T.Type, from bytes: [UInt8], canonicalKey: @escaping (String) -> String = { $0 }
    ) throws(StrictJSON.Problem) -> T {
        try decode(type, from: try StrictJSON.parse(bytes, canonicalKey: canonicalKey))
    }

    /// Decodes `type` from a document `StrictJSON.parse` read.
    public func decode<T: Decodable>(_ type: T.Type, from document: StrictJSON.Document) throws(StrictJSON.Problem)
        -> T
    {
        let session = DecodingSession(document: document)
        let value: T
        do {
            value = try T(from: NodeDecoder(node: document.root, codingPath: [], session: session, userInfo: userInfo))
        } catch let error as DecodingError {
            throw session.problem(for: error)
        } catch {
            throw session.problem(message: "\(error)", at: document.root.offset, path: [])
        }
        if let unknown = session.firstUnknownKey() { throw unknown }
        return value
    }
}

/// A coding key made from any name (for the old spellings a request may still use).
public struct NamedKey: CodingKey, Sendable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

extension Decoder {
    /// The value under `name`, or under its older spelling `alias` (`user` for
    /// `member`); giving both is an error rather than a guess.
    public func decodeIfPresent<T: Decodable>(_ type: T.Type, _ name: String, alias: String) throws -> T? {
        let container = try self.container(keyedBy: NamedKey.self)
        let new = try container.decodeIfPresent(type, forKey: NamedKey(name))
        let old = try container.decodeIfPresent(type, forKey: NamedKey(alias))
        if new != nil && old != nil {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: codingPath + [NamedKey(alias)],
                    debugDescription: "\"\(alias)\" is the older name of \"\(name)\": give one of them, not both"))
        }
        return new ?? old
    }
}

/// The keys a type asked for in each object (by the object's offset), to find the unknown ones.
private final class DecodingSession {
    let document: StrictJSON.Document
    private var asked: [Int: [String]] = [:]

    init(document: StrictJSON.Document) { self.document = document }

    func visit(_ object: Int) { if asked[object] == nil { asked[object] = [] } }

    func ask(_ key: String, in object: Int) {
        if asked[object]?.contains(key) == false { asked[object]?.append(key) }
    }

    func problem(message: String, at offset: Int, path: [String], allowedKeys: [String]? = nil) -> StrictJSON.Problem {
        let (line, column) = document.position(of: offset)
        return StrictJSON.Problem(
            message: message, offset: offset, line: line, column: column, path: path, allowedKeys: allowedKeys)
    }

    /// The first key, in the text's order, that no type asked for in an object it read
    /// (the message names every unknown key of that object).
    func firstUnknownKey() -> StrictJSON.Problem? {
        func search(_ node: StrictJSON.Node, _ path: [String]) -> StrictJSON.Problem? {
            switch node.value {
            case .object(let members):
                if let known = asked[node.offset] {
                    let unknown = members.filter { !known.contains($0.key) }
                    if let first = unknown.first {
                        let names = unknown.map { OrderValidation.quoted(StrictJSON.dotted(path + [$0.key])) }
                        return problem(
                            message:
                                "unknown \(names.count == 1 ? "key" : "keys") \(names.joined(separator: ", ")); allowed here: \(known.joined(separator: ", "))",
                            at: first.keyOffset, path: path + [first.key], allowedKeys: known)
                    }
                }
                for member in members {
                    if let found = search(member.node, path + [member.key]) { return found }
                }
            case .array(let elements):
                for (index, element) in elements.enumerated() {
                    if let found = search(element, path + ["[\(index)]"]) { return found }
                }
            default: break
            }
            return nil
        }
        return search(document.root, [])
    }

    /// A decoding error as a problem at the key (or element) its coding path names.
    func problem(for error: DecodingError) -> StrictJSON.Problem {
        switch error {
        case .keyNotFound(let key, let context):
            let path = context.codingPath.map(Self.component)
            let missing = StrictJSON.dotted(path + [key.stringValue])
            return problem(
                message: "\(OrderValidation.quoted(missing)) is required", at: locate(path),
                path: path + [key.stringValue])
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map(Self.component)
            return problem(message: context.debugDescription, at: locate(path), path: path)
        @unknown default:
            return problem(message: "\(error)", at: document.root.offset, path: [])
        }
    }

    static func component(_ key: any CodingKey) -> String {
        key.intValue.map { "[\($0)]" } ?? key.stringValue
    }

    /// The offset of the key (or element) at `path`, as deep as the text goes.
    private func locate(_ path: [String]) -> Int {
        var node = document.root
        var offset = node.offset
        for part in path {
            switch node.value {
            case .object(let members):
                guard let member = members.first(where: { $0.key == part }) else { return offset }
                offset = member.keyOffset
                node = member.node
            case .array(let elements):
                guard let index = Int(part.dropFirst().dropLast()), elements.indices.contains(index) else {
                    return offset
                }
                node = elements[index]
                offset = node.offset
            default: return offset
            }
        }
        return offset
    }
}

/// A `Decoder` over one value of the text.
private struct NodeDecoder: Decoder {
    let node: StrictJSON.Node
    let codingPath: [any CodingKey]
    let session: DecodingSession
    let sendableUserInfo: [CodingUserInfoKey: any Sendable]

    init(
        node: StrictJSON.Node, codingPath: [any CodingKey], session: DecodingSession,
        userInfo: [CodingUserInfoKey: any Sendable]
    ) {
        self.node = node
        self.codingPath = codingPath
        self.session = session
        self.sendableUserInfo = userInfo
    }

    var userInfo: [CodingUserInfoKey: Any] { sendableUserInfo }

    func child(_ node: StrictJSON.Node, _ key: any CodingKey) -> NodeDecoder {
        NodeDecoder(node: node, codingPath: codingPath + [key], session: session, userInfo: sendableUserInfo)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = node.value else { throw mismatch(Key.self, expected: "an object") }
        session.visit(node.offset)
        return KeyedDecodingContainer(KeyedContainer<Key>(decoder: self, members: members))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = node.value else { throw mismatch([Any].self, expected: "a list") }
        return UnkeyedContainer(decoder: self, elements: elements)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleValue(decoder: self) }

    /// `"path" must be <expected>`, as a type mismatch at this value.
    func mismatch(_ type: Any.Type, expected: String) -> DecodingError {
        let shown =
            codingPath.isEmpty
            ? "the body"
            : OrderValidation.quoted(
                StrictJSON.dotted(codingPath.map(DecodingSession.component)))
        let found = if case .null = node.value { ", not null" } else { "" }
        return .typeMismatch(
            type, .init(codingPath: codingPath, debugDescription: "\(shown) must be \(expected)\(found)"))
    }

    /// Decodes `type` from this value: primitives from the text, `Decimal` exactly, anything else by its own init.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        switch type {
        case is String.Type:
            guard case .string(let text) = node.value else { throw mismatch(type, expected: "a string") }
            return text as! T
        case is Bool.Type:
            guard case .bool(let flag) = node.value else { throw mismatch(type, expected: "true or false") }
            return flag as! T
        case is Double.Type:
            guard case .number(let text) = node.value, let number = Double(text) else {
                throw mismatch(type, expected: "a number")
            }
            return number as! T
        case is Decimal.Type:
            guard case .number(let text) = node.value, let number = Decimal(string: text) else {
                throw mismatch(type, expected: "a number")
            }
            return number as! T
        case let integer as any FixedWidthInteger.Type:
            guard case .number(let text) = node.value, let whole = integer.init(text, radix: 10) else {
                throw mismatch(type, expected: "a whole number")
            }
            return whole as! T
        default:
            return try T(from: self)
        }
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoder
    let members: [StrictJSON.Member]

    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { members.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool {
        decoder.session.ask(key.stringValue, in: decoder.node.offset)
        return members.contains { $0.key == key.stringValue }
    }

    func child(_ key: Key) throws -> NodeDecoder {
        decoder.session.ask(key.stringValue, in: decoder.node.offset)
        guard let member = members.first(where: { $0.key == key.stringValue }) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
        }
        return decoder.child(member.node, key)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try child(key).node.value { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decode(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    struct Index: CodingKey {
        var intValue: Int?
        var stringValue: String { "\(intValue ?? 0)" }
        init(_ index: Int) { intValue = index }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { self.intValue = intValue }
    }

    let decoder: NodeDecoder
    let elements: [StrictJSON.Node]
    var currentIndex = 0

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    mutating func next() throws -> NodeDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self, .init(codingPath: codingPath, debugDescription: "the list has too few elements"))
        }
        defer { currentIndex += 1 }
        return decoder.child(elements[currentIndex], Index(currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, case .null = elements[currentIndex].value else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> any Decoder { try next() }
}

private struct SingleValue: SingleValueDecodingContainer {
    let decoder: NodeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool {
        if case .null = decoder.node.value { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decode(type) }
}

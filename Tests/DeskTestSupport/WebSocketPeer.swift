import Foundation

/// A WebSocket client over a `RawConnection`, byte for byte (RFC 6455): for
/// tests that open a desk's streams the way any client, or an attacker, does.
public struct WebSocketPeer {
    public let connection: RawConnection

    /// What the desk sent: text messages, and whether it closed.
    public struct Received: Sendable {
        public var texts: [String] = []
        public var closed = false
    }

    /// Upgrades a fresh TCP connection to `path`; nil when the desk did not answer 101.
    public static func open(port: Int, path: String, timeout: Duration = .seconds(10)) async throws -> WebSocketPeer? {
        let connection = try RawConnection.tcp(port: port)
        let upgrade =
            "GET \(path) HTTP/1.1\r\nHost: desk\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        guard connection.send(upgrade) else { return nil }
        let deadline = ContinuousClock.now + timeout
        var head: [UInt8] = []
        while ContinuousClock.now < deadline {
            guard case .bytes(let bytes) = await connection.receive(timeout: deadline - ContinuousClock.now) else {
                return nil
            }
            head += bytes
            if String(decoding: head, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        let text = String(decoding: head, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 101") else { return nil }
        return WebSocketPeer(connection: connection)
    }

    /// Sends one masked text frame.
    @discardableResult
    public func send(text: String) -> Bool {
        let payload = Array(text.utf8)
        var frame: [UInt8] = [0x81]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame.append(0x80 | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return connection.send(frame)
    }

    /// Reads frames for up to `timeout`, or until the desk closes the connection
    /// (or sends a close frame, when `untilClose`).
    public func receive(timeout: Duration, untilClose: Bool = true) async -> Received {
        let deadline = ContinuousClock.now + timeout
        var buffer: [UInt8] = []
        var received = Received()
        while ContinuousClock.now < deadline {
            switch await connection.receive(timeout: deadline - ContinuousClock.now) {
            case .bytes(let bytes): buffer += bytes
            case .closed:
                received.closed = true
                return received
            case .timedOut: return received
            }
            while let (opcode, payload, used) = Self.frame(in: buffer) {
                buffer.removeFirst(used)
                if opcode == 0x1 { received.texts.append(String(decoding: payload, as: UTF8.self)) }
                if opcode == 0x8 {
                    received.closed = true
                    if untilClose { return received }
                }
            }
        }
        return received
    }

    /// The first whole unmasked frame in `bytes`: its opcode, payload and length.
    static func frame(in bytes: [UInt8]) -> (UInt8, [UInt8], Int)? {
        guard bytes.count >= 2 else { return nil }
        var length = Int(bytes[1] & 0x7f)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            offset = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = bytes[2..<10].reduce(0) { $0 << 8 | Int($1) }
            offset = 10
        }
        guard bytes.count >= offset + length else { return nil }
        return (bytes[0] & 0x0f, Array(bytes[offset..<offset + length]), offset + length)
    }
}

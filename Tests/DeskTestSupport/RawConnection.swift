import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain socket to a desk, byte for byte: for tests that play a client who
/// misbehaves (holds connections, sends half a request, trickles headers).
public final class RawConnection {
    public let descriptor: Int32

    /// What a read saw.
    public enum Received: Equatable {
        case bytes([UInt8])
        /// The desk closed the connection.
        case closed
        /// Nothing arrived in time.
        case timedOut
    }

    /// Why a connection could not be made.
    public struct Failure: Error, CustomStringConvertible {
        public var errno: Int32
        public var description: String { "connect failed: \(String(cString: strerror(errno)))" }
    }

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    /// Connects `descriptor` to `address` (a `sockaddr_in` or `sockaddr_un`), or closes it and throws.
    private static func connect<Address>(_ descriptor: Int32, to address: Address) throws -> RawConnection {
        var address = address
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<Address>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw Failure(errno: code)
        }
        return RawConnection(descriptor: descriptor)
    }

    /// Connects to `127.0.0.1:port`, blocking.
    public static func tcp(port: Int) throws -> RawConnection {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return try connect(socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0), to: address)
    }

    /// Connects to the unix socket at `path`, waiting (without holding a thread)
    /// while its backlog is full, at most `timeout`.
    public static func unix(path: String, waiting timeout: Duration) async throws -> RawConnection {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                return try unix(path: path, blocking: false)
            } catch let failure as Failure where failure.errno == EAGAIN && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// Connects to the unix socket at `path`; with `blocking: false` a full
    /// backlog fails at once (EAGAIN) instead of waiting.
    public static func unix(path: String, blocking: Bool = true) throws -> RawConnection {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        if !blocking { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connection = try connect(descriptor, to: address)
        if !blocking { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK) }
        return connection
    }

    /// Makes closing this connection (dropping the last reference) reset it (RST,
    /// SO_LINGER 0) instead of ending it, as a client that gives up abruptly does.
    public func resetOnClose() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }

    /// Writes all of `text`; false when the desk already closed the connection.
    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Writes all of `bytes`; false when the desk already closed the connection.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// Waits up to `timeout` for bytes or the end of the connection (polling, so
    /// that a waiting test never holds one of the concurrency pool's threads).
    public func receive(timeout: Duration) async -> Received {
        let deadline = ContinuousClock.now + timeout
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while poll(&poller, 1, 0) <= 0 {
            if ContinuousClock.now >= deadline { return .timedOut }
            try? await Task.sleep(for: .milliseconds(5))
        }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return count <= 0 ? .closed : .bytes(Array(buffer[0..<count]))
    }

    /// Reads until the desk closes the connection or `timeout` passes; returns
    /// everything read, and whether it closed.
    public func readUntilClosed(timeout: Duration) async -> (text: String, closed: Bool) {
        let deadline = ContinuousClock.now + timeout
        var collected: [UInt8] = []
        while ContinuousClock.now < deadline {
            switch await receive(timeout: deadline - ContinuousClock.now) {
            case .bytes(let bytes): collected += bytes
            case .closed: return (String(decoding: collected, as: UTF8.self), true)
            case .timedOut: return (String(decoding: collected, as: UTF8.self), false)
            }
        }
        return (String(decoding: collected, as: UTF8.self), false)
    }

    /// Sends one HTTP/1.1 request and reads one response with a Content-Length body.
    public func request(
        _ method: String, _ path: String, headers: [String: String] = [:], body: String = "",
        timeout: Duration = .seconds(10)
    ) async -> (status: Int, body: String)? {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: desk\r\nContent-Length: \(body.utf8.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        guard send(head + "\r\n" + body) else { return nil }
        let deadline = ContinuousClock.now + timeout
        var collected: [UInt8] = []
        while ContinuousClock.now < deadline {
            guard case .bytes(let bytes) = await receive(timeout: deadline - ContinuousClock.now) else { return nil }
            collected += bytes
            let text = String(decoding: collected, as: UTF8.self)
            guard let split = text.range(of: "\r\n\r\n") else { continue }
            let headText = text[..<split.lowerBound]
            let length =
                headText.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            let bodyText = String(text[split.upperBound...])
            if bodyText.utf8.count >= length {
                let status = Int(headText.split(separator: " ")[1]) ?? 0
                return (status, bodyText)
            }
        }
        return nil
    }
}

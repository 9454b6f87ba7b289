import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks, before the desk touches its ledger, that it can listen where it was
/// told to, and says in plain words what to do when it cannot.
public enum ListenerCheck {
    /// Why the desk cannot listen.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The sentence for a TCP port that cannot be bound.
    public static func portInUse(host: String, port: Int) -> Problem {
        Problem(
            message:
                "port \(port) on \(host) is already in use by another program: choose another with --port N (or PORT=N); --port 0 picks any free port"
        )
    }

    /// Binds `host:port` for a moment (as the server will, with SO_REUSEADDR) and
    /// releases it. Port 0 always works.
    public static func checkTCP(host: String, port: Int) throws(Problem) {
        guard port != 0 else { return }
        let address: SocketAddress
        do { address = try SocketAddress.makeAddressResolvingHost(host, port: port) } catch {
            throw Problem(message: "cannot listen on \(host): it is not an address of this machine (\(error))")
        }
        let descriptor = socket(Int32(address.protocol.rawValue), Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else {
            throw Problem(message: "cannot open a socket: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = address.withSockAddr { pointer, size in bind(descriptor, pointer, socklen_t(size)) }
        guard result != 0 else { return }
        switch errno {
        case EADDRINUSE: throw portInUse(host: host, port: port)
        case EACCES:
            throw Problem(
                message:
                    "port \(port) needs privileges this user does not have (ports below 1024): choose one above 1023 with --port N (or PORT=N)"
            )
        case EADDRNOTAVAIL:
            throw Problem(message: "cannot listen on \(host): it is not an address of this machine (--host, DESK_HOST)")
        case let code:
            throw Problem(message: "cannot listen on \(host):\(port): \(String(cString: strerror(code)))")
        }
    }

    /// A socket file at `path` that something still accepts connections on belongs
    /// to a running program: the desk must not remove it. A stale one is fine (the
    /// server replaces it); anything else at the path is refused.
    public static func checkUnixSocket(path: String) throws(Problem) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw Problem(
                message:
                    "\(path) exists and is not a socket: remove it or choose another path with --unix-socket PATH (DESK_UNIX_SOCKET)"
            )
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if connected == 0 {
            throw Problem(
                message:
                    "unix socket \(path) is in use: another desk or program accepts connections on it; choose another with --unix-socket PATH (DESK_UNIX_SOCKET)"
            )
        }
    }

    /// The plain message for a failure to bind, when `error` is one (address in use).
    public static func explain(_ error: any Error, host: String, port: Int) -> Problem? {
        guard let error = error as? IOError, error.errnoCode == EADDRINUSE else { return nil }
        return portInUse(host: host, port: port)
    }
}

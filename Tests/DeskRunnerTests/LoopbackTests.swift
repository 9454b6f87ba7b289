import DeskMarketData
import DeskRunner
import DeskTestSupport
import Foundation
import Testing

/// A unix socket server on a background thread: answers each connection's first
/// bytes with `pong:` and them.
final class EchoSocket: @unchecked Sendable {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        unlink(path)
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        struct CannotListen: Error {}
        guard bound == 0, listen(listener, 8) == 0 else { throw CannotListen() }
        chmod(path, 0o666)
        fd = listener
        Thread.detachNewThread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                var buffer = [UInt8](repeating: 0, count: 256)
                let got = read(client, &buffer, buffer.count)
                let reply = Array("pong:".utf8) + buffer.prefix(max(0, got))
                _ = reply.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                Glibc.close(client)
            }
        }
    }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
        unlink(path)
    }
}

@Suite("The sandbox's loopback: 127.0.0.1:<port> leads to the desk's socket and nowhere else", .serialized)
struct LoopbackTests {
    @Test("a TCP-only client inside the sandbox reaches the desk's socket on loopback, and nothing else")
    func forwarder() async throws {
        try #require(getuid() == 0, "the sandbox switches uids and needs root (CI runs as root)")
        let folder = try StrategyFolder()
        defer { folder.remove() }
        let socketPath = folder.folder.url.appendingPathComponent("desk.sock").path
        let echo = try EchoSocket(path: socketPath)
        defer { echo.close() }
        try folder.add(
            "tcp_only",
            script: """
                import socket, sys
                for host in ("127.0.0.1", "::1"):
                    s = socket.create_connection((host, 8765), timeout=5)
                    s.sendall(b"ping")
                    print("REPLY", host, s.recv(100).decode(), flush=True)
                    s.close()
                for host, port in (("127.0.0.1", 8766), ("10.0.0.1", 80)):
                    try:
                        socket.create_connection((host, port), timeout=2).close()
                        print("REACHED", host, port, flush=True)
                    except OSError as error:
                        print("REFUSED", host, port, flush=True)
                sys.stdin.read()
                """)
        var configuration = folder.configuration(sandbox: SandboxOptions(baseUID: 63_800, loopbackPort: 8765))
        configuration.deskURL = "unix://\(socketPath)"
        try await withSupervisor(configuration, feed: FeedHub(source: nil, logger: testLogger())) { supervisor in
            try #require(supervisor.sandboxReport.problem == nil, "\(supervisor.sandboxReport.problem ?? "")")
            _ = await supervisor.start(["tcp_only"])
            #expect(await eventually { folder.log("tcp_only").components(separatedBy: "REFUSED").count == 3 })
            let log = folder.log("tcp_only")
            #expect(log.contains("REPLY 127.0.0.1 pong:ping"), "\(log)")
            #expect(log.contains("REPLY ::1 pong:ping"), "\(log)")
            #expect(!log.contains("REACHED"), "\(log)")
        }
    }
}

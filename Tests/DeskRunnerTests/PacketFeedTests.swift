import DeskRunner
import DeskTestSupport
import Foundation
import Testing

/// A backtest's stream feed: the strategy's stdin is a pipe of packets written
/// ahead (one line each), what it has read is the kernel's count
/// (`unreadInput`), and its launcher reports — and holds — only a read that
/// would cut a packet. Real sandboxed strategies, launched as a backtest
/// launches them (`LaunchSpec.packetThreshold`).
@Suite("Packets: a strategy's stdin fed ahead in lines, read whole", .serialized, .timeLimit(.minutes(2)))
struct PacketFeedTests {
    init() throws {
        try #require(getuid() == 0, "the sandbox switches uids and needs root (CI runs as root)")
    }

    /// The packet threshold these tests launch with (a backtest's: its longest line, rounded up to 512).
    static let threshold = 512

    static func tick(_ n: Int) -> [UInt8] { ReadinessTests.tick(n) }

    /// Bytes of `lines` together.
    static func bytes(_ lines: some Sequence<[UInt8]>) -> Int { lines.reduce(0) { $0 + $1.count } }

    /// A strategy that notes each line it gets (`GOT <price>`) and then waits for `$HOME/go<price>`
    /// (as a strategy waits for the answer to an order), reading stdin with `loop`.
    static func waiting(_ loop: String) -> String {
        """
        import json, os, sys, time
        home = os.environ["HOME"]
        progress = open(os.path.join(home, "progress"), "a", buffering=1)
        def handle(line):
            price = json.loads(line)["price"]
            progress.write(f"GOT {price}\\n")
            while not os.path.exists(os.path.join(home, f"go{price}")):
                time.sleep(0.005)
        \(loop)
        """
    }

    @Test(
        "each way of reading a line reads exactly one line per read, and nothing more while it waits",
        arguments: [
            "for line in sys.stdin:\n    handle(line)\n",
            "while True:\n    line = sys.stdin.readline()\n    if not line: break\n    handle(line)\n",
            "while True:\n    try: line = input()\n    except EOFError: break\n    handle(line)\n",
            "while True:\n    line = sys.stdin.buffer.readline()\n    if not line: break\n    handle(line)\n",
            "while True:\n    line = os.read(0, 65536)\n    if not line: break\n    handle(line)\n",
            // A read of exactly the threshold is a whole line's read: not reported.
            "while True:\n    line = os.read(0, 512)\n    if not line: break\n    handle(line)\n",
        ])
    func lineReaders(loop: String) async throws {
        try await ReadinessTests.withStrategy(Self.waiting(loop), base: 63_900, packetThreshold: Self.threshold) {
            strategy, counter, progress, tell in
            var lines = (1...3).map(Self.tick)
            for line in lines { #expect(strategy.writePacket(line) == .written) }
            for n in 1...4 {
                let got = await eventually(within: 30) { progress().contains("GOT \(100 + n)\n") }
                try #require(got, "progress: \(progress())")
                // It has read lines 1…n and no byte of the next: the kernel's count says so.
                #expect(strategy.unreadInput() == Self.bytes(lines[n...]), "after line \(n)")
                if n == 2 {
                    // Blocked (waiting for its answer), it takes nothing of what is written meanwhile.
                    lines.append(Self.tick(4))
                    #expect(strategy.writePacket(Self.tick(4)) == .written)
                    try await Task.sleep(for: .milliseconds(100))
                    #expect(strategy.unreadInput() == Self.bytes(lines[n...]))
                    #expect(!progress().contains("GOT 103"))
                }
                tell("go\(100 + n)")
            }
            #expect(progress() == "GOT 101\nGOT 102\nGOT 103\nGOT 104\n")
            #expect(counter.count == 0, "no read was reported")
            strategy.closeInput()
            #expect(await strategy.exitStatus() == .exited(0), "it saw the end of its input and ended")
        }
    }

    @Test(
        "a read shorter than a line, or a vectored one, is reported and held before it takes a byte",
        arguments: [
            "os.read(0, 7)", "os.read(0, 511)", "sys.stdin.buffer.raw.read(100)", "os.readv(0, [bytearray(65536)])",
        ])
    func shortReadsHeld(read: String) async throws {
        let script = """
            import os, sys
            progress = open(os.path.join(os.environ["HOME"], "progress"), "a", buffering=1)
            progress.write("START\\n")
            data = \(read)
            progress.write(f"READ {data!r}\\n")
            """
        try await ReadinessTests.withStrategy(script, base: 63_910, packetThreshold: Self.threshold) {
            strategy, counter, progress, _ in
            #expect(strategy.writePacket(Self.tick(1)) == .written)
            #expect(try ReadinessTests.asked(await counter.wait(forReads: 1), progress) == 1)
            // Held: the read never ran, so the whole line is still in the pipe, and stays there.
            #expect(strategy.unreadInput() == Self.tick(1).count)
            try await Task.sleep(for: .milliseconds(200))
            #expect(strategy.unreadInput() == Self.tick(1).count)
            #expect(counter.count == 1)
            #expect(progress() == "START\n")
            await strategy.stop(grace: .seconds(10))
            #expect(await strategy.exitStatus() == .signaled(SIGTERM))
            #expect(!progress().contains("READ"))
        }
    }

    /// The start of a hostile strategy: it notes `READY`, waits for `$HOME/go`, then tries to copy its stdin
    /// without consuming it — tee, io_uring, tee as an i386 call — and notes what each gave (`note`).
    static let lookahead = """
        import ctypes, errno, mmap, os, platform, sys, time
        home = os.environ["HOME"]
        progress = open(os.path.join(home, "progress"), "a", buffering=1)
        def note(text):
            progress.write(text + "\\n")
        def wait(name):
            while not os.path.exists(os.path.join(home, name)):
                time.sleep(0.005)
        note("READY")
        wait("go")
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        r, w = os.pipe()
        os.set_blocking(r, False)
        copied = libc.tee(0, w, 65536, 2)  # SPLICE_F_NONBLOCK
        note(f"tee {copied} {ctypes.get_errno()} {os.read(r, 65536) if copied > 0 else b''!r}")
        params = ctypes.create_string_buffer(120)
        ring = libc.syscall(425, 8, params)  # io_uring_setup
        note(f"io_uring {ring} {ctypes.get_errno()}")
        if platform.machine() == "x86_64":
            # tee again, as an i386 call (int 0x80): another ABI, other numbers.
            code = bytes([0x53, 0x89, 0xFB, 0x89, 0xC8, 0x89, 0xF1, 0x89, 0xC6, 0xB8, 0x3B, 0x01, 0, 0, 0xCD, 0x80,
                          0x5B, 0xC3])
            page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            page.write(code)
            call = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int)
            tee32 = call(ctypes.addressof(ctypes.c_char.from_buffer(page)))
            copied = tee32(0, w, 65536, 2)
            note(f"i386 tee {copied} {os.read(r, 65536) if copied > 0 else b''!r}")
        else:
            note(f"i386 tee -{errno.ENOSYS} b''")

        """

    /// Expects `seen` (a `lookahead` strategy's progress) to show each attempt refused, nothing copied.
    static func expectRefused(_ seen: String) {
        #expect(seen.contains("tee -1 \(EPERM) b''\n"), "\(seen)")
        #expect(seen.contains("io_uring -1 \(EPERM)\n"), "\(seen)")
        #expect(seen.contains("i386 tee -\(ENOSYS) b''\n"), "\(seen)")
    }

    @Test(
        "lookahead is refused (tee, io_uring, i386 calls, reopening stdin); reads through a duplicate of stdin are counted"
    )
    func attacker() async throws {
        let script = """
            \(Self.lookahead)
            alias = os.dup(0)
            note(f"dup {os.read(alias, 7)!r}")
            try:
                reopened = os.open("/proc/self/fd/0", os.O_RDONLY)
                note(f"proc {os.read(reopened, 65536)!r}")
            except OSError as error:
                note(f"proc refused {error.errno}")
            note(f"readline {sys.stdin.buffer.readline()!r}")
            note(f"dup again {os.read(alias, 65536)!r}")
            note("DONE")
            wait("end")
            """
        try await ReadinessTests.withStrategy(script, base: 63_920, packetThreshold: Self.threshold) {
            strategy, counter, progress, tell in
            let lines = (1...4).map(Self.tick)
            for line in lines { #expect(strategy.writePacket(line) == .written) }
            // Its HOME is mounted once it runs: a file made before that would be under the mount.
            let ready = await eventually(within: 30) { progress().contains("READY\n") }
            try #require(ready, "progress: \(progress())")
            tell("go")
            let done = await eventually(within: 30) { progress().contains("DONE\n") }
            try #require(done, "progress: \(progress())")
            let seen = progress()
            let text = { (line: [UInt8]) in String(decoding: line.dropLast(), as: UTF8.self) }
            Self.expectRefused(seen)
            // A short read through a duplicate of stdin takes its 7 bytes and loses the rest of that line:
            // the strategy's own loss. Stdin cannot be opened again (/proc/self/fd/0: the desk's pipe), and
            // the next reads, of stdin and of the duplicate, get exactly the next lines.
            #expect(seen.contains("dup b'{\"symbo'\n"), "\(seen)")
            #expect(seen.contains("proc refused \(EACCES)\n"), "\(seen)")
            #expect(seen.contains("readline b'\(text(lines[1]))\\n'\n"), "\(seen)")
            #expect(seen.contains("dup again b'\(text(lines[2]))\\n'\n"), "\(seen)")
            #expect(!seen.contains("104"), "it never saw the line it has not read")
            // The kernel counts three lines read, whatever way they were read; no read of stdin was short.
            #expect(strategy.unreadInput() == lines[3].count)
            #expect(counter.count == 0)
            tell("end")
            strategy.closeInput()
            #expect(await strategy.exitStatus() == .exited(0))
        }
    }

    @Test("in strict lockstep too, tee, io_uring and i386 calls are refused")
    func refusedInStrict() async throws {
        let script = Self.lookahead + "note(\"DONE\")\nwait(\"end\")\n"
        try await ReadinessTests.withStrategy(script, base: 63_930) { strategy, _, progress, tell in
            #expect(await strategy.write(Self.tick(1) + Self.tick(2)))
            let ready = await eventually(within: 30) { progress().contains("READY\n") }
            try #require(ready, "progress: \(progress())")
            tell("go")
            let done = await eventually(within: 30) { progress().contains("DONE\n") }
            try #require(done, "progress: \(progress())")
            Self.expectRefused(progress())
            #expect(!progress().contains("101"), "it copied nothing of its stdin")
            tell("end")
        }
    }
}

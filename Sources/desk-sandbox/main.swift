// desk-sandbox: puts one strategy into its sandbox and runs it.
//
// The supervisor starts this program with an empty environment and writes a
// `SandboxSpec` frame at the start of its stdin; the rest of stdin belongs to the
// strategy. The frame is read with reads of exactly its length, so no byte after
// it is ever taken (a stdin of packets: the desk makes the pipe write packets only
// once the whole frame is in it, and a read never goes past the count it asks).
// Order matters, and is the point of the program: signals are reset
// first, the namespaces and mounts are made while still privileged, and the
// strategy's environment is used only by the strategy's own execve, after its
// user, limits and no-new-privileges are in place. No variable of config.json
// ever reaches a process that runs with the desk's privileges.
//
// Isolated, three processes take part (one launcher binary):
//   launcher (the pid the supervisor holds; outside the namespaces)
//     └─ init (pid 1 of the strategy's pid namespace; mounts, reaps, forwards signals)
//          └─ strategy (its own user, limits, environment)
// Signals the supervisor sends to the launcher's group go to the init, which
// sends them to every process of the namespace; when the strategy ends, the init
// reports its wait status to the launcher, which ends the same way, and the
// kernel ends whatever else ran in the namespace. The init dies with the
// launcher (parent-death signal), so SIGKILL of the launcher ends everything.
import CDeskSandbox
import Glibc
import SandboxSpec

/// Exit code when the sandbox could not be set up (the strategy never ran).
let setupFailed: Int32 = 126
/// Exit code when the strategy's program could not be executed.
let execFailed: Int32 = 127

func say(_ message: String) {
    var bytes = Array("desk-sandbox: \(message)\n".utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 && errno != EINTR { return }
        if written > 0 { offset += written }
    }
}

func fail(_ step: String, code: Int32 = errno, exit status: Int32 = setupFailed) -> Never {
    say("\(step): \(String(cString: strerror(code)))")
    _exit(status)
}

func fail(message: String) -> Never {
    say(message)
    _exit(setupFailed)
}

/// Reads exactly `count` bytes from `fd`; nil at an early end of file.
func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
    var bytes = [UInt8](repeating: 0, count: count)
    var offset = 0
    while offset < count {
        let got = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, count - offset) }
        if got == 0 { return nil }
        if got < 0 {
            if errno == EINTR { continue }
            fail("reading the spec")
        }
        offset += got
    }
    return bytes
}

/// An empty signal mask and the default action for every signal: a child of the
/// desk inherits its blocked SIGTERM/SIGINT/SIGHUP and ignored SIGPIPE otherwise.
func resetSignals() {
    var empty = sigset_t()
    sigemptyset(&empty)
    sigprocmask(SIG_SETMASK, &empty, nil)
    for number in 1..<65 where number != SIGKILL && number != SIGSTOP {
        signal(Int32(number), SIG_DFL)
    }
}

func setLimit(_ resource: Int32, _ value: UInt64) -> Bool {
    var limit = rlimit(rlim_cur: rlim_t(value), rlim_max: rlim_t(value))
    return setrlimit(__rlimit_resource_t(UInt32(resource)), &limit) == 0
}

func resourceNumber(_ resource: SandboxSpec.Limit.Resource) -> Int32 {
    switch resource {
    case .addressSpace: Int32(RLIMIT_AS.rawValue)
    case .cpuSeconds: Int32(RLIMIT_CPU.rawValue)
    case .openFiles: Int32(RLIMIT_NOFILE.rawValue)
    case .processes: Int32(__RLIMIT_NPROC.rawValue)
    case .coreSize: Int32(RLIMIT_CORE.rawValue)
    case .fileSize: Int32(RLIMIT_FSIZE.rawValue)
    }
}

/// Ends the way `status` (a wait status) says a process ended: the same exit
/// code, or killed by the same signal.
func endLike(_ status: Int32) -> Never {
    let signalNumber = status & 0x7f
    if signalNumber == 0 { _exit((status >> 8) & 0xff) }
    _ = setLimit(Int32(RLIMIT_CORE.rawValue), 0)
    signal(signalNumber, SIG_DFL)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, signalNumber)
    sigprocmask(SIG_UNBLOCK, &set, nil)
    kill(getpid(), signalNumber)
    _exit(128 + signalNumber)
}

/// Limits, user, no-new-privileges, working folder, then the strategy's own
/// environment in its execve. Never returns.
///
/// Inside the sandbox every descriptor but stdin, stdout and stderr is closed.
/// Not so when this process is the one the desk watches (`closeInherited`
/// false: no isolation): Foundation's `Process` learns that a child ended when
/// the child's copy of a socket it inherited closes, so that copy must live as
/// long as the process does. (Isolated, the launcher outside keeps it.)
///
/// With `readinessChannel`, a seccomp filter reports reads of stdin to a
/// listener (each read; with `spec.packetThreshold`, only the short and vectored
/// ones), which is sent to the launcher over that channel before the exec.
func runStrategy(_ spec: SandboxSpec, closeInherited: Bool, readinessChannel: Int32? = nil) -> Never {
    resetSignals()
    for limit in spec.limits where !setLimit(resourceNumber(limit.resource), limit.value) {
        fail("setting the \(limit.resource.rawValue) limit to \(limit.value)")
    }
    becomeUser(spec)
    if let channel = readinessChannel {
        let listener = desk_watch_stdin_reads(UInt32(spec.packetThreshold ?? 0))
        if listener < 0 { fail("watching reads of stdin (seccomp)") }
        if desk_send_descriptor(channel, listener) != 0 { fail("handing the read watch to the launcher") }
        close(listener)
        close(channel)
    }
    if let folder = spec.workingDirectory, chdir(folder) != 0 { fail("entering \(folder)") }
    if closeInherited { desk_close_from(3) }
    let arguments = spec.program.map { strdup($0) } + [nil]
    let environment = spec.environment.map { strdup($0) } + [nil]
    execve(spec.program[0], arguments, environment)
    fail("cannot run \(spec.program[0])", exit: execFailed)
}

/// Switches to the strategy's user (when the spec names one) and sets
/// no-new-privileges; fails unless the switch held.
func becomeUser(_ spec: SandboxSpec) {
    if let user = spec.user {
        let groups = user.groups.map { gid_t($0) }
        if groups.withUnsafeBufferPointer({ setgroups($0.count, $0.baseAddress) }) != 0 { fail("setgroups") }
        if desk_set_gid(user.gid) != 0 { fail("switching to gid \(user.gid)") }
        if desk_set_uid(user.uid) != 0 { fail("switching to uid \(user.uid)") }
        guard getuid() == user.uid, geteuid() == user.uid, getgid() == user.gid, setuid(0) != 0 else {
            fail(message: "the switch to uid \(user.uid) did not hold; refusing to run the strategy")
        }
    }
    if desk_no_new_privileges() != 0 { fail("no_new_privs") }
}

/// Starts the loopback forwarder (`SandboxSpec.Forward`) as the strategy's own
/// user — it can reach nothing the strategy could not — and returns once it
/// listens. It ignores stop signals, so the strategy keeps its connection to the
/// desk while it shuts down; it ends with the namespace.
func startForwarder(_ spec: SandboxSpec, _ forward: SandboxSpec.Forward) {
    var ready: [Int32] = [0, 0]
    if desk_pipe(&ready) != 0 { fail("pipe") }
    let forwarder = fork()
    if forwarder < 0 { fail("starting the loopback forwarder") }
    if forwarder == 0 {
        close(ready[0])
        close(0)
        resetSignals()
        for number in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE] { signal(number, SIG_IGN) }
        for limit in spec.limits where limit.resource == .openFiles || limit.resource == .coreSize {
            _ = setLimit(resourceNumber(limit.resource), limit.value)
        }
        becomeUser(spec)
        _ = desk_forward_loopback(Int32(forward.port), forward.socket, ready[1], 64)
        fail("listening on 127.0.0.1:\(forward.port) for the desk")
    }
    close(ready[1])
    guard readExactly(ready[0], 1) != nil else {
        fail(message: "the loopback forwarder could not listen on 127.0.0.1:\(forward.port)")
    }
    close(ready[0])
}

/// Whether the strategy's user may search (pass through) `folder`.
func searchable(_ folder: String, uid: UInt32, groups: Set<UInt32>) -> Bool {
    var info = stat()
    guard stat(folder, &info) == 0 else { return true }
    if uid == 0 { return true }
    let mode = info.st_mode
    if info.st_uid == uid { return mode & S_IXUSR != 0 }
    if groups.contains(info.st_gid) { return mode & S_IXGRP != 0 }
    return mode & S_IXOTH != 0
}

/// The canonical path and whether it is a folder; nil when it does not exist.
func resolve(_ path: String) -> (path: String, isDirectory: Bool)? {
    guard let real = realpath(path, nil) else { return nil }
    defer { free(real) }
    var info = stat()
    guard stat(real, &info) == 0 else { return nil }
    return (String(cString: real), info.st_mode & S_IFMT == S_IFDIR)
}

/// The root's real folders and files (not its links, which lead into the root's folders).
func rootEntries() -> [MountPlan.Entry] {
    guard let folder = opendir("/") else { fail("listing /") }
    defer { closedir(folder) }
    var entries: [MountPlan.Entry] = []
    while let entry = readdir(folder) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard name != "." && name != ".." else { continue }
        var info = stat()
        guard lstat("/" + name, &info) == 0 else { continue }
        switch info.st_mode & S_IFMT {
        case S_IFLNK: continue
        case S_IFDIR: entries.append(MountPlan.Entry("/" + name))
        default: entries.append(MountPlan.Entry("/" + name, isDirectory: false))
        }
    }
    return entries
}

/// Shows the strategy only what it needs (see `MountPlan`): the root's allowed
/// folders, a `/dev` of a few devices, hidden and exposed paths, its private
/// folders on one tmpfs of `privateFolderBytes` (its disk), and a `/proc` of its
/// own pid namespace.
func applyMounts(_ spec: SandboxSpec) {
    if mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil) != 0 { fail("making the mount namespace private") }
    let uid = spec.user?.uid ?? getuid()
    let gid = spec.user?.gid ?? getgid()
    let groups = Set([gid] + (spec.user?.groups ?? []))
    let hidden =
        MountPlan.rootCovers(rootEntries())
        + spec.hidden.compactMap(resolve).map { MountPlan.Entry($0.path, isDirectory: $0.isDirectory) }
    var opened: [String: Int32] = [:]
    var exposed: [MountPlan.Entry] = []
    let devices = MountPlan.devices.map { SandboxSpec.Exposure($0, writable: true) }
    for exposure in spec.exposed + devices {
        guard let found = resolve(exposure.path) else {
            say("note: \(exposure.path) does not exist; not shown to the strategy")
            continue
        }
        let fd = desk_open_path(found.path)
        if fd < 0 { fail("opening \(found.path)") }
        opened[found.path] = fd
        exposed.append(MountPlan.Entry(found.path, isDirectory: found.isDirectory, writable: exposure.writable))
    }
    // Opened before `/dev` is covered: what covers a hidden file.
    let null = desk_open_path("/dev/null")
    if null < 0 { fail("opening /dev/null") }
    var privateFolders: [String] = []
    for folder in spec.privateFolders {
        guard let found = resolve(folder), found.isDirectory else {
            say("note: \(folder) does not exist; the strategy has no such private folder")
            continue
        }
        if !privateFolders.contains(found.path) { privateFolders.append(found.path) }
    }
    var disk: Int32 = -1
    if !privateFolders.isEmpty {
        disk = desk_private_filesystem(spec.privateFolderBytes)
        if disk < 0 { fail("making the strategy's private filesystem (\(spec.privateFolderBytes) bytes)") }
    }
    let steps = MountPlan.steps(
        hidden: hidden, exposed: exposed, privateFolders: privateFolders, links: MountPlan.deviceLinks
    ) {
        searchable($0, uid: uid, groups: groups)
    }
    var folders = 0
    for step in steps {
        switch step {
        case .cover(let path, .empty):
            if mount("tmpfs", path, "tmpfs", UInt(MS_NOSUID | MS_NODEV), "mode=0755,size=1m") != 0 {
                fail("hiding \(path)")
            }
        case .cover(let path, .file):
            if mount("/proc/self/fd/\(null)", path, nil, UInt(MS_BIND), nil) != 0 { fail("hiding \(path)") }
        case .privateFolder(let path):
            folders += 1
            if desk_attach_private_folder(disk, "\(folders)", path, uid, gid) != 0 { fail("a private \(path)") }
        case .makeDirectory(let path):
            if mkdir(path, 0o755) != 0 && errno != EEXIST { fail("making \(path) in a cover") }
        case .makeFile(let path):
            let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
            if fd < 0 { fail("making \(path) in a cover") }
            close(fd)
        case .link(let path, let target):
            if symlink(target, path) != 0 && errno != EEXIST { fail("making the link \(path)") }
        case .bind(let path, let writable):
            guard let fd = opened[path] else { fail(message: "internal: \(path) was not opened") }
            if mount("/proc/self/fd/\(fd)", path, nil, UInt(MS_BIND | MS_REC), nil) != 0 { fail("showing \(path)") }
            // A device keeps working (no nodev); nothing else shown may be one.
            let device = desk_is_character_device(fd) != 0 && MountPlan.devices.contains(path)
            let flags =
                UInt(MS_BIND | MS_REMOUNT | MS_NOSUID) | (device ? 0 : UInt(MS_NODEV)) | desk_mount_flags(path)
                | (writable ? 0 : UInt(MS_RDONLY))
            if mount(nil, path, nil, flags, nil) != 0 { fail("restricting \(path)") }
        }
    }
    for fd in opened.values { close(fd) }
    close(null)
    if disk >= 0 { close(disk) }
    if mount("proc", "/proc", "proc", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), nil) != 0 {
        fail("a /proc of the strategy's own")
    }
}

/// pid 1 of the strategy's namespace: mounts, starts the strategy, forwards
/// signals to the whole namespace, reaps, and reports the strategy's end.
func runInit(_ spec: SandboxSpec, report: Int32, readinessChannel: Int32?) -> Never {
    _ = desk_parent_death_signal(SIGKILL)
    setsid()
    _ = "strategy".withCString { sethostname($0, 8) }
    applyMounts(spec)
    if spec.isolateNetwork && desk_loopback_up() != 0 { fail("bringing up the loopback interface") }
    if let forward = spec.forward { startForwarder(spec, forward) }
    desk_forward_signals(-1)
    let strategy = fork()
    if strategy < 0 { fail("starting the strategy") }
    if strategy == 0 {
        close(report)
        runStrategy(spec, closeInherited: true, readinessChannel: readinessChannel)
    }
    close(0)
    if let readinessChannel { close(readinessChannel) }
    var status: Int32 = 0
    while true {
        let ended = waitpid(-1, &status, 0)
        if ended == strategy { break }
        if ended < 0 && errno == ECHILD { break }
    }
    var bytes = [
        UInt8(truncatingIfNeeded: status >> 24), UInt8(truncatingIfNeeded: status >> 16),
        UInt8(truncatingIfNeeded: status >> 8), UInt8(truncatingIfNeeded: status),
    ]
    _ = bytes.withUnsafeMutableBytes { write(report, $0.baseAddress!, 4) }
    // Leaving pid 1 ends every other process of the namespace.
    _exit(0)
}

/// Until the sandbox's init has something to report: takes the read watch from
/// the strategy and, for each read of stdin it starts while nothing is waiting
/// on stdin — it asks for input the desk has not written yet — writes one byte to
/// the `readiness` FIFO; then lets the read go on. (A read that finds the rest of
/// a line waiting is part of the tick before.) Decided before the read runs, so
/// it cannot race with it. With `holdReads` (a stdin of packets: only reads that
/// would cut a packet are reported) each reported read writes one byte and is
/// never let run: no byte is lost, and the strategy waits there until the desk
/// stops it. Returns when `report` (the init's report pipe) becomes readable or
/// closes.
/// `out` is the FIFO, opened before the namespaces were made (the init's
/// mounts, which hide the desk's folders, are in the launcher's namespace too).
/// Returns true when the desk (`desk`, its pidfd) ended first.
func relayReads(channel: Int32, out: Int32, report: Int32, desk: Int32, holdReads: Bool) -> Bool {
    var listener: Int32 = -1
    defer {
        if listener >= 0 { close(listener) }
        close(out)
    }
    while true {
        var fds = [pollfd(fd: report, events: Int16(POLLIN), revents: 0)]
        fds.append(pollfd(fd: listener >= 0 ? listener : channel, events: Int16(POLLIN), revents: 0))
        fds.append(pollfd(fd: desk, events: Int16(POLLIN), revents: 0))
        if poll(&fds, nfds_t(fds.count), -1) < 0 {
            if errno == EINTR { continue }
            fail("waiting for reads of stdin")
        }
        if fds[2].revents != 0 {
            if listener < 0 { close(channel) }
            return true
        }
        if fds[1].revents & Int16(POLLIN) != 0 {
            if listener < 0 {
                listener = desk_receive_descriptor(channel)
                close(channel)
                if listener < 0 { break }
            } else {
                let result =
                    holdReads
                    ? desk_hold_stdin_read(listener, out)
                    : desk_continue_stdin_read(listener, desk_pending_bytes(0) == 0 ? out : -1)
                if result < 0 && errno != EINTR { break }
                continue
            }
        } else if fds[1].revents & Int16(POLLHUP | POLLERR) != 0 {
            // Every process the watch covered has ended (or the strategy never sent it).
            if listener < 0 { close(channel) }
            break
        }
        if fds[0].revents != 0 { break }
    }
    return false
}

/// Waits until the init has reported (or ended), or the desk (`desk`, its pidfd)
/// ended first: then returns true.
func awaitReport(_ report: Int32, desk: Int32) -> Bool {
    while true {
        var fds = [
            pollfd(fd: report, events: Int16(POLLIN), revents: 0), pollfd(fd: desk, events: Int16(POLLIN), revents: 0),
        ]
        if poll(&fds, nfds_t(fds.count), -1) < 0 {
            if errno == EINTR { continue }
            fail("waiting for the sandbox's init")
        }
        if fds[1].revents != 0 { return true }
        if fds[0].revents != 0 { return false }
    }
}

/// Makes the namespaces, starts the init and ends as the strategy ended.
func runIsolated(_ spec: SandboxSpec) -> Never {
    let privileged = geteuid() == 0
    let (uid, gid) = (getuid(), getgid())
    var readinessOut: Int32 = -1
    if let readiness = spec.readiness {
        readinessOut = open(readiness, O_WRONLY | O_CLOEXEC)
        if readinessOut < 0 { fail("opening the readiness FIFO \(readiness)") }
    }
    if desk_unshare(spec.isolateNetwork ? 1 : 0, privileged ? 0 : 1) != 0 {
        fail(privileged ? "making namespaces" : "making a user namespace (are unprivileged user namespaces enabled?)")
    }
    if !privileged {
        for (file, text) in [
            ("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", "\(uid) \(uid) 1"),
            ("/proc/self/gid_map", "\(gid) \(gid) 1"),
        ] {
            let fd = open(file, O_WRONLY | O_CLOEXEC)
            var bytes = Array(text.utf8)
            if fd < 0 || bytes.withUnsafeMutableBytes({ write(fd, $0.baseAddress!, $0.count) }) != bytes.count {
                fail("writing \(file)")
            }
            close(fd)
        }
    }
    var pipeEnds: [Int32] = [0, 0]
    if desk_pipe(&pipeEnds) != 0 { fail("pipe") }
    var channel: [Int32] = [-1, -1]
    if spec.readiness != nil && desk_socket_pair(&channel) != 0 { fail("a channel for the read watch") }
    let initProcess = fork()
    if initProcess < 0 { fail("starting the sandbox's init") }
    if initProcess == 0 {
        close(pipeEnds[0])
        if spec.readiness != nil {
            close(channel[0])
            close(readinessOut)
        }
        runInit(spec, report: pipeEnds[1], readinessChannel: spec.readiness == nil ? nil : channel[1])
    }
    close(pipeEnds[1])
    // With reads watched, the launcher keeps its copy of stdin's read end (never
    // reading it) to see whether a read the strategy starts finds data waiting.
    if spec.readiness == nil { close(0) }
    desk_forward_signals(initProcess)
    // The sandbox ends with the desk: a desk killed with SIGKILL leaves no strategy
    // behind, whether or not it still reads its input (the pidfd follows the desk's
    // process; PR_SET_PDEATHSIG would follow the desk's thread that forked us).
    let desk = desk_parent_pidfd()
    var deskEnded = desk == -2
    if spec.readiness != nil {
        close(channel[1])
        if !deskEnded {
            deskEnded = relayReads(
                channel: channel[0], out: readinessOut, report: pipeEnds[0], desk: desk,
                holdReads: spec.packetThreshold != nil)
        }
        close(0)
    }
    if !deskEnded && desk >= 0 { deskEnded = awaitReport(pipeEnds[0], desk: desk) }
    // The init is pid 1 of the strategy's namespace: its end ends every process in it.
    if deskEnded { kill(initProcess, SIGKILL) }
    var status: Int32 = 0
    while waitpid(initProcess, &status, 0) < 0 {
        if errno != EINTR { fail("waiting for the sandbox's init") }
    }
    if let bytes = readExactly(pipeEnds[0], 4) {
        endLike(Int32(bytes[0]) << 24 | Int32(bytes[1]) << 16 | Int32(bytes[2]) << 8 | Int32(bytes[3]))
    }
    // The init ended without a report: it was killed (by SIGKILL of the group, say).
    endLike(status)
}

resetSignals()
guard let header = readExactly(0, 4) else { fail(message: "no spec on stdin (it is written by the desk's supervisor)") }
let spec: SandboxSpec
do {
    let length = try SandboxSpec.payloadLength(header: header)
    guard let payload = readExactly(0, length) else { fail(message: "the spec on stdin ends early") }
    spec = try SandboxSpec.decode(payload: payload)
} catch {
    fail(message: "bad spec: \(error)")
}
if spec.forward != nil && !(spec.isolate && spec.isolateNetwork) {
    fail(message: "a loopback forwarder needs the sandbox's own network namespace")
}
if spec.readiness != nil && !spec.isolate {
    fail(message: "watching a strategy's reads of stdin needs the sandbox (this desk runs with --no-sandbox)")
}
if spec.isolate { runIsolated(spec) } else { runStrategy(spec, closeInherited: false) }

// The few system calls the sandbox launcher needs that Swift cannot call
// directly (variadic C functions), and signal forwarding, which must be
// async-signal-safe.
#ifndef DESK_SANDBOX_H
#define DESK_SANDBOX_H

#include <sys/types.h>

/// prctl(PR_SET_NO_NEW_PRIVS, 1): no exec can ever gain privileges again.
int desk_no_new_privileges(void);
/// prctl(PR_SET_PDEATHSIG, signal): the caller gets `signal` when its parent dies.
int desk_parent_death_signal(int signal);
/// A pidfd (close-on-exec) of the caller's parent process, readable once that
/// process has ended — the whole process, unlike PR_SET_PDEATHSIG, which follows
/// the thread that forked. -1 when the kernel has no pidfd_open; -2 when the
/// parent had already ended.
int desk_parent_pidfd(void);
/// prctl(PR_SET_DUMPABLE, value).
int desk_set_dumpable(int value);
/// Closes every descriptor from `first` up (close_range, or one by one).
void desk_close_from(int first);
/// Sends each of the usual stop signals (TERM, INT, HUP, QUIT, USR1, USR2) the
/// caller receives on to `target` (kill(target, sig); -1: every process the
/// caller may signal, which from a pid namespace's init is the whole namespace).
void desk_forward_signals(pid_t target);
/// Brings the network namespace's loopback interface up.
int desk_loopback_up(void);
/// unshare(2) of new mount, pid, IPC and UTS namespaces, plus a network
/// namespace when `network` and a user namespace when `user` are non-zero.
int desk_unshare(int network, int user);
/// setresuid/setresgid with one id for real, effective and saved.
int desk_set_uid(uid_t uid);
int desk_set_gid(gid_t gid);
/// open(path, O_PATH | O_CLOEXEC): a handle on a path that stays valid under later mounts.
int desk_open_path(const char *path);
/// pipe2(fds, O_CLOEXEC).
int desk_pipe(int fds[2]);
/// A new tmpfs of `bytes` (mode 0755, nosuid, nodev) that is not attached
/// anywhere yet (fsopen/fsmount): the strategy's private filesystem. Its mount
/// descriptor, or -1.
int desk_private_filesystem(unsigned long long bytes);
/// Makes folder `name` (mode 0700, owned by `uid`/`gid`) in the mount
/// `filesystem` and attaches it at `target` (open_tree + move_mount); 0 or -1.
int desk_attach_private_folder(int filesystem, const char *name, const char *target, uid_t uid, gid_t gid);
/// Whether the open descriptor `fd` is a character device.
int desk_is_character_device(int fd);
/// The mount flags (MS_*) of the filesystem holding `path` that a bind's
/// remount must keep: read-only, nosuid, nodev, noexec and the atime ones.
unsigned long desk_mount_flags(const char *path);

/// Installs a seccomp filter on the calling thread (and what it execs) that
/// reports reads of standard input to a listener (returned, or -1) and refuses
/// (EPERM) `tee` and io_uring (io_uring_setup, _enter, _register), which would
/// copy stdin without consuming it or read it past the filter; calls of another
/// ABI (i386, x32) fail with ENOSYS. `threshold` 0: every read of descriptor 0
/// (read, readv, pread64, preadv, preadv2) is reported (strict lockstep); else
/// only a read or pread64 of fewer than `threshold` bytes and every vectored read
/// of it (a stdin of packets, where such a read would cut one). Needs
/// no-new-privileges (or CAP_SYS_ADMIN).
int desk_watch_stdin_reads(unsigned threshold);
/// Takes one notification from `listener`, writes one byte to `report` (unless
/// it is -1) and lets the reported read go on — in that order, so the byte is
/// out before the read can return. Returns 1 when a read was reported, 0 when
/// the reader was gone already, -1 on error.
int desk_continue_stdin_read(int listener, int report);
/// Takes one notification from `listener` and writes one byte to `report`, and
/// never answers it: the read does not run (no byte is consumed) and the reader
/// waits there until it is stopped. 1 when a read was reported, 0 when the
/// reader was gone already, -1 on error.
int desk_hold_stdin_read(int listener, int report);
/// Sends descriptor `fd` over the unix socket `socket` (SCM_RIGHTS).
int desk_send_descriptor(int socket, int fd);
/// Receives a descriptor sent with `desk_send_descriptor`; -1 on error.
int desk_receive_descriptor(int socket);
/// Bytes written to a pipe (either end) and not yet read (FIONREAD); -1 on error.
int desk_pending_bytes(int fd);
/// Makes the pipe end `fd` write packets (O_DIRECT: each write one packet, each
/// read at most one) and asks for a pipe of `bytes`; 0, or -1 when packets failed.
int desk_packet_pipe(int fd, int bytes);
/// A connected pair of unix datagram sockets, not closed on exec.
int desk_socket_pair(int fds[2]);

/// Listens on 127.0.0.1:`port` (and [::1]:`port`) in the caller's network
/// namespace and relays every connection, both ways, to the unix socket at
/// `socket_path`; at most `max_connections` at once (more are closed at once).
/// Writes one byte to `ready_fd` once listening, then never returns.
/// Returns -1 (errno set) only when it cannot listen.
int desk_forward_loopback(int port, const char *socket_path, int ready_fd, int max_connections);

#endif

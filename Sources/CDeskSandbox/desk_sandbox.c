#define _GNU_SOURCE
#include "desk_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <stdio.h>
#include <net/if.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdlib.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

int desk_no_new_privileges(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

int desk_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0); }

int desk_parent_pidfd(void) {
#ifdef SYS_pidfd_open
    pid_t parent = getppid();
    int fd = (int)syscall(SYS_pidfd_open, parent, 0);
    if (fd < 0) return -1;
    // Reparented meanwhile: the pid may already name another process.
    if (getppid() != parent) {
        close(fd);
        return -2;
    }
    return fd;
#else
    return -1;
#endif
}

int desk_set_dumpable(int value) { return prctl(PR_SET_DUMPABLE, value, 0, 0, 0); }

void desk_close_from(int first) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0) return;
#endif
    long last = sysconf(_SC_OPEN_MAX);
    if (last < 0 || last > 65536) last = 65536;
    for (int fd = first; fd < last; fd++) close(fd);
}

static volatile pid_t forward_target = 0;

static void forward(int signal) {
    int saved = errno;
    if (forward_target != 0) kill(forward_target, signal);
    errno = saved;
}

void desk_forward_signals(pid_t target) {
    forward_target = target;
    static const int signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) sigaction(signals[i], &action, NULL);
}

int desk_loopback_up(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    int result = ioctl(fd, SIOCGIFFLAGS, &request);
    if (result == 0) {
        request.ifr_flags |= IFF_UP | IFF_RUNNING;
        result = ioctl(fd, SIOCSIFFLAGS, &request);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}

int desk_unshare(int network, int user) {
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    if (network) flags |= CLONE_NEWNET;
    if (user) flags |= CLONE_NEWUSER;
    return unshare(flags);
}

int desk_set_uid(uid_t uid) { return setresuid(uid, uid, uid); }

int desk_set_gid(gid_t gid) { return setresgid(gid, gid, gid); }

int desk_open_path(const char *path) { return open(path, O_PATH | O_CLOEXEC); }

int desk_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int desk_private_filesystem(unsigned long long bytes) {
    int context = fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (context < 0) return -1;
    char size[32];
    snprintf(size, sizeof size, "%llu", bytes);
    int result = -1;
    if (fsconfig(context, FSCONFIG_SET_STRING, "size", size, 0) == 0 &&
        fsconfig(context, FSCONFIG_SET_STRING, "mode", "0755", 0) == 0 &&
        fsconfig(context, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
        result = fsmount(context, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    int saved = errno;
    close(context);
    errno = saved;
    return result;
}

int desk_attach_private_folder(int filesystem, const char *name, const char *target, uid_t uid, gid_t gid) {
    if (mkdirat(filesystem, name, 0700) != 0) return -1;
    if (fchownat(filesystem, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) return -1;
    int tree = open_tree(filesystem, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) return -1;
    int result = move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
    int saved = errno;
    close(tree);
    errno = saved;
    return result;
}

int desk_is_character_device(int fd) {
    struct stat info;
    return fstat(fd, &info) == 0 && S_ISCHR(info.st_mode);
}

unsigned long desk_mount_flags(const char *path) {
    struct statvfs info;
    if (statvfs(path, &info) != 0) return 0;
    unsigned long flags = 0;
    if (info.f_flag & ST_RDONLY) flags |= MS_RDONLY;
    if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (info.f_flag & ST_NOATIME) flags |= MS_NOATIME;
    if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (info.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    return flags;
}

#if defined(__x86_64__)
#define DESK_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define DESK_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define DESK_LOW_WORD 0
#define DESK_HIGH_WORD 4
#else
#define DESK_LOW_WORD 4
#define DESK_HIGH_WORD 0
#endif

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif

int desk_watch_stdin_reads(unsigned threshold) {
#ifdef DESK_AUDIT_ARCH
    struct sock_filter filter[64];
    unsigned count = 0;
#define DESK_PUT(statement) (filter[count++] = (struct sock_filter)statement)
    DESK_PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
    // Another ABI's calls (i386 through int 0x80) would pass every rule below under other numbers.
    DESK_PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, DESK_AUDIT_ARCH, 1, 0));
    DESK_PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
    DESK_PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
#ifdef __X32_SYSCALL_BIT
    // x32 calls: the same ABI check by number.
    DESK_PUT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1));
    DESK_PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
#endif
    // Refused: tee copies a pipe's bytes without consuming them (a look past what was read), and
    // io_uring's reads and tees never pass through this filter.
    static const unsigned refused[] = {__NR_tee, __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register};
    static const unsigned sized[] = {
#ifdef __NR_read
        __NR_read,
#endif
        __NR_pread64};
    static const unsigned vectored[] = {__NR_readv, __NR_preadv, __NR_preadv2};
    const unsigned refusedCount = sizeof refused / sizeof refused[0];
    const unsigned sizedCount = sizeof sized / sizeof sized[0];
    const unsigned vectoredCount = sizeof vectored / sizeof vectored[0];
    // The comparisons jump into this tail (T0 = `tail`); a call that matches none falls into T0:
    //   T0 ALLOW · T1 REFUSE · T2–T8 SIZED: fd 0 and a count below `threshold` → NOTIFY (a count of
    //   2^32 or more is never short) · T9–T11 VECTORED (with no threshold, every read): fd 0 → NOTIFY ·
    //   T12 ALLOW.
    unsigned tail = count + refusedCount + sizedCount + vectoredCount;
    unsigned sizedTarget = threshold == 0 ? tail + 9 : tail + 2;
    for (unsigned i = 0; i < refusedCount; i++, count++)
        filter[count] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, refused[i], tail + 1 - count - 1, 0);
    for (unsigned i = 0; i < sizedCount; i++, count++)
        filter[count] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, sized[i], sizedTarget - count - 1, 0);
    for (unsigned i = 0; i < vectoredCount; i++, count++)
        filter[count] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, vectored[i], tail + 9 - count - 1, 0);
    DESK_PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));                                  // T0
    DESK_PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)));     // T1
    DESK_PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + DESK_LOW_WORD));
    DESK_PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 8));                                   // T3
    DESK_PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]) + DESK_HIGH_WORD));
    DESK_PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 6));                                   // T5
    DESK_PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]) + DESK_LOW_WORD));
    DESK_PUT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, threshold, 4, 0));                           // T7
    DESK_PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));                              // T8
    DESK_PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + DESK_LOW_WORD));
    DESK_PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1));                                   // T10
    DESK_PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));                              // T11
    DESK_PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));                                  // T12
#undef DESK_PUT
    struct sock_fprog program = {.len = (unsigned short)count, .filter = filter};
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
#else
    (void)threshold;
    errno = ENOSYS;
    return -1;
#endif
}

/// One notification from `listener`: a byte to `report` (unless -1), then, when `answer`, the
/// reported read goes on; else it is held (never answered: the reader waits until it is stopped).
static int take_stdin_read(int listener, int report, int answer) {
    static struct seccomp_notif_sizes sizes;
    if (sizes.seccomp_notif == 0 && syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) return -1;
    struct seccomp_notif *request = calloc(1, sizes.seccomp_notif);
    struct seccomp_notif_resp *response = calloc(1, sizes.seccomp_notif_resp);
    int result = -1;
    if (request && response) {
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, request) == 0) {
            if (report >= 0) {
                char byte = '.';
                while (write(report, &byte, 1) < 0 && errno == EINTR) {
                }
            }
            if (!answer) {
                result = 1;
            } else {
                response->id = request->id;
                response->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                response->error = 0;
                response->val = 0;
                if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, response) == 0) result = 1;
                else result = errno == ENOENT ? 0 : -1;
            }
        } else {
            result = errno == ENOENT ? 0 : -1;
        }
    }
    free(request);
    free(response);
    return result;
}

int desk_continue_stdin_read(int listener, int report) { return take_stdin_read(listener, report, 1); }

int desk_hold_stdin_read(int listener, int report) { return take_stdin_read(listener, report, 0); }

int desk_send_descriptor(int socket, int fd) {
    char byte = 0;
    struct iovec data = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1, .msg_control = control.space,
                             .msg_controllen = sizeof control.space};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof(int));
    return sendmsg(socket, &message, 0) == 1 ? 0 : -1;
}

int desk_receive_descriptor(int socket) {
    char byte;
    struct iovec data = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1, .msg_control = control.space,
                             .msg_controllen = sizeof control.space};
    if (recvmsg(socket, &message, MSG_CMSG_CLOEXEC) != 1) return -1;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (!header || header->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(header), sizeof(int));
    return fd;
}

int desk_pending_bytes(int fd) {
    int count = 0;
    return ioctl(fd, FIONREAD, &count) == 0 ? count : -1;
}

int desk_packet_pipe(int fd, int bytes) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) return -1;
    // A smaller pipe than asked for (pipe-max-size) still works: fewer packets ahead.
    (void)fcntl(fd, F_SETPIPE_SZ, bytes);
    return 0;
}

int desk_socket_pair(int fds[2]) { return socketpair(AF_UNIX, SOCK_DGRAM, 0, fds); }

static int listen_on(int family, int port) {
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    int result;
    if (family == AF_INET) {
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        result = bind(fd, (struct sockaddr *)&address, sizeof address);
    } else {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
        struct sockaddr_in6 address = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        address.sin6_addr = in6addr_loopback;
        result = bind(fd, (struct sockaddr *)&address, sizeof address);
    }
    if (result != 0 || listen(fd, 64) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int connect_unix(const char *path) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof address.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(address.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        close(fd);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    return fd;
}

/// One relayed connection: bytes read from one side wait in a buffer until the other side takes them.
struct relay {
    int fd[2];          /* 0: the strategy's connection, 1: the desk's socket */
    char buffer[2][16384]; /* buffer[i]: read from fd[i], to be written to fd[1 - i] */
    size_t length[2], offset[2];
    int ended[2];       /* fd[i] said end of file */
};

static void close_relay(struct relay *relay) {
    close(relay->fd[0]);
    close(relay->fd[1]);
    relay->fd[0] = relay->fd[1] = -1;
}

/// Moves what it can; returns 0 while the connection lives, -1 once it is over.
static int pump(struct relay *relay, short revents[2]) {
    for (int side = 0; side < 2; side++) {
        int other = 1 - side;
        if (relay->length[side] == 0 && !relay->ended[side] && (revents[side] & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t got = read(relay->fd[side], relay->buffer[side], sizeof relay->buffer[side]);
            if (got > 0) {
                relay->length[side] = (size_t)got;
                relay->offset[side] = 0;
            } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                relay->ended[side] = 1;
                shutdown(relay->fd[other], SHUT_WR);
            }
        }
        while (relay->length[side] > relay->offset[side]) {
            ssize_t sent = send(relay->fd[other], relay->buffer[side] + relay->offset[side],
                                relay->length[side] - relay->offset[side], MSG_NOSIGNAL);
            if (sent > 0) {
                relay->offset[side] += (size_t)sent;
            } else if (sent < 0 && (errno == EAGAIN || errno == EINTR)) {
                break;
            } else {
                return -1;
            }
        }
        if (relay->offset[side] == relay->length[side]) relay->length[side] = relay->offset[side] = 0;
    }
    if (relay->ended[0] && relay->ended[1] && relay->length[0] == 0 && relay->length[1] == 0) return -1;
    return 0;
}

int desk_forward_loopback(int port, const char *socket_path, int ready_fd, int max_connections) {
    int listeners[2] = {listen_on(AF_INET, port), listen_on(AF_INET6, port)};
    if (listeners[0] < 0) return -1;
    char byte = 1;
    while (write(ready_fd, &byte, 1) < 0 && errno == EINTR) {
    }
    close(ready_fd);
    struct relay *relays = calloc((size_t)max_connections, sizeof *relays);
    struct pollfd *fds = calloc((size_t)(2 + 2 * max_connections), sizeof *fds);
    if (!relays || !fds) return -1;
    for (int i = 0; i < max_connections; i++) relays[i].fd[0] = relays[i].fd[1] = -1;
    for (;;) {
        int count = 0;
        for (int i = 0; i < 2; i++) fds[count++] = (struct pollfd){.fd = listeners[i], .events = POLLIN};
        for (int i = 0; i < max_connections; i++) {
            struct relay *relay = &relays[i];
            for (int side = 0; side < 2; side++) {
                short events = 0;
                if (relay->fd[0] >= 0) {
                    if (relay->length[side] == 0 && !relay->ended[side]) events |= POLLIN;
                    if (relay->length[1 - side] > relay->offset[1 - side]) events |= POLLOUT;
                }
                fds[count++] = (struct pollfd){.fd = relay->fd[0] >= 0 ? relay->fd[side] : -1, .events = events};
            }
        }
        if (poll(fds, (nfds_t)count, -1) < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        for (int i = 0; i < max_connections; i++) {
            struct relay *relay = &relays[i];
            if (relay->fd[0] < 0) continue;
            short revents[2] = {fds[2 + 2 * i].revents, fds[3 + 2 * i].revents};
            if ((revents[0] | revents[1]) == 0) continue;
            if (pump(relay, revents) < 0) close_relay(relay);
        }
        for (int l = 0; l < 2; l++) {
            if (!(fds[l].revents & POLLIN)) continue;
            int client = accept4(listeners[l], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (client < 0) continue;
            int slot = -1;
            for (int i = 0; i < max_connections && slot < 0; i++)
                if (relays[i].fd[0] < 0) slot = i;
            int upstream = slot < 0 ? -1 : connect_unix(socket_path);
            if (upstream < 0) {
                close(client);
                continue;
            }
            memset(&relays[slot], 0, sizeof relays[slot]);
            relays[slot].fd[0] = client;
            relays[slot].fd[1] = upstream;
        }
    }
}

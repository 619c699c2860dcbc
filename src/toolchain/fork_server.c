// Turns clang into a fork server for bpfgen (src/toolchain/fork_server.rs).
//
// A clang process spends ~25 ms of a 30 ms empty compile before its `main` runs: mapping
// libLLVM, applying its half a million relocations, running LLVM's static constructors.
// Loaded with LD_PRELOAD, this library takes the place of glibc's `__libc_start_main` and,
// once all of that is done, waits for requests instead of calling clang's `main`: each
// request (a command line, a stderr pipe and a status pipe) is run by a forked child calling
// clang's `main`, exactly as a fresh clang would run it, from the state a fresh clang has
// when its `main` starts. The server writes the child's wait status to the status pipe when
// it ends and exits when bpfgen closes its end of the socket. (AFL runs programs this way.)
//
// Environment: BPFGEN_FORK_SERVER_FD names the socket (SOCK_SEQPACKET) inherited from
// bpfgen; without it clang runs normally. LD_PRELOAD (this library, as /proc/self/fd/N) and
// BPFGEN_FORK_SERVER_FD are removed before anything runs, so clang and whatever it starts
// see bpfgen's environment alone.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*main_function)(int, char **, char **);
typedef int (*start_function)(main_function, int, char **, void (*)(void), void (*)(void),
                              void (*)(void), void *);

enum { MAX_RUNNING = 1024, MAX_ARGS = 8192, MAX_MESSAGE = 1 << 18 };

static main_function clang_main;
static char message[MAX_MESSAGE];
static char *child_argv[MAX_ARGS + 1];

struct running {
    pid_t pid;
    int status_fd;
};
static struct running running[MAX_RUNNING];
static int running_count;

// The fd number in "/proc/self/fd/N", or -1.
static int proc_fd_number(const char *path) {
    const char *prefix = "/proc/self/fd/";
    if (!path || strncmp(path, prefix, strlen(prefix)) != 0)
        return -1;
    return atoi(path + strlen(prefix));
}

// Writes every wait status of a finished child to its status pipe.
static void report_finished(int options) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, options)) > 0) {
        for (int i = 0; i < running_count; i++) {
            if (running[i].pid != pid)
                continue;
            ssize_t written = write(running[i].status_fd, &status, sizeof status);
            (void)written;  // a client that went away does not want the status
            close(running[i].status_fd);
            running[i] = running[--running_count];
            break;
        }
        if (options == 0 && running_count == 0)
            break;
    }
}

// In the child: stdin and stdout on /dev/null, stderr on the request's pipe, the signal mask
// the server had at start, then clang's main on the request's command line.
static void run_child(int argc, int stderr_fd, const sigset_t *mask) {
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(stderr_fd, 2) < 0)
        _exit(127);
    close(null_fd);
    close(stderr_fd);
    sigprocmask(SIG_SETMASK, mask, NULL);
    exit(clang_main(argc, child_argv, environ));
}

// Splits the NUL-separated command line in message[0..length) into child_argv; the count,
// or -1 when it is malformed.
static int split_arguments(size_t length) {
    if (length == 0 || message[length - 1] != '\0')
        return -1;
    int argc = 0;
    for (size_t at = 0; at < length; at += strlen(message + at) + 1) {
        if (argc == MAX_ARGS)
            return -1;
        child_argv[argc++] = message + at;
    }
    child_argv[argc] = NULL;
    return argc;
}

// Takes one request; 0 when bpfgen closed the socket.
static int take_request(int socket_fd, int signal_fd, const sigset_t *mask) {
    union {
        char bytes[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec io = {message, sizeof message};
    struct msghdr header = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control.bytes,
                            .msg_controllen = sizeof control.bytes};
    ssize_t length = recvmsg(socket_fd, &header, MSG_CMSG_CLOEXEC);
    if (length < 0)
        return errno == EINTR ? 1 : 0;
    if (length == 0)
        return 0;
    struct cmsghdr *fds = CMSG_FIRSTHDR(&header);
    if (!fds || fds->cmsg_level != SOL_SOCKET || fds->cmsg_type != SCM_RIGHTS ||
        fds->cmsg_len != CMSG_LEN(2 * sizeof(int)))
        return 1;  // no pipes to answer on: nothing to do
    int pipes[2];
    memcpy(pipes, CMSG_DATA(fds), sizeof pipes);
    int argc = (header.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? -1 : split_arguments(length);
    pid_t pid = -1;
    if (argc > 0 && running_count < MAX_RUNNING)
        pid = fork();
    if (pid == 0) {
        close(socket_fd);
        close(signal_fd);
        close(pipes[1]);
        run_child(argc, pipes[0], mask);
    }
    close(pipes[0]);
    if (pid < 0) {
        close(pipes[1]);  // the client reads no status and runs clang itself
        return 1;
    }
    running[running_count].pid = pid;
    running[running_count].status_fd = pipes[1];
    running_count++;
    return 1;
}

static int serve(int argc, char **argv, char **envp) {
    const char *socket_text = getenv("BPFGEN_FORK_SERVER_FD");
    int library_fd = proc_fd_number(getenv("LD_PRELOAD"));
    if (library_fd >= 0)
        close(library_fd);
    unsetenv("LD_PRELOAD");
    if (!socket_text)
        return clang_main(argc, argv, envp);
    int socket_fd = atoi(socket_text);
    unsetenv("BPFGEN_FORK_SERVER_FD");
    fcntl(socket_fd, F_SETFD, FD_CLOEXEC);

    sigset_t child_exits, mask;
    sigemptyset(&child_exits);
    sigaddset(&child_exits, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child_exits, &mask);
    int signal_fd = signalfd(-1, &child_exits, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd < 0 || send(socket_fd, "ready", 5, MSG_NOSIGNAL) != 5)
        return 1;
    for (;;) {
        struct pollfd watched[2] = {{socket_fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
        if (poll(watched, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (watched[1].revents & POLLIN) {
            struct signalfd_siginfo info;
            while (read(signal_fd, &info, sizeof info) == sizeof info) {
            }
            report_finished(WNOHANG);
        }
        if ((watched[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
            !take_request(socket_fd, signal_fd, &mask))
            break;
    }
    report_finished(0);
    return 0;
}

int __libc_start_main(main_function main, int argc, char **argv, void (*init)(void),
                      void (*fini)(void), void (*rtld_fini)(void), void *stack_end) {
    start_function start = (start_function)dlsym(RTLD_NEXT, "__libc_start_main");
    clang_main = main;
    return start(serve, argc, argv, init, fini, rtld_fini, stack_end);
}

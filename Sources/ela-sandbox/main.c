/* ela-sandbox: confines itself, then execs a plugin. The daemon (multithreaded Swift, so it never forks) starts it
   with posix_spawn, as root:

     ela-sandbox --name NAME --uid N --gid N [--state-dir DIR] [--ro PATH]... [--rw PATH]... [--deny PATH]...
                 [--device PATH_OR_GLOB]...
                 [--network] [--memory-mb N (128)] [--pids N (64)] [--nofile N (256)] [--cgroup-parent NAME (ela-agent)]
                 [--report-fd FD] [--env K=V]... [--allow-root] -- EXECUTABLE [ARGS...]

   Processes: launcher (this process, host namespaces, root; forwards SIGTERM/SIGINT/SIGHUP; when the daemon
              process dies it kills the plugin and exits)
     -> init (pid 1 of a new pid namespace; applies every layer to itself, reaps zombies, forwards signals)
        -> plugin (pid 2; execs EXECUTABLE with only the --env variables, PATH defaulted).
   Killing the launcher kills init (PR_SET_PDEATHSIG) and with it the whole pid namespace. The plugin starts with
   umask 077 in its state dir (or /).

   Layer order, each reported as one JSON line on --report-fd (see report.c):
     cgroup (launcher, root) -> pid_ns -> mount_ns, ipc_ns, uts_ns, net_ns -> filesystem, devices (root, in the new
     mount ns) -> user (setgroups, setresgid, setresuid) -> no_new_privs -> landlock -> rlimits -> seccomp (last:
     it forbids mount and friends) -> {"exec":PATH} -> execve.
   fds 0, 1, 2 and 3 (the plugin protocol socket) pass through; the report fd is close-on-exec; all others are closed.

   Exit status: the plugin's own status, or 128+N if the plugin was killed by signal N (137 = SIGKILL, e.g. by the
   memory limit; 143 = SIGTERM). 125: usage error or a failed layer ({"error":...} in the report). 126: the
   executable could not be executed. 127: the executable does not exist inside the sandbox. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

static const int forwarded_signals[] = {SIGTERM, SIGINT, SIGHUP};
static int has_socket; /* fd 3 was inherited; if not, our own fds may take number 3 and must not be closed as it */
static volatile pid_t forward_to = 0;

static void forward_signal(int sig) {
    if (forward_to > 0) kill(forward_to, sig);
}

static void set_forwarding(pid_t child) {
    struct sigaction sa = {.sa_handler = forward_signal};
    sigemptyset(&sa.sa_mask);
    forward_to = child;
    for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
        sigaction(forwarded_signals[i], &sa, NULL);
}

static void block_forwarded(int how) {
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
        sigaddset(&set, forwarded_signals[i]);
    sigprocmask(how, &set, NULL);
}

/* Waits for `child`, reaping any other child on the way (init adopts orphans); returns its exit code. */
static int wait_for(pid_t child) {
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0 && errno == EINTR) continue;
        if (pid < 0) return EXIT_SETUP;
        if (pid == child) return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
}

static int valid_name(const char *s, int allow_slash) {
    size_t len = strlen(s);
    if (len == 0 || len > 64 || s[0] == '.' || s[0] == '-' || s[0] == '/' || s[len - 1] == '/') return 0;
    for (const char *p = s; *p; p++) {
        if (*p == '/' && allow_slash && p[1] != '.' && p[1] != '/') continue;
        if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z')))
            return 0;
    }
    return 1;
}

static long number(const char *option, const char *text, long min, long max) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || end == text || v < min || v > max) fail(NULL, "%s: expected a number in %ld...%ld", option, min, max);
    return v;
}

/* The state dir belongs to the plugin: create it if missing, then uid:gid and mode 0700 (no symlink followed). */
static char *prepare_state_dir(const struct options *o, const char *path) {
    if (path[0] != '/' || mkdir_p(path, 0700) != 0) fail("filesystem", "state dir %s: %s", path, strerror(errno));
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchown(fd, o->uid, o->gid) != 0 || fchmod(fd, 0700) != 0)
        fail("filesystem", "state dir %s: %s", path, strerror(errno));
    close(fd);
    return realpath(path, NULL);
}

/* Whether `path` is `dir` or lies inside it (both canonical). */
static int within(const char *path, const char *dir) {
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' || strcmp(dir, "/") == 0);
}

/* The real path of a path given on the command line; never the whole host. */
static char *canonical(const char *option, const char *path) {
    char *real = path[0] == '/' ? realpath(path, NULL) : NULL;
    if (!real) fail("filesystem", "%s %s: %s", option, path, path[0] == '/' ? strerror(errno) : "not absolute");
    if (strcmp(real, "/") == 0) fail("filesystem", "%s /: the whole host is never granted", option);
    return real;
}

/* A --ro or --rw path, canonical and checked. The host's own /proc, /dev and /run never show through the
   sandbox's (every process, every device node, D-Bus and other sockets, which a read-only bind does not stop anyone
   connecting to), nor /etc as a whole, nor a --deny path. Checked on the real path, so `//run`, `/./proc` or a
   symlink to them are refused too. */
static char *granted_path(const struct options *o, const char *option, const char *path) {
    static const char *const host_only[] = {"/proc", "/dev", "/run", "/sys/fs/cgroup", NULL};
    char *real = canonical(option, path);
    for (int i = 0; host_only[i]; i++)
        if (within(real, host_only[i])) fail("filesystem", "%s %s (%s): the host's %s is never granted", option, path, real, host_only[i]);
    if (strcmp(real, "/etc") == 0) fail("filesystem", "%s %s: the host's /etc as a whole is never granted", option, path);
    for (int i = 0; i < o->n_deny; i++)
        if (within(real, o->deny[i]) || within(o->deny[i], real))
            fail("filesystem", "%s %s (%s) would show %s, which is denied", option, path, real, o->deny[i]);
    return real;
}

/* Where the kernel describes a granted device node in sysfs, found in the host view. Some libraries check a node
   against it before using it: libgpiod 1.6 refuses a gpiochip whose /sys/bus/gpio/devices/<name>/dev does not
   hold the node's major:minor, so without it no GPIO chip opens in the sandbox. */
static void find_sysfs(struct options *o, int i) {
    struct stat st;
    char path[PATH_MAX];
    o->dev_sys[i] = o->dev_bus[i] = NULL;
    o->dev_num[i][0] = '\0';
    if (stat(o->dev_src[i], &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) return;
    snprintf(o->dev_num[i], sizeof o->dev_num[i], "/sys/dev/%s/%u:%u", S_ISCHR(st.st_mode) ? "char" : "block",
             major(st.st_rdev), minor(st.st_rdev));
    char *dir = realpath(o->dev_num[i], NULL);
    if (!dir || strncmp(dir, "/sys/devices/", 13) != 0) {
        free(dir);
        o->dev_num[i][0] = '\0';
        return;
    }
    o->dev_sys[i] = dir;
    snprintf(path, sizeof path, "%s/subsystem", dir);
    char *subsystem = realpath(path, NULL);
    if (subsystem && strncmp(subsystem, "/sys/bus/", 9) == 0) {
        struct stat link;
        snprintf(path, sizeof path, "%s/devices/%s", subsystem, strrchr(dir, '/') + 1);
        if (lstat(path, &link) == 0 && S_ISLNK(link.st_mode)) o->dev_bus[i] = strdup(path);
    }
    free(subsystem);
}

/* Expands a --device glob in the host view; a pattern matching nothing is reported, not fatal. */
static void add_devices(struct options *o, const char *pattern) {
    glob_t g;
    if (pattern[0] != '/' || glob(pattern, 0, NULL, &g) != 0) {
        size_t used = strlen(o->missing);
        snprintf(o->missing + used, sizeof o->missing - used, "%s%s", used ? " " : "", pattern);
        return;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        if (o->n_dev == MAX_ITEMS) fail(NULL, "too many devices");
        o->dev[o->n_dev] = strdup(g.gl_pathv[i]);
        o->dev_src[o->n_dev] = canonical("--device", g.gl_pathv[i]);
        find_sysfs(o, o->n_dev++);
    }
    globfree(&g);
}

static void parse(int argc, char **argv, struct options *o) {
    const char *state = NULL, *uid = NULL, *gid = NULL, *devices[MAX_ITEMS];
    int n_devices = 0, has_path = 0;
    *o = (struct options){.memory_mb = 128, .pids = 64, .nofile = 256, .cgroup_parent = "ela-agent", .report_fd = -1};
    /* Find the report fd first so every usage error below is reported on it too. */
    for (int i = 1; i + 1 < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--report-fd") == 0) o->report_fd = (int)number("--report-fd", argv[i + 1], 4, 65535);
    if (o->report_fd >= 0) {
        if (fcntl(o->report_fd, F_SETFD, FD_CLOEXEC) != 0) fail(NULL, "--report-fd %d: %s", o->report_fd, strerror(errno));
        report_init(o->report_fd);
    }
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--network") == 0) { o->network = 1; continue; }
        if (strcmp(opt, "--allow-root") == 0) { o->allow_root = 1; continue; }
        if (i + 1 >= argc) fail(NULL, "%s: missing value", opt);
        const char *v = argv[++i];
        if (strcmp(opt, "--name") == 0) o->name = v;
        else if (strcmp(opt, "--uid") == 0) uid = v;
        else if (strcmp(opt, "--gid") == 0) gid = v;
        else if (strcmp(opt, "--state-dir") == 0) state = v;
        else if (strcmp(opt, "--memory-mb") == 0) o->memory_mb = number(opt, v, 0, 1L << 20);
        else if (strcmp(opt, "--pids") == 0) o->pids = number(opt, v, 0, 1L << 22);
        else if (strcmp(opt, "--nofile") == 0) o->nofile = number(opt, v, 16, 1L << 20);
        else if (strcmp(opt, "--cgroup-parent") == 0) o->cgroup_parent = v;
        else if (strcmp(opt, "--report-fd") == 0) continue; /* handled above */
        else if (strcmp(opt, "--ro") == 0 && o->n_ro < MAX_ITEMS) o->ro[o->n_ro++] = (char *)v;
        else if (strcmp(opt, "--rw") == 0 && o->n_rw < MAX_ITEMS) o->rw[o->n_rw++] = (char *)v;
        else if (strcmp(opt, "--deny") == 0 && o->n_deny < MAX_ITEMS && v[0] == '/') o->deny[o->n_deny++] = (char *)v;
        else if (strcmp(opt, "--device") == 0 && n_devices < MAX_ITEMS) devices[n_devices++] = v;
        else if (strcmp(opt, "--env") == 0 && o->n_env < MAX_ITEMS && strchr(v, '=') > v) {
            o->env[o->n_env++] = (char *)v;
            has_path |= strncmp(v, "PATH=", 5) == 0;
        } else fail(NULL, "unknown option, bad value or too many: %s %s", opt, v);
    }
    if (i >= argc - 1) fail(NULL, "usage: ela-sandbox --name NAME --uid N --gid N [options] -- EXECUTABLE [ARGS...]");
    o->argv = argv + i + 1;
    if (o->argv[0][0] != '/') fail(NULL, "executable must be an absolute path: %s", o->argv[0]);
    if (!o->name || !valid_name(o->name, 0)) fail(NULL, "--name: 1-64 of [A-Za-z0-9._-], not starting with . or -");
    if (!valid_name(o->cgroup_parent, 1)) fail(NULL, "--cgroup-parent: names of [A-Za-z0-9._-] separated by /");
    if (!uid || !gid) fail(NULL, "--uid and --gid are required");
    o->uid = (uid_t)number("--uid", uid, 0, 0x7fffffff);
    o->gid = (gid_t)number("--gid", gid, 0, 0x7fffffff);
    if ((o->uid == 0 || o->gid == 0) && !o->allow_root) fail(NULL, "refusing uid/gid 0 (only --allow-root, for tests)");
    if (!has_path) o->env[o->n_env++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    o->env[o->n_env] = NULL;
    if (geteuid() != 0) fail(NULL, "must run as root: it builds namespaces and mounts, then drops to --uid");
    /* Canonical paths in the host view: binds then never follow a symlink from inside the new root. */
    /* Denied paths canonical too (one that does not exist yet is compared as given). */
    for (int k = 0; k < o->n_deny; k++) {
        char *real = realpath(o->deny[k], NULL);
        if (real) o->deny[k] = real;
    }
    for (int k = 0; k < o->n_ro; k++) o->ro[k] = granted_path(o, "--ro", o->ro[k]);
    for (int k = 0; k < o->n_rw; k++) o->rw[k] = granted_path(o, "--rw", o->rw[k]);
    if (state) o->state_dir = prepare_state_dir(o, state);
    for (int k = 0; k < n_devices; k++) add_devices(o, devices[k]);
}

/* Watches the daemon through a pidfd. Not PR_SET_PDEATHSIG: that fires when the daemon *thread* that spawned us
   exits, and a Swift daemon's threads come and go (Dispatch workers retire when idle). */
static int watch_daemon(pid_t daemon) {
    int fd = (int)syscall(SYS_pidfd_open, daemon, 0);
    if (fd < 0) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* kernel < 5.3: accept the thread caveat */
    if (getppid() != daemon) _exit(EXIT_SETUP);            /* it died before we could watch it */
    return fd;
}

/* The launcher's life after starting init: forward signals (handlers), and if the daemon dies first, take the
   plugin down with it, then reap init and pass on its status. */
static int supervise(pid_t child, int daemon_fd) {
    int child_fd = (int)syscall(SYS_pidfd_open, child, 0);
    struct pollfd p[2] = {{.fd = child_fd, .events = POLLIN}, {.fd = daemon_fd, .events = POLLIN}};
    while (child_fd >= 0 && daemon_fd >= 0) {
        p[0].revents = p[1].revents = 0;
        if (poll(p, 2, -1) < 0 && errno != EINTR) break;
        if (p[1].revents) kill(child, SIGKILL);
        if (p[0].revents || p[1].revents) break;
    }
    return wait_for(child);
}

/* Enters one namespace; a kernel built without it (EINVAL) is reported, any other error aborts. */
static int enter_namespace(int flag, const char *layer, const char *detail) {
    if (unshare(flag) == 0) {
        report_layer(layer, "active", "%s", detail);
        return 1;
    }
    if (errno != EINVAL) fail(layer, "unshare: %s", strerror(errno));
    report_layer(layer, "unavailable", "kernel built without this namespace");
    return 0;
}

/* pid 2: the plugin. Everything is confined already; give it a clean signal state and exec. */
static _Noreturn void exec_plugin(const struct options *o) {
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL); /* ignored signals would survive execve */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    umask(077);
    if (chdir(o->state_dir ? o->state_dir : "/") != 0 && chdir("/") != 0) _exit(EXIT_SETUP);
    report_exec(o->argv[0]);
    execve(o->argv[0], o->argv, o->env);
    int e = errno;
    report_error("execve %s: %s", o->argv[0], strerror(e));
    _exit(e == ENOENT || e == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

/* pid 1 of the new pid namespace: build the sandbox around itself, start the plugin, then supervise it. */
static _Noreturn void run_init(const struct options *o, int go) {
    char c;
    /* Die with the launcher; the go byte means the launcher has put us into the cgroup. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (read(go, &c, 1) != 1) _exit(EXIT_SETUP);

    int mount_ns = enter_namespace(CLONE_NEWNS, "mount_ns", "private mount table");
    enter_namespace(CLONE_NEWIPC, "ipc_ns", "private System V IPC and POSIX message queues");
    char hostname[80];
    snprintf(hostname, sizeof hostname, "hostname %s", o->name);
    if (enter_namespace(CLONE_NEWUTS, "uts_ns", hostname) && sethostname(o->name, strlen(o->name)) != 0)
        fail("uts_ns", "sethostname: %s", strerror(errno));
    if (o->network) report_layer("net_ns", "off", "network granted");
    else enter_namespace(CLONE_NEWNET, "net_ns", "no network: only a down loopback");
    if (mount_ns) {
        fs_setup(o);
    } else {
        report_layer("filesystem", "unavailable", "needs a mount namespace");
        report_layer("devices", "unavailable", "needs a mount namespace");
    }
    drop_user(o);
    /* Changing credentials cleared the parent-death signal: set it again, then make sure the launcher did not die
       in between (its end of the go pipe closes when it exits). */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    struct pollfd p = {.fd = go, .events = POLLIN};
    if (poll(&p, 1, 0) != 0) _exit(EXIT_SETUP);
    close(go);
    set_no_new_privs();
    apply_landlock(o);
    apply_rlimits(o);
    apply_seccomp();

    pid_t plugin = fork();
    if (plugin < 0) fail(NULL, "fork plugin: %s", strerror(errno));
    if (plugin == 0) exec_plugin(o);
    report_close();
    if (has_socket) close(3); /* the plugin's socket: when the plugin dies the daemon must see EOF at once */
    set_forwarding(plugin);
    block_forwarded(SIG_UNBLOCK);
    _exit(wait_for(plugin));
}

int main(int argc, char **argv) {
    struct options o;
    struct cgroup cg;
    int go[2];

    /* Every directory and file the launcher makes gets the mode it names, whatever umask the daemon runs under:
       systemd's UMask=0077 would leave the sandbox's /etc and the parents of its mount points root-only, which the
       plugin's own uid could not even pass through. The plugin itself gets 077 (exec_plugin). */
    umask(022);
    /* Signals stay blocked until the child exists to forward them to. */
    block_forwarded(SIG_BLOCK);
    signal(SIGPIPE, SIG_IGN); /* a vanished report reader must not kill us; the plugin gets SIG_DFL back */
    pid_t daemon = getppid();
    has_socket = fcntl(3, F_GETFD) >= 0;

    parse(argc, argv, &o);
    /* Close every inherited fd except 0-2, 3 and the report fd (>= 4). */
    if ((o.report_fd > 4 && close_range(4, (unsigned)o.report_fd - 1, 0) != 0) ||
        close_range(o.report_fd >= 4 ? (unsigned)o.report_fd + 1 : 4, ~0U, 0) != 0)
        fail(NULL, "close_range: %s", strerror(errno));
    int daemon_fd = watch_daemon(daemon);
    cgroup_prepare(&o, &cg);

    int pid_ns = 1;
    if (unshare(CLONE_NEWPID) != 0) {
        if (errno != EINVAL) fail("pid_ns", "unshare: %s", strerror(errno));
        pid_ns = 0;
    }
    if (pipe2(go, O_CLOEXEC) != 0) fail(NULL, "pipe: %s", strerror(errno));
    pid_t child = fork();
    if (child < 0) fail(NULL, "fork: %s", strerror(errno));
    if (child == 0) {
        close(go[1]);
        close(daemon_fd);
        run_init(&o, go[0]);
    }
    close(go[0]);
    cgroup_join(&cg, child);
    report_layer("cgroup", cg.state, "%s", cg.detail);
    if (pid_ns) report_layer("pid_ns", "active", "plugin is pid 2 under its own init");
    else report_layer("pid_ns", "unavailable", "kernel built without pid namespaces");
    if (write(go[1], "g", 1) != 1) fail(NULL, "start init: %s", strerror(errno));
    report_close();
    if (has_socket) close(3);
    set_forwarding(child);
    block_forwarded(SIG_UNBLOCK);
    int status = supervise(child, daemon_fd);
    cgroup_remove(&cg);
    return status;
}

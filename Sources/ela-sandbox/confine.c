/* The layers applied after the filesystem view: user ids, no_new_privs, Landlock, rlimits and seccomp.
   Runs in init; the plugin inherits all of them through fork and execve. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

void drop_user(const struct options *o) {
    /* The bounding set can only be emptied while we still hold CAP_SETPCAP, i.e. before setuid. */
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) fail("user", "drop capability %d: %s", cap, strerror(errno));
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (setgroups(0, NULL) != 0) fail("user", "setgroups: %s", strerror(errno));
    if (setresgid(o->gid, o->gid, o->gid) != 0) fail("user", "setresgid %u: %s", (unsigned)o->gid, strerror(errno));
    if (setresuid(o->uid, o->uid, o->uid) != 0) fail("user", "setresuid %u: %s", (unsigned)o->uid, strerror(errno));
    /* Leaving uid 0 clears the capability sets; clear them anyway (--allow-root stays uid 0), then check. */
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {{0, 0, 0}, {0, 0, 0}};
    if (syscall(SYS_capset, &header, data) != 0 || syscall(SYS_capget, &header, data) != 0)
        fail("user", "capset: %s", strerror(errno));
    if (data[0].effective | data[1].effective | data[0].permitted | data[1].permitted | data[0].inheritable)
        fail("user", "capabilities survived setuid");
    report_layer("user", "active", "uid %u gid %u%s, no supplementary groups, no capabilities, bounding set empty", (unsigned)o->uid,
                 (unsigned)o->gid, o->uid ? "" : " (uid 0: --allow-root, tests only)");
}

void set_no_new_privs(void) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        fail("no_new_privs", "prctl: %s", strerror(errno));
    report_layer("no_new_privs", "active", "execve can never grant privileges (setuid bits, file capabilities)");
}

/* Access rights newer than Debian 12's <linux/landlock.h> (ABI 1 and 2). */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#define ACCESS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define ACCESS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define ACCESS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define ACCESS_EXEC (ACCESS_READ | LANDLOCK_ACCESS_FS_EXECUTE)
#define ACCESS_DEVICE (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | ACCESS_TRUNCATE | ACCESS_IOCTL_DEV)
#define ACCESS_FILE_ONLY (LANDLOCK_ACCESS_FS_EXECUTE | ACCESS_DEVICE) /* the rights valid on a non-directory */

/* Landlock scopes (ABI 6, linux/landlock.h of 6.12), not in Debian 12's headers. */
#define ELA_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define ELA_LANDLOCK_SCOPE_SIGNAL (1ULL << 1)

/* Allows `access` beneath `path`; a missing path (no /lib64 on this host) needs no rule. */
static int add_rule(int ruleset, const char *path, uint64_t access, uint64_t handled) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) access &= ACCESS_FILE_ONLY;
    struct landlock_path_beneath_attr rule = {.allowed_access = access & handled, .parent_fd = fd};
    long r = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return r == 0 ? 1 : -1;
}

void apply_landlock(const struct options *o) {
    static const char *const exec_dirs[] = {"/usr", "/bin", "/sbin", "/lib", "/lib64", NULL};
    static const char *const devices[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                                          "/dev/tty", NULL};
    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 0) {
        if (errno == ENOSYS || errno == EOPNOTSUPP) {
            report_layer("landlock", "unavailable", "%s", errno == ENOSYS ? "kernel built without Landlock"
                                                                          : "Landlock disabled at boot (lsm=)");
            return;
        }
        fail("landlock", "landlock_create_ruleset: %s", strerror(errno));
    }
    /* Handle every right this ABI knows: unhandled rights would stay allowed everywhere. */
    uint64_t handled = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */
    if (abi >= 2) handled |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) handled |= ACCESS_TRUNCATE;
    if (abi >= 5) handled |= ACCESS_IOCTL_DEV;
    /* landlock_ruleset_attr grows with the ABI: fs rights (1), network rights (4), scopes (6). Debian 12's headers
       stop before scopes, so the layout is spelled here. From ABI 6 the plugin is scoped: it can neither connect to
       an abstract unix socket made outside its sandbox (a plugin granted the network shares the host's network
       namespace, where D-Bus, systemd and X11 listen) nor signal a process outside it. */
    struct { uint64_t handled_access_fs, handled_access_net, scoped; } attr = {handled, 0, 0};
    size_t attr_size = sizeof attr.handled_access_fs;
    int scoped = abi >= 6;
    if (scoped) {
        attr.scoped = ELA_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | ELA_LANDLOCK_SCOPE_SIGNAL;
        attr_size = sizeof attr;
    }
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
    if (ruleset < 0) fail("landlock", "create ruleset: %s", strerror(errno));

    int rules = 0, r = 0;
#define RULE(path, access)                                                                                    \
    do {                                                                                                      \
        if ((r = add_rule(ruleset, (path), (access), handled)) < 0)                                           \
            fail("landlock", "rule for %s: %s", (path), strerror(errno));                                     \
        rules += r;                                                                                           \
    } while (0)
    RULE("/", LANDLOCK_ACCESS_FS_READ_DIR);
    for (int i = 0; exec_dirs[i]; i++) RULE(exec_dirs[i], ACCESS_EXEC);
    for (int i = 0; i < o->n_ro; i++) RULE(o->ro[i], ACCESS_EXEC);
    RULE("/etc", ACCESS_READ);
    RULE("/proc", ACCESS_READ);
    /* Writable places: every right but execute (they are mounted noexec as well). */
    const uint64_t writable = handled & ~(uint64_t)LANDLOCK_ACCESS_FS_EXECUTE;
    RULE("/tmp", writable);
    if (o->state_dir) RULE(o->state_dir, writable);
    for (int i = 0; i < o->n_rw; i++) RULE(o->rw[i], writable);
    for (int i = 0; devices[i]; i++) RULE(devices[i], ACCESS_DEVICE);
    for (int i = 0; i < o->n_dev; i++) RULE(o->dev[i], ACCESS_DEVICE | ACCESS_READ);
    for (int i = 0; i < o->n_dev; i++)
        if (o->dev_sys[i]) RULE(o->dev_sys[i], ACCESS_READ);
#undef RULE
    if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) fail("landlock", "restrict_self: %s", strerror(errno));
    close(ruleset);
    /* Unscoped, a plugin in its own network and pid namespaces still reaches no host socket or process; one granted
       the network reaches the host's abstract unix sockets (D-Bus, systemd): then the layer is only partial. */
    int weaker = !scoped && o->network;
    report_layer("landlock", weaker ? "partial" : "active",
                 "ABI %d, %d rules: read+exec system and read-only dirs, read-write (no exec) state, /tmp and granted "
                 "paths, read /etc and /proc; %s", abi, rules,
                 scoped    ? "scoped: no abstract unix sockets or signals outside the sandbox"
                 : weaker  ? "not scoped (ABI < 6, kernel before 6.12): the host's abstract unix sockets are reachable"
                           : "not scoped (ABI < 6), nothing lost: own network and pid namespaces");
}

void apply_rlimits(const struct options *o) {
    struct { int resource; rlim_t value; } limits[] = {
        {RLIMIT_CORE, 0},
        {RLIMIT_NOFILE, (rlim_t)o->nofile},
        {RLIMIT_NPROC, o->pids > 0 ? (rlim_t)o->pids : RLIM_INFINITY},
        {RLIMIT_FSIZE, (rlim_t)1 << 30},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        struct rlimit current, want = {limits[i].value, limits[i].value};
        /* Raising a hard limit needs CAP_SYS_RESOURCE; never ask for more than the hard limit we have. */
        if (getrlimit(limits[i].resource, &current) == 0 && want.rlim_max > current.rlim_max)
            want.rlim_cur = want.rlim_max = current.rlim_max;
        if (setrlimit(limits[i].resource, &want) != 0)
            fail("rlimits", "setrlimit %d: %s", limits[i].resource, strerror(errno));
    }
    struct rlimit nofile, nproc; /* report what was applied: a hard limit below the request wins */
    getrlimit(RLIMIT_NOFILE, &nofile);
    getrlimit(RLIMIT_NPROC, &nproc);
    report_layer("rlimits", "active", "core 0, nofile %llu, nproc %lld, fsize 1 GiB", (unsigned long long)nofile.rlim_cur,
                 nproc.rlim_cur == RLIM_INFINITY ? -1LL : (long long)nproc.rlim_cur);
}

/* A deny-list: default allow, these fail with EPERM. They reach the kernel's own internals (modules, kexec, bpf,
   keyrings, perf), other processes (ptrace), the mount and namespace machinery the sandbox is built from, or
   host-wide state (clock, hostname, swap, reboot). io_uring is here because its requests bypass seccomp. */
static const char *const denied[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "mount_setattr",
    "kexec_load", "kexec_file_load", "bpf", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "keyctl", "add_key", "request_key", "perf_event_open", "acct", "quotactl", "quotactl_fd",
    "open_by_handle_at", "name_to_handle_at", "userfaultfd", "syslog", "settimeofday", "clock_settime",
    "clock_adjtime", "adjtimex", "iopl", "ioperm", "lookup_dcookie", "sethostname", "setdomainname", "uselib",
    "io_uring_setup", "io_uring_enter", "io_uring_register", NULL,
};

void apply_seccomp(void) {
    static const unsigned long clone_ns_flags[] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                                                   CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    int count = 0, rc = 0;
    if (!ctx) fail("seccomp", "seccomp_init failed");
    /* Syscalls of another ABI (i386 via int 0x80, x32) are not in this filter: kill the process outright. */
    if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) != 0) goto error;
    char absent[256] = "";
    for (int i = 0; denied[i]; i++) {
        int nr = seccomp_syscall_resolve_name(denied[i]);
        if (nr == __NR_SCMP_ERROR) {
            /* Not on this architecture, or newer than this libseccomp: named in the report, never silent. */
            size_t used = strlen(absent);
            snprintf(absent + used, sizeof absent - used, "%s%s", used ? " " : "", denied[i]);
            continue;
        }
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) != 0) goto error;
        count++;
    }
    /* clone() could still create namespaces; clone3() hides its flags in memory seccomp cannot read, so it
       reports ENOSYS and libc falls back to clone(). */
    for (size_t i = 0; i < sizeof clone_ns_flags / sizeof clone_ns_flags[0]; i++)
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                   SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]))) != 0)
            goto error;
    if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) != 0) goto error;
    /* personality: only PER_LINUX (0) and the query 0xffffffff; the kernel reads the low 32 bits only. libseccomp
       allows one comparison per argument in a rule, so "neither all zero nor all one bits" is spelled as: some bit
       i set while bit i+1 (mod 32) is clear. */
    for (int bit = 0; bit < 32; bit++) {
        uint64_t set = 1ULL << bit, clear = 1ULL << ((bit + 1) % 32);
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
                                   SCMP_A0(SCMP_CMP_MASKED_EQ, set | clear, set))) != 0)
            goto error;
    }
    if ((rc = seccomp_load(ctx)) != 0) goto error;
    seccomp_release(ctx);
    report_layer("seccomp", "active", "%d syscalls denied (EPERM), namespace flags of clone denied, clone3 ENOSYS, "
                 "personality only default; foreign-arch syscalls kill%s%s", count,
                 absent[0] ? "; unknown here (not on this architecture or to this libseccomp): " : "", absent);
    return;
error:
    fail("seccomp", "libseccomp: %s", strerror(-rc));
}

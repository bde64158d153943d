/* ela-sandbox: shared declarations. See main.c for the command line, the layer order and the exit codes. */
#ifndef ELA_SANDBOX_H
#define ELA_SANDBOX_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

enum {
    EXIT_SETUP = 125,    /* usage error or a layer failed; the report says which */
    EXIT_NOEXEC = 126,   /* the executable exists but execve() refused it */
    EXIT_NOTFOUND = 127, /* the executable does not exist inside the sandbox */
};

#define MAX_ITEMS 64

struct options {
    const char *name;
    uid_t uid;
    gid_t gid;
    char *state_dir; /* canonical path, or NULL */
    char *ro[MAX_ITEMS];
    int n_ro;
    /* Paths no --ro/--rw may show (equal, inside or holding them), checked after realpath: the agent's state. */
    char *deny[MAX_ITEMS];
    int n_deny;
    char *rw[MAX_ITEMS];
    int n_rw;
    char *dev[MAX_ITEMS];     /* granted device paths after glob expansion, bound at this path */
    char *dev_src[MAX_ITEMS]; /* their canonical host paths */
    char *dev_sys[MAX_ITEMS]; /* a device node's sysfs directory (/sys/devices/...), shown read-only, or NULL */
    char *dev_bus[MAX_ITEMS]; /* its link on its bus (/sys/bus/gpio/devices/gpiochip0), or NULL */
    char dev_num[MAX_ITEMS][40]; /* its /sys/dev link (/sys/dev/char/254:0), or "" */
    int n_dev;
    char missing[512]; /* --device patterns that matched nothing */
    int network, allow_root;
    long memory_mb, pids, nofile;
    const char *cgroup_parent;
    int report_fd;
    char *env[MAX_ITEMS + 2];
    int n_env;
    char **argv; /* EXECUTABLE [ARGS...] */
};

/* report.c: one JSON object per line on the report fd (if any). */
void report_init(int fd);
void report_close(void);
void report_layer(const char *layer, const char *state, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void report_exec(const char *path);
void report_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports `layer` as failed (if non-NULL), writes {"error":...} and exits EXIT_SETUP. */
_Noreturn void fail(const char *layer, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cgroup.c: runs in the launcher, in the host namespaces. */
struct cgroup {
    int n;
    char dir[2][PATH_MAX];
    /* How many levels above each dir are the agent's parent (cgroup_parent's parts). */
    int parent_depth;
    char detail[512];
    const char *state;
};
void cgroup_prepare(const struct options *o, struct cgroup *cg);
void cgroup_join(const struct cgroup *cg, pid_t pid);
void cgroup_remove(const struct cgroup *cg);

/* fs.c: runs in init, in the new mount namespace, as root. */
void fs_setup(const struct options *o);
int mkdir_p(const char *path, mode_t mode);

/* confine.c: runs in init, in this order. */
void drop_user(const struct options *o);
void set_no_new_privs(void);
void apply_landlock(const struct options *o);
void apply_rlimits(const struct options *o);
void apply_seccomp(void);

#endif

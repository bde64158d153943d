/* Memory and pids limits through a cgroup <hierarchy>/<parent>/<name>: v2 when the unified hierarchy offers both
   controllers, else the v1 memory and pids hierarchies (hybrid hosts such as this VM), else reported unavailable.
   The launcher (host namespaces, still root) creates the cgroup and moves init into it before init does anything,
   so every process of the plugin is charged; the launcher itself stays outside so it can remove the cgroup. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox.h"

static int write_file(const char *dir, const char *file, const char *value) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path) return errno = ENAMETOOLONG, -1;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, value, strlen(value));
    int saved = errno;
    close(fd);
    errno = saved;
    return n < 0 ? -1 : 0;
}

static int has_word(const char *text, const char *word) {
    size_t len = strlen(word);
    for (const char *p = text; (p = strstr(p, word)) != NULL; p += len)
        if ((p == text || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' ' || p[len] == '\n')) return 1;
    return 0;
}

/* A leftover cgroup from a launcher that was SIGKILLed: kill what is still inside, then remove it. */
static int remove_stale(const char *dir) {
    for (int tries = 0; tries < 200; tries++) {
        if (rmdir(dir) == 0 || errno == ENOENT) return 0;
        if (errno != EBUSY) return -1;
        write_file(dir, "cgroup.kill", "1"); /* v2 only; v1 falls through to the pid list */
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        FILE *f = fopen(path, "re");
        long pid;
        while (f && fscanf(f, "%ld", &pid) == 1) kill((pid_t)pid, SIGKILL);
        if (f) fclose(f);
        usleep(10000);
    }
    errno = EBUSY;
    return -1;
}

/* mkdir -p <root>/<parent>, enabling the v2 controllers on the way down (a v2 child only gets the controllers
   listed in its parent's cgroup.subtree_control). */
static int make_parent(const char *root, const char *parent, const char *enable, char *out) {
    snprintf(out, PATH_MAX, "%s", root);
    const char *p = parent;
    for (;;) {
        /* Only the controllers this kernel has: one missing from the list would fail the whole write (EINVAL). */
        if (enable && write_file(out, "cgroup.subtree_control", enable) != 0) {
            /* Removed under us by another launcher (ENODEV while it goes): the caller tries again. */
            if (errno == ENOENT || errno == ENODEV) return -1;
            fail("cgroup", "enable %s in %s/cgroup.subtree_control: %s", enable, out, strerror(errno));
        }
        if (*p == '\0') return 0;
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        size_t used = strlen(out);
        snprintf(out + used, PATH_MAX - used, "/%.*s", (int)len, p);
        if (mkdir(out, 0755) != 0 && errno != EEXIST) {
            if (errno == ENOENT) return -1;
            fail("cgroup", "mkdir %s: %s", out, strerror(errno));
        }
        p += len;
        if (*p == '/') p++;
    }
}

/* `enable`: the v2 controllers to pass down ("+memory +pids"), NULL on v1. */
static void make_leaf(struct cgroup *cg, const char *root, const struct options *o, const char *enable) {
    char parent[PATH_MAX];
    char *dir = cg->dir[cg->n++];
    cg->parent_depth = 1;
    for (const char *c = o->cgroup_parent; *c; c++) cg->parent_depth += *c == '/';
    /* Another plugin's launcher removes the parent when its plugin was the last one in it (cgroup_remove): one that
       went between our mkdir -p and the leaf's mkdir is made again. */
    for (int tries = 0;; tries++) {
        if (make_parent(root, o->cgroup_parent, enable, parent) != 0) {
            if (tries == 20) fail("cgroup", "make %s under %s: %s", o->cgroup_parent, root, strerror(errno));
            usleep(1000);
            continue;
        }
        if (snprintf(dir, PATH_MAX, "%s/%s", parent, o->name) >= PATH_MAX) fail("cgroup", "path too long: %s", parent);
        if (remove_stale(dir) != 0) fail("cgroup", "remove stale %s: %s", dir, strerror(errno));
        if (mkdir(dir, 0755) == 0) return;
        if ((errno != ENOENT && errno != ENODEV) || tries == 20) fail("cgroup", "mkdir %s: %s", dir, strerror(errno));
        usleep(1000);
    }
}

static void set_limit(const char *dir, const char *file, long long value, const char *unlimited) {
    char text[32];
    if (value > 0) snprintf(text, sizeof text, "%lld", value);
    else snprintf(text, sizeof text, "%s", unlimited);
    if (write_file(dir, file, text) != 0) fail("cgroup", "write %s to %s/%s: %s", text, dir, file, strerror(errno));
}

void cgroup_prepare(const struct options *o, struct cgroup *cg) {
    char v2[PATH_MAX] = "", v1mem[PATH_MAX] = "", v1pids[PATH_MAX] = "", controllers[256] = "";
    cg->n = 0;
    if (o->memory_mb == 0 && o->pids == 0) {
        cg->state = "off";
        snprintf(cg->detail, sizeof cg->detail, "no memory or pids limit requested");
        return;
    }
    FILE *mounts = setmntent("/proc/self/mounts", "re");
    struct mntent *m;
    while (mounts && (m = getmntent(mounts)) != NULL) {
        if (strcmp(m->mnt_type, "cgroup2") == 0 && !v2[0]) snprintf(v2, sizeof v2, "%s", m->mnt_dir);
        if (strcmp(m->mnt_type, "cgroup") != 0) continue;
        if (hasmntopt(m, "memory") && !v1mem[0]) snprintf(v1mem, sizeof v1mem, "%s", m->mnt_dir);
        if (hasmntopt(m, "pids") && !v1pids[0]) snprintf(v1pids, sizeof v1pids, "%s", m->mnt_dir);
    }
    if (mounts) endmntent(mounts);
    if (v2[0]) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/cgroup.controllers", v2);
        FILE *f = fopen(path, "re");
        if (f && !fgets(controllers, sizeof controllers, f)) controllers[0] = '\0';
        if (f) fclose(f);
        controllers[strcspn(controllers, "\n")] = '\0';
    }
    /* long long: with a 32-bit long (armhf) 2048 MB would overflow into "unlimited". */
    long long bytes = (long long)o->memory_mb * 1024 * 1024;
    int v2mem = v2[0] && has_word(controllers, "memory"), v2pids = v2[0] && has_word(controllers, "pids");
    if (v2mem || v2pids) {
        /* Whatever of the two this kernel has (Raspberry Pi kernels often boot with the memory controller off). */
        make_leaf(cg, v2, o, v2mem && v2pids ? "+memory +pids" : v2mem ? "+memory" : "+pids");
        const char *swap = "";
        if (v2mem) {
            set_limit(cg->dir[0], "memory.max", bytes, "max");
            /* Without swap accounting the file is absent; said in the detail rather than ignored. */
            if (write_file(cg->dir[0], "memory.swap.max", "0") != 0) swap = " (swap not limited: no swap accounting)";
        }
        if (v2pids) set_limit(cg->dir[0], "pids.max", o->pids, "max");
        snprintf(cg->detail, sizeof cg->detail, "v2 %.200s: memory %s, pids %s; memory %ld MB%s, pids %ld", cg->dir[0],
                 v2mem ? "yes" : "controller missing", v2pids ? "yes" : "controller missing", o->memory_mb, swap, o->pids);
        cg->state = v2mem && v2pids ? "active" : "partial";
        return;
    } else if (v1mem[0] || v1pids[0]) {
        const char *swap1 = "";
        if (v1mem[0]) {
            make_leaf(cg, v1mem, o, NULL);
            set_limit(cg->dir[cg->n - 1], "memory.limit_in_bytes", bytes, "-1");
            if (bytes > 0) { /* memory+swap too, where swap is accounted (else the file is absent) */
                char text[32];
                snprintf(text, sizeof text, "%lld", bytes);
                if (write_file(cg->dir[cg->n - 1], "memory.memsw.limit_in_bytes", text) != 0)
                    swap1 = " (swap not limited: no swap accounting)";
            }
        }
        if (v1pids[0]) {
            make_leaf(cg, v1pids, o, NULL);
            set_limit(cg->dir[cg->n - 1], "pids.max", o->pids, "max");
        }
        snprintf(cg->detail, sizeof cg->detail, "v1: memory %s, pids %s; memory %ld MB%s, pids %ld",
                 v1mem[0] ? "yes" : "controller missing", v1pids[0] ? "yes" : "controller missing", o->memory_mb, swap1,
                 o->pids);
        cg->state = v1mem[0] && v1pids[0] ? "active" : "partial";
        return;
    } else {
        cg->state = "unavailable";
        snprintf(cg->detail, sizeof cg->detail, "no memory/pids controller (cgroup2 controllers: \"%.100s\")", controllers);
        return;
    }
    cg->state = "active";
}

void cgroup_join(const struct cgroup *cg, pid_t pid) {
    char text[32];
    snprintf(text, sizeof text, "%d", (int)pid);
    for (int i = 0; i < cg->n; i++)
        if (write_file(cg->dir[i], "cgroup.procs", text) != 0)
            fail("cgroup", "join %s: %s", cg->dir[i], strerror(errno));
}

void cgroup_remove(const struct cgroup *cg) {
    /* The pid namespace is gone once init is reaped, but the kernel may need a moment to release the cgroup. */
    for (int i = 0; i < cg->n; i++) {
        if (remove_stale(cg->dir[i]) != 0) {
            fprintf(stderr, "ela-sandbox: remove %s: %s\n", cg->dir[i], strerror(errno));
            continue;
        }
        /* The agent's parent too once its last plugin is gone (an agent's stop left one per state dir behind); one
           still holding another plugin's cgroup refuses (EBUSY), which is fine. */
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", cg->dir[i]);
        for (int level = 0; level < cg->parent_depth; level++) {
            char *slash = strrchr(dir, '/');
            if (!slash || slash == dir) break;
            *slash = '\0';
            if (rmdir(dir) != 0) break;
        }
    }
}

/* The plugin's filesystem view: a fresh tmpfs root holding only what was granted, every granted path at its own
   absolute path. Runs in init, in the new mount namespace, as root.

   How: mount a tmpfs over /tmp (visible only in this namespace), pivot_root into it with the old root parked at
   /.oldroot, bind what is granted from /.oldroot/<path>, then detach /.oldroot. The host's /tmp stays reachable as
   /.oldroot/tmp because pivot_root moved the tmpfs away from it. Bind sources were canonicalized in the host view
   by the launcher, so reaching them through /.oldroot never follows an absolute symlink. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

static const char *const system_dirs[] = {"/usr", "/bin", "/sbin", "/lib", "/lib64", NULL};
static const char *const basic_devices[] = {"null", "zero", "full", "random", "urandom", "tty", NULL};

int mkdir_p(const char *path, mode_t mode) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return errno = ENAMETOOLONG, -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return (mkdir(buf, mode) != 0 && errno != EEXIST) ? -1 : 0;
}

/* Binds /.oldroot<src> at <dst> (created as a directory or an empty file to match), then applies `flags`
   (MS_RDONLY, MS_NOSUID, ...) with a bind remount: a plain bind ignores them. Not recursive, so mounts below a
   granted path stay hidden. */
static void bind_path(const char *layer, const char *src, const char *dst, unsigned long flags) {
    char from[PATH_MAX + 16];
    struct stat st;
    snprintf(from, sizeof from, "/.oldroot%s", src);
    if (stat(from, &st) != 0) fail(layer, "%s: %s", src, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        if (mkdir_p(dst, 0755) != 0) fail(layer, "mkdir %s: %s", dst, strerror(errno));
    } else {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", dst);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) *slash = '\0';
        int fd = -1;
        if (mkdir_p(parent, 0755) != 0 || (fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0)
            fail(layer, "create mount point %s: %s", dst, strerror(errno));
        close(fd);
    }
    if (mount(from, dst, NULL, MS_BIND, NULL) != 0) fail(layer, "bind %s: %s", src, strerror(errno));
    if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | flags, NULL) != 0)
        fail(layer, "remount %s: %s", dst, strerror(errno));
}

static void mount_tmpfs(const char *dst, const char *options, unsigned long flags) {
    if (mkdir_p(dst, 0755) != 0 || mount("tmpfs", dst, "tmpfs", flags, options) != 0)
        fail("filesystem", "tmpfs on %s: %s", dst, strerror(errno));
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "we");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) fail("filesystem", "write %s: %s", path, strerror(errno));
}

/* Copies host /etc/<name> into the new root's /etc (still at /tmp/etc: runs before pivot_root, so symlinks such
   as resolv.conf -> /run/... resolve in the host view). /etc/localtime stays a symlink into /usr/share/zoneinfo. */
static void copy_etc(const char *name) {
    char from[PATH_MAX], to[PATH_MAX], link[PATH_MAX];
    snprintf(from, sizeof from, "/etc/%s", name);
    snprintf(to, sizeof to, "/tmp/etc/%s", name);
    ssize_t n = readlink(from, link, sizeof link - 1);
    if (n > 0 && strcmp(name, "localtime") == 0) {
        link[n] = '\0';
        if (symlink(link, to) != 0) fail("filesystem", "symlink %s: %s", to, strerror(errno));
        return;
    }
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) return; /* not present on this host: nothing to hide, nothing to copy */
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) fail("filesystem", "create %s: %s", to, strerror(errno));
    char buf[65536];
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) fail("filesystem", "write %s: %s", to, strerror(errno));
    close(in);
    close(out);
}

/* A minimal /etc: what the dynamic loader, libc name lookups and time zones need. Never shadow or gshadow. */
static void make_etc(const struct options *o) {
    static const char *const files[] = {"ld.so.cache", "ld.so.conf", "localtime", "nsswitch.conf", NULL};
    static const char *const network_files[] = {"resolv.conf", "hosts", NULL};
    char text[512];
    if (mkdir("/tmp/etc", 0755) != 0) fail("filesystem", "mkdir /etc: %s", strerror(errno));
    for (int i = 0; files[i]; i++) copy_etc(files[i]);
    for (int i = 0; o->network && network_files[i]; i++) copy_etc(network_files[i]);
    const char *home = o->state_dir ? o->state_dir : "/";
    snprintf(text, sizeof text, "root:x:0:0:root:/root:/usr/sbin/nologin\n%s:x:%u:%u:ela plugin:%s:/usr/sbin/nologin\n",
             o->name, (unsigned)o->uid, (unsigned)o->gid, home);
    write_text("/tmp/etc/passwd", text);
    snprintf(text, sizeof text, "root:x:0:\n%s:x:%u:\n", o->name, (unsigned)o->gid);
    write_text("/tmp/etc/group", text);
    snprintf(text, sizeof text, "%s\n", o->name);
    write_text("/tmp/etc/hostname", text);
}

/* Whether `rdev` is a terminal that is someone's console: major 5 (/dev/tty, /dev/console, /dev/ptmx), a virtual
   terminal (4:0-63), or a port the kernel writes its console to (/proc/consoles: a serial login lives there). A
   plugin holding one could read what an admin types at the login and print fake prompts. */
static int is_console(dev_t rdev) {
    unsigned maj = major(rdev), min = minor(rdev), cmaj, cmin;
    if (maj == 5 || (maj == 4 && min < 64)) return 1;
    FILE *f = fopen("/proc/consoles", "re");
    if (!f) return 0;
    char line[256];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char *last = strrchr(line, ' ');
        found = last && sscanf(last + 1, "%u:%u", &cmaj, &cmin) == 2 && cmaj == maj && cmin == min;
    }
    fclose(f);
    return found;
}

/* A granted device node, made afresh in the private /dev with the host node's device number, owned by the plugin
   and mode 0600. A bind of the host node would keep the host's owner and mode (root 0600 for /dev/gpiochipN from
   devtmpfs, root:gpio 0660 from udev on Raspberry Pi OS), which the plugin's own uid without groups cannot open.
   Anything that is not a character or block device is bound as before. */
static void grant_device(const struct options *o, const char *src, const char *dst) {
    char from[PATH_MAX + 16];
    struct stat st;
    snprintf(from, sizeof from, "/.oldroot%s", src);
    if (stat(from, &st) != 0) fail("devices", "%s: %s", src, strerror(errno));
    /* Only character devices, and never the memory ones: a block device (the SD card, a disk) or /dev/mem,
       /dev/kmem, /dev/port owned by the plugin would be root on the host, /dev/kmsg the kernel's log; a directory
       or socket under /dev (/dev/shm, /dev/pts) would be shared writable state. The host only asks for the board's
       nodes; this is the last line. */
    if (!S_ISCHR(st.st_mode)) fail("devices", "%s is not a character device: not granted", src);
    unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
    if (maj == 1 && (min == 1 || min == 2 || min == 4 || min == 11))
        fail("devices", "%s is a memory or kernel log device (%u:%u): not granted", src, maj, min);
    if (is_console(st.st_rdev))
        fail("devices", "%s is a console or virtual terminal (%u:%u): not granted (a serial console must be turned off "
             "before its port is given to a plugin)", src, maj, min);
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", dst);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) *slash = '\0';
    if (mkdir_p(parent, 0755) != 0) fail("devices", "mkdir %s: %s", parent, strerror(errno));
    if (mknod(dst, (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) fail("devices", "mknod %s: %s", dst, strerror(errno));
    if (chown(dst, o->uid, o->gid) != 0 || chmod(dst, 0600) != 0) fail("devices", "chown %s: %s", dst, strerror(errno));
}

/* /dev: a tmpfs with the harmless basic nodes (bound from the host's) and the granted devices (own nodes). */
static void make_dev(const struct options *o) {
    static const char *const links[][2] = {
        {"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
    };
    char src[32], dst[32];
    mount_tmpfs("/dev", "mode=0755,size=64k", MS_NOSUID | MS_NOEXEC);
    for (int i = 0; basic_devices[i]; i++) {
        snprintf(src, sizeof src, "/dev/%s", basic_devices[i]);
        snprintf(dst, sizeof dst, "/dev/%s", basic_devices[i]);
        bind_path("devices", src, dst, MS_NOSUID | MS_NOEXEC);
    }
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlink(links[i][0], links[i][1]) != 0) fail("devices", "symlink %s: %s", links[i][1], strerror(errno));
    for (int i = 0; i < o->n_dev; i++) grant_device(o, o->dev_src[i], o->dev[i]);
}

/* /sys: a tmpfs holding, read-only, only the sysfs directories of granted device nodes at their own paths, with
   their /sys/dev and /sys/bus links; nothing else of the host's sysfs. */
static int make_sys(const struct options *o) {
    int shown = 0;
    for (int i = 0; i < o->n_dev; i++) shown += o->dev_sys[i] != NULL;
    if (!shown) return 0;
    mount_tmpfs("/sys", "mode=0755,size=64k", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    for (int i = 0; i < o->n_dev; i++) {
        if (!o->dev_sys[i]) continue;
        bind_path("devices", o->dev_sys[i], o->dev_sys[i], MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
        const char *links[2] = {o->dev_num[i], o->dev_bus[i]};
        for (int k = 0; k < 2; k++) {
            if (!links[k] || !links[k][0]) continue;
            char parent[PATH_MAX];
            snprintf(parent, sizeof parent, "%s", links[k]);
            *strrchr(parent, '/') = '\0';
            if (mkdir_p(parent, 0755) != 0 || (symlink(o->dev_sys[i], links[k]) != 0 && errno != EEXIST))
                fail("devices", "link %s: %s", links[k], strerror(errno));
        }
    }
    return shown;
}

void fs_setup(const struct options *o) {
    /* Nothing the plugin can write can be run: a dropped binary would be an exploit aimed at the kernel. */
    const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV, rw = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    int n_system = 0;

    /* Nothing we mount may propagate back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("filesystem", "make / private: %s", strerror(errno));
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4m") != 0)
        fail("filesystem", "tmpfs root: %s", strerror(errno));
    make_etc(o);
    if (mkdir("/tmp/.oldroot", 0700) != 0 || syscall(SYS_pivot_root, "/tmp", "/tmp/.oldroot") != 0 || chdir("/") != 0)
        fail("filesystem", "pivot_root: %s", strerror(errno));

    /* System dirs; Debian 12's /bin, /sbin, /lib and /lib64 are symlinks into /usr: recreate them as such. */
    for (int i = 0; system_dirs[i]; i++) {
        char from[64], target[PATH_MAX];
        struct stat st;
        snprintf(from, sizeof from, "/.oldroot%s", system_dirs[i]);
        if (lstat(from, &st) != 0) continue;
        ssize_t n = S_ISLNK(st.st_mode) ? readlink(from, target, sizeof target - 1) : -1;
        if (n > 0) {
            target[n] = '\0';
            if (symlink(target, system_dirs[i]) != 0) fail("filesystem", "symlink %s: %s", system_dirs[i], strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            bind_path("filesystem", system_dirs[i], system_dirs[i], ro);
        }
        n_system++;
    }
    /* /proc after the pid namespace (we are its init), so it shows only the plugin's processes. */
    if (mkdir("/proc", 0555) != 0 || mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        fail("filesystem", "mount /proc: %s", strerror(errno));
    mount_tmpfs("/tmp", "mode=1777,size=16m", rw);
    make_dev(o);
    int n_sys = make_sys(o);
    /* Granted paths last, so they land on top of the fresh /tmp and /dev rather than under them. */
    for (int i = 0; i < o->n_ro; i++) bind_path("filesystem", o->ro[i], o->ro[i], ro);
    if (o->state_dir) bind_path("filesystem", o->state_dir, o->state_dir, rw);
    for (int i = 0; i < o->n_rw; i++) bind_path("filesystem", o->rw[i], o->rw[i], rw);

    if (umount2("/.oldroot", MNT_DETACH) != 0 || rmdir("/.oldroot") != 0)
        fail("filesystem", "detach old root: %s", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | ro, NULL) != 0)
        fail("filesystem", "remount / read-only: %s", strerror(errno));
    report_layer("filesystem", "active", "tmpfs root: %d system dirs, /etc minimal, %d read-only, %s, %d read-write",
                 n_system, o->n_ro, o->state_dir ? "state dir" : "no state dir", o->n_rw);
    char granted[400] = "";
    for (int i = 0; i < o->n_dev; i++) {
        size_t used = strlen(granted);
        snprintf(granted + used, sizeof granted - used, "%s%s", i ? " " : "", o->dev[i]);
    }
    report_layer("devices", "active", "/dev: null zero full random urandom tty; granted: %s%s%s; /sys: %d device dir(s)",
                 o->n_dev ? granted : "none", o->missing[0] ? "; missing: " : "", o->missing, n_sys);
}

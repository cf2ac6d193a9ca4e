/* daemon_privs.c - the run-as user and the drop from root (see daemon_privs.h). */
#include "daemon_privs.h"
#include "daemon_log.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OPEN_FDS 16 /* descriptors nftw may hold open */

/* ------------------------------------------------------------------ look-up */

/* "-ID": the number; 0 when text is not of that form. */
static int parse_numeric_id(const char *text, unsigned long *id)
{
    if (text[0] != '-' || !text[1])
        return 0;
    char *end;
    errno = 0;
    unsigned long v = strtoul(text + 1, &end, 10);
    if (errno || *end || text[1] == '-' || v > 0x7fffffffUL)
        return 0;
    *id = v;
    return 1;
}

static owp_status lookup_user(daemon_privs *p, const char *user, owp_err *err)
{
    unsigned long id;
    struct passwd *pw = getpwnam(user);
    if (!pw && parse_numeric_id(user, &id))
        pw = getpwuid((uid_t)id);
    if (pw) {
        p->uid = pw->pw_uid;
        p->gid = pw->pw_gid;
        snprintf(p->user, sizeof p->user, "%s", pw->pw_name);
        return OWP_OK;
    }
    if (!parse_numeric_id(user, &id))
        return owp_err_set(err, OWP_ERR_INVALID, "-U %s: no such user", user);
    /* A bare uid without a passwd entry: its group must be given (-G) or is the uid. */
    p->uid = (uid_t)id;
    p->gid = (gid_t)id;
    snprintf(p->user, sizeof p->user, "%s", user);
    return OWP_OK;
}

static owp_status lookup_group(daemon_privs *p, const char *group, owp_err *err)
{
    unsigned long id;
    struct group *gr = getgrnam(group);
    if (!gr && parse_numeric_id(group, &id))
        gr = getgrgid((gid_t)id);
    if (gr)
        p->gid = gr->gr_gid;
    else if (parse_numeric_id(group, &id))
        p->gid = (gid_t)id;
    else
        return owp_err_set(err, OWP_ERR_INVALID, "-G %s: no such group", group);
    return OWP_OK;
}

/* The group's name for owampd's -G ("-GID" when it has none). */
static void name_group(daemon_privs *p)
{
    struct group *gr = getgrgid(p->gid);
    if (gr)
        snprintf(p->group, sizeof p->group, "%s", gr->gr_name);
    else
        snprintf(p->group, sizeof p->group, "-%lu", (unsigned long)p->gid);
}

owp_status daemon_privs_lookup(daemon_privs *p, const char *user, const char *group,
                               owp_err *err)
{
    memset(p, 0, sizeof *p);
    if (!user)
        user = getpwnam(DAEMON_PRIVS_DEFAULT_USER) ? DAEMON_PRIVS_DEFAULT_USER
                                                   : DAEMON_PRIVS_FALLBACK_USER;
    owp_status st = lookup_user(p, user, err);
    if (st == OWP_OK && group)
        st = lookup_group(p, group, err);
    if (st != OWP_OK)
        return st;
    if (p->uid == 0)
        return owp_err_set(err, OWP_ERR_INVALID, "-U %s: the run-as user must not be root",
                           user);
    if (p->gid == 0)
        return owp_err_set(err, OWP_ERR_INVALID, "-G %s: the run-as group must not be root's",
                           group ? group : p->user);
    name_group(p);
    return OWP_OK;
}

owp_status daemon_privs_resolve(daemon_privs *p, const char *user, const char *group,
                                owp_err *err)
{
    if (geteuid() != 0) {
        memset(p, 0, sizeof *p);
        return OWP_OK;
    }
    owp_status st = daemon_privs_lookup(p, user, group, err);
    p->active = st == OWP_OK;
    return st;
}

/* ------------------------------------------------------------------ state directories */

/* nftw has no argument for its callback: the one tree walk at a time. */
static uid_t tree_uid;
static gid_t tree_gid;
static int tree_errno;
static char tree_failed[512];

static int own_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    if (lchown(path, tree_uid, tree_gid) != 0 && !tree_errno) {
        tree_errno = errno;
        snprintf(tree_failed, sizeof tree_failed, "%s", path);
    }
    return 0; /* the rest is still handed over: the first failure is reported */
}

/* Directories that are never a daemon's own state directory. */
static const char *const SYSTEM_DIRS[] = {
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/mnt", "/opt", "/proc",
    "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/lib", "/usr/local",
    "/usr/local/var", "/usr/local/var/lib", "/var", "/var/lib", "/var/log", "/var/run",
    "/var/tmp",
};

static int is_system_dir(const char *dir)
{
    char real[4096];
    if (!realpath(dir, real))
        return 0; /* reported by the walk */
    for (size_t i = 0; i < sizeof SYSTEM_DIRS / sizeof SYSTEM_DIRS[0]; i++)
        if (strcmp(real, SYSTEM_DIRS[i]) == 0)
            return 1;
    return 0;
}

owp_status daemon_privs_own_tree(const daemon_privs *p, const char *dir, owp_err *err)
{
    if (!p->active)
        return OWP_OK;
    if (is_system_dir(dir))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "%s: a system directory: refusing to hand it to user %s (give the "
                           "daemon a directory of its own, e.g. under /var/lib/owmesh)",
                           dir, p->user);
    tree_uid = p->uid;
    tree_gid = p->gid;
    tree_errno = 0;
    tree_failed[0] = '\0';
    if (nftw(dir, own_entry, OPEN_FDS, FTW_PHYS | FTW_MOUNT) != 0)
        return owp_err_set(err, OWP_ERR_SYS, "%s: cannot hand it to user %s: %s", dir, p->user,
                           strerror(errno));
    if (tree_errno)
        return owp_err_set(err, OWP_ERR_SYS, "%s: chown to user %s: %s", tree_failed, p->user,
                           strerror(tree_errno));
    return OWP_OK;
}

int daemon_privs_can_read(const daemon_privs *p, const char *path)
{
    struct stat sb;
    if (!p->active || stat(path, &sb) != 0)
        return 1; /* a missing file is reported where it is read */
    if (sb.st_uid == p->uid)
        return (sb.st_mode & S_IRUSR) != 0;
    if (sb.st_gid == p->gid)
        return (sb.st_mode & S_IRGRP) != 0;
    return (sb.st_mode & S_IROTH) != 0;
}

/* ------------------------------------------------------------------ the drop */

/* Keep only CAP_NET_BIND_SERVICE, and make it ambient so that programs this
 * process runs (owampd) get it too. 1 when done. */
static int keep_bind_capability(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    unsigned bit = 1u << CAP_NET_BIND_SERVICE; /* < 32: the first word */
    data[0].permitted = data[0].effective = data[0].inheritable = bit;
    if (syscall(SYS_capset, &hdr, data) != 0)
        return 0;
    return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) == 0;
}

/* The drop holds: neither uid 0 nor gid 0 can be taken back. */
static int drop_is_final(const daemon_privs *p)
{
    if (getuid() != p->uid || geteuid() != p->uid || getgid() != p->gid ||
        getegid() != p->gid)
        return 0;
    return setuid(0) != 0 && seteuid(0) != 0 && setgid(0) != 0;
}

owp_status daemon_privs_drop(const daemon_privs *p, int *kept, owp_err *err)
{
    if (kept)
        *kept = 0;
    if (!p->active)
        return OWP_OK;
    /* Capabilities survive setuid only with KEEPCAPS (this thread's). */
    if (p->keep_bind && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
        return owp_err_set(err, OWP_ERR_SYS, "prctl(PR_SET_KEEPCAPS): %s", strerror(errno));
    if (setgroups(1, &p->gid) != 0)
        return owp_err_set(err, OWP_ERR_SYS, "setgroups(%lu): %s", (unsigned long)p->gid,
                           strerror(errno));
    if (setgid(p->gid) != 0)
        return owp_err_set(err, OWP_ERR_SYS, "setgid(%lu): %s", (unsigned long)p->gid,
                           strerror(errno));
    if (setuid(p->uid) != 0)
        return owp_err_set(err, OWP_ERR_SYS, "setuid(%lu) (user %s): %s", (unsigned long)p->uid,
                           p->user, strerror(errno));
    if (p->keep_bind) {
        int ok = keep_bind_capability();
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        if (kept)
            *kept = ok;
    }
    if (!drop_is_final(p))
        return owp_err_set(err, OWP_ERR_SYS, "user %s: root could be taken back after the drop",
                           p->user);
    return OWP_OK;
}

int daemon_privs_leave_root(const daemon_privs *p, const char *who)
{
    const char *sep = who[0] ? " " : "";
    if (!p->active)
        return 0;
    owp_err err = {0};
    int kept = 0;
    if (daemon_privs_drop(p, &kept, &err) != OWP_OK) {
        log_err("%s%scannot drop root privileges: %s", who, sep, err.msg);
        return -1;
    }
    log_info("%s%srunning as user %s, group %s%s", who, sep, p->user, p->group,
             p->keep_bind && kept ? " (keeping CAP_NET_BIND_SERVICE)" : "");
    if (p->keep_bind && !kept)
        log_warn("%s%scannot keep CAP_NET_BIND_SERVICE: ports below 1024 cannot be bound from "
                 "now on", who, sep);
    return 0;
}

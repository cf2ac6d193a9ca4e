/*
 * daemon_privs.h - the one place a mesh daemon (owmesh-coordinator,
 * owmesh-node, owmesh-collector) gives up root.
 *
 * A daemon started as root resolves its run-as user at start-up (-U, -G:
 * a name or "-ID" as owampd's -U/-G; default the user "owmesh" if it
 * exists, else "nobody", and that user's primary group), does its
 * privileged steps (reading secret keys, binding sockets), hands the state
 * directories it must go on writing to that user (daemon_privs_own_tree),
 * and then drops (daemon_privs_drop: supplementary groups, gid, uid) and
 * checks that root cannot be regained. A daemon not started as root changes
 * nothing.
 *
 * The drop comes before the daemon's first thread and first ZeroMQ socket:
 * glibc changes the ids of every thread by interrupting it with a signal,
 * and a ZeroMQ I/O thread interrupted in the middle of a CURVE handshake
 * was seen to lose the connection for good. A daemon that binds a port
 * below 1024 after the drop (owmesh-node's owampd restarts, a coordinator
 * told to -B a low port) keeps one capability through it,
 * CAP_NET_BIND_SERVICE, and passes it on (ambient) to the programs it runs.
 *
 * Threading: call from the main thread, before other threads start.
 */
#ifndef OWMESH_DAEMON_PRIVS_H
#define OWMESH_DAEMON_PRIVS_H

#include <sys/types.h>

#include "error.h"

#define DAEMON_PRIVS_DEFAULT_USER "owmesh"
#define DAEMON_PRIVS_FALLBACK_USER "nobody"

typedef struct daemon_privs {
    int active;      /* 1: started as root, the drop below is due */
    uid_t uid;
    gid_t gid;
    char user[64];   /* as resolved, for messages and for owampd's -U */
    char group[64];  /* for owampd's -G */
    int keep_bind;   /* keep CAP_NET_BIND_SERVICE (set before the drop) */
} daemon_privs;

/* Look up the run-as user and group whoever runs this: user and group are
 * names or "-ID", NULL for the defaults (DAEMON_PRIVS_DEFAULT_USER if it
 * exists, else DAEMON_PRIVS_FALLBACK_USER; the user's primary group).
 * Refuses uid 0 and gid 0 (running as root is what the drop avoids). p->active
 * is left 0. OWP_ERR_INVALID naming the option on failure. */
owp_status daemon_privs_lookup(daemon_privs *p, const char *user, const char *group,
                               owp_err *err);

/* daemon_privs_lookup when the process runs as root (p->active = 1); when it
 * does not, nothing to drop: p->active = 0 and OWP_OK (-U/-G are ignored,
 * as owampd ignores them). */
owp_status daemon_privs_resolve(daemon_privs *p, const char *user, const char *group,
                                owp_err *err);

/* Give the directory tree at dir (itself and everything under it, without
 * following symbolic links or crossing file systems) to the run-as user and
 * group, so that it stays writable after the drop. Nothing when !p->active.
 * A system directory (/, /etc, /var, /var/lib, /usr, /home, /tmp, ...) is
 * refused: a mistyped -d must not give a whole system tree away. */
owp_status daemon_privs_own_tree(const daemon_privs *p, const char *dir, owp_err *err);

/* daemon_privs_drop, said in the log: "WHO running as user U, group G",
 * or why not (then the daemon must exit): 0 or -1. who: the subject the
 * daemon's messages begin with ("node chi:"), or "". */
int daemon_privs_leave_root(const daemon_privs *p, const char *who);

/* 1 when the run-as user will be able to read path after the drop (by its
 * permission bits: owner, group, others), or when there is no drop; 0 tells
 * the caller to warn that a reload of that file will fail. */
int daemon_privs_can_read(const daemon_privs *p, const char *path);

/* Drop to the run-as user: setgroups to its group only, setgid, setuid;
 * then verify that uid 0 cannot be taken back. Nothing when !p->active.
 * With p->keep_bind, CAP_NET_BIND_SERVICE is kept (permitted, effective,
 * inheritable and ambient); *kept (may be NULL) says whether that worked (a
 * kernel without ambient capabilities: the caller warns). An error
 * (OWP_ERR_SYS naming the step) leaves the process in an unknown state: the
 * daemon must exit. */
owp_status daemon_privs_drop(const daemon_privs *p, int *kept, owp_err *err);

#endif

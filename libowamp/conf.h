/*
 * conf.h - owampd.conf / owamp-server.conf (programs.md §2): one directive
 * per line, '#' comments, backslash-newline continuation, case-insensitive
 * keywords. Unknown or malformed lines fail with "PATH:LINE: why" (the true
 * line number; the reference's offset bug is not reproduced).
 */
#ifndef OWP_CONF_H
#define OWP_CONF_H

#include <stdint.h>

#include "error.h"
#include "owamp.h"

typedef struct owp_server_conf {
    uint32_t authmodes;        /* owp_mode bits; default O|A|E */
    uint32_t controltimeout;   /* seconds; default 1800 */
    char datadir[4096];        /* default: empty = cwd at start-up */
    uint32_t dieby;            /* seconds; default 5 */
    double diskfudge;          /* 1.0 - 10.0; default 1.0 */
    double enddelay;           /* >= 0; default 1.0 */
    int facility;              /* LOG_*; default LOG_DAEMON */
    char group[256];
    int loglevel;              /* syslog priority threshold; default LOG_INFO */
    int loglocation;
    uint32_t maxcontrolsessions; /* 0 = unlimited */
    /* Ours, for a public server (doc/owampd.conf.5): connections that have
     * not completed the set-up (no Set-Up-Response yet) - how long one may
     * take, and how many may wait in all and per client address. */
    uint32_t setuptimeout;     /* seconds; default 10; 0 = controltimeout */
    uint32_t maxsetupsessions; /* default 64; 0 = unlimited */
    uint32_t maxsetupperaddr;  /* default 8; 0 = unlimited */
    uint32_t pbkdf2_count;     /* default 2048; ours honours it (the reference ignores it) */
    int rootfolly;
    char srcnode[300];         /* node[:port]; empty = wildcard:861 */
    owp_portrange testports;   /* default 0-0 (ephemeral) */
    uint32_t testtimeout;      /* twampd: seconds a reflector waits for a packet; default 900 */
    int twamp;                 /* set by twampd before loading: testtimeout is known */
    char user[256];
    char vardir[4096];
    int verbose;
} owp_server_conf;

void owp_server_conf_default(owp_server_conf *c);

/* Parse path into c (on top of its current values). */
owp_status owp_server_conf_load(owp_server_conf *c, const char *path, owp_err *err);

/* Find the config file under confdir: the manual's name (owampd.BASE) or the
 * one current packages install (owamp-server.BASE). base is "conf", "limits"
 * or "pfs". Returns 1 and fills path with the one that exists; returns 2
 * when both exist (path = owamp-server.BASE, the name the reference reads;
 * the caller may warn that owampd.BASE is ignored); returns 0 when neither
 * exists, with path = owamp-server.BASE for messages. -1: path too long for
 * len (or a NULL argument). confdir NULL or "" means the current directory. */
int owp_server_conf_find(const char *confdir, const char *base, char *path, unsigned len);
/* The same with other names: twampd's twampd.BASE / twamp-server.BASE. */
int owp_server_conf_find_named(const char *confdir, const char *manual_name,
                               const char *packaged_name, const char *base, char *path,
                               unsigned len);

#endif

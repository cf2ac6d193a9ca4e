/*
 * pfstore - create and edit pass-phrase store files (owamp-server.pfs,
 * owping -k files): programs.md section 4.2.
 *
 *   pfstore -f PFSFILE [-n] [-d] IDENTITY
 *
 * Without -d it prompts for IDENTITY's pass-phrase (echo off when stdin is a
 * terminal; otherwise the prompt goes to stderr and the line is read from
 * stdin) and stores it hex-encoded, replacing an existing entry in place or
 * appending a new one. With -d it removes the entry. Every other line of the
 * file is written back unchanged.
 *
 * Mechanics: DIR/.pfstore.lock next to the file is locked with fcntl for the
 * whole edit, so two pfstore runs never interleave, and removed (still
 * locked) when the edit is over; the new file is written to a temporary file
 * in the same directory (mode 0600), flushed and renamed over the old one, so
 * a reader sees the old or the new file, never half.
 *
 * Differences from the reference (doc/compat.md): identities match exactly
 * (the reference compares only the shorter name, so "al" hit "alice"); an
 * empty pass-phrase is refused (the reference wrote "ID<TAB>", which owampd
 * then rejects); the output never carries a stale tail of an older, longer
 * lock file (the lock file is no longer the output file) and the lock file
 * does not stay behind; identities longer than 80 characters, starting with '#' or holding
 * blanks are refused; a malformed line for IDENTITY is reported as
 * "pfstore: FILE:LINE: why" instead of "I2ParseKeyFile('FILE'): error line -N";
 * the file is read before the pass-phrase is asked for, so a bad file fails
 * without a prompt; the pass-phrase comes from stdin whenever stdin is not a
 * terminal (the reference read /dev/tty whenever the process had one).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "error.h"
#include "pfs.h"

#define LOCK_NAME ".pfstore.lock"
#define PASSPHRASE_MAX (1u << 20) /* refuse absurd input rather than grow forever */

static const char *progname = "pfstore";

static void usage(FILE *out, const char *msg)
{
    if (msg)
        fprintf(out, "%s: %s\n", progname, msg);
    fprintf(out, "usage: %s [arguments] identity\n\n", progname);
    fprintf(out, "   -f fname       filename to edit [required option]\n"
                 "   -n             create pffile\n"
                 "   -d             delete given identity from file\n");
}

/* pfstore's version: it replaces the pfstore of I2util, shipped with owamp. */
static void print_version(void)
{
    printf("%s (owmesh) %s\n", progname, PACKAGE_VERSION);
    printf("a drop-in for %s of perfSONAR owamp %s\n", progname, OWAMP_COMPAT_VERSION);
}

/* ---------------------------------------------------------------- lock file */

/* DIR/.pfstore.lock for path (DIR is "." for a bare file name). */
static char *lock_path_for(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) : 1;
    const char *dir = slash ? path : ".";
    if (slash && dirlen == 0)
        dirlen = 1; /* "/file": the root directory */
    size_t n = dirlen + 1 + sizeof LOCK_NAME;
    char *lock = malloc(n);
    if (lock)
        snprintf(lock, n, "%.*s/%s", (int)dirlen, dir, LOCK_NAME);
    return lock;
}

/* Is fd still the file named lock? A pfstore that finished removes its lock
 * file; one that opened that file just before can lock it afterwards, and
 * would then hold a lock nobody else sees. */
static int lock_is_current(int fd, const char *lock)
{
    struct stat held, named;
    if (fstat(fd, &held) != 0 || stat(lock, &named) != 0)
        return 0;
    return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

#define LOCK_ATTEMPTS 16

/* Open and lock the lock file; -1 after printing why. Held by another
 * pfstore: fail at once, as the reference does. */
static int take_lock(const char *lock)
{
    for (int attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
        int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR);
        if (fd < 0) {
            fprintf(stderr, "%s: open(%s): %s\n", progname, lock, strerror(errno));
            return -1;
        }
        struct flock flk;
        memset(&flk, 0, sizeof flk);
        flk.l_type = F_WRLCK;
        flk.l_whence = SEEK_SET;
        if (fcntl(fd, F_SETLK, &flk) < 0) {
            fprintf(stderr, "%s: Unable to lock '%s': %s\n", progname, lock, strerror(errno));
            close(fd);
            return -1;
        }
        if (lock_is_current(fd, lock))
            return fd;
        close(fd); /* removed by the pfstore that held it: lock the new one */
    }
    fprintf(stderr, "%s: Unable to lock '%s': it keeps being replaced\n", progname, lock);
    return -1;
}

/* Remove the lock file while still holding it (whoever opens the name next
 * creates a new one), then let go. */
static void drop_lock(int fd, const char *lock)
{
    if (unlink(lock) != 0)
        fprintf(stderr, "%s: unlink(%s): %s\n", progname, lock, strerror(errno));
    close(fd);
}

/* ---------------------------------------------------------------- pass-phrase input */

static struct termios saved_termios;
static volatile sig_atomic_t echo_is_off;

/* Put the terminal back before dying of a signal while echo is off. */
static void restore_and_reraise(int sig)
{
    if (echo_is_off)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int restore_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};

static void catch_signals(struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = restore_and_reraise;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof restore_signals / sizeof restore_signals[0]; i++)
        sigaction(restore_signals[i], &sa, &old[i]);
}

static void release_signals(const struct sigaction *old)
{
    for (size_t i = 0; i < sizeof restore_signals / sizeof restore_signals[0]; i++)
        sigaction(restore_signals[i], &old[i], NULL);
}

/* Read one line from stdin (newline stripped) into a malloc'd buffer.
 * Returns 0, or -1 with errno set (EFBIG when absurdly long). */
static int read_line(uint8_t **out, size_t *len)
{
    size_t cap = 128, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -1;
    for (;;) {
        int c = getchar();
        if (c == EOF) {
            if (ferror(stdin)) {
                free(buf);
                return -1;
            }
            break;
        }
        if (c == '\n')
            break;
        if (n + 1 >= cap) {
            if (cap >= PASSPHRASE_MAX) {
                memset(buf, 0, n);
                free(buf);
                errno = EFBIG;
                return -1;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                memset(buf, 0, n);
                free(buf);
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        buf[n++] = (uint8_t)c;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Prompt on stderr and read the pass-phrase; with a terminal on stdin the
 * typed characters are not echoed. */
static int read_passphrase(const char *identity, uint8_t **out, size_t *len)
{
    fprintf(stderr, "Enter passphrase for identity '%s': ", identity);
    fflush(stderr);
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_termios) == 0;
    struct sigaction old[sizeof restore_signals / sizeof restore_signals[0]];
    if (tty) {
        catch_signals(old);
        struct termios quiet = saved_termios;
        quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
        echo_is_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
    int rc = read_line(out, len);
    int saved_errno = errno;
    if (tty) {
        if (echo_is_off)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
        echo_is_off = 0;
        release_signals(old);
        fputc('\n', stderr); /* the user's Enter was not echoed */
    }
    errno = saved_errno;
    return rc;
}

/* ---------------------------------------------------------------- the edit */

typedef struct request {
    const char *file;
    const char *identity;
    int create;
    int delete;
} request;

/* Check the file exists (or not, with -n) as the reference does: opening it
 * for update, so a read-only file is refused before anything is asked. */
static int check_target(const request *rq)
{
    FILE *fp = fopen(rq->file, "r+");
    if (rq->create && fp) {
        fclose(fp);
        fprintf(stderr, "%s: -n option specified: %s exists\n\n", progname, rq->file);
        usage(stderr, NULL);
        return -1;
    }
    if (!rq->create && !fp) {
        fprintf(stderr, "%s: Can't open '%s': %s\nSee -n option?\n\n", progname, rq->file,
                strerror(errno));
        usage(stderr, NULL);
        return -1;
    }
    if (fp)
        fclose(fp);
    return 0;
}

/* The identity must be one a pass-phrase file can hold; checked before the
 * prompt so nobody types a pass-phrase for nothing. */
static int check_identity(const char *identity)
{
    owp_pfs *scratch = owp_pfs_new();
    owp_err err;
    static const uint8_t probe = 'x';
    int ok = scratch && owp_pfs_set(scratch, identity, &probe, 1, &err) == OWP_OK;
    if (!ok)
        fprintf(stderr, "%s: %s\n", progname, scratch ? err.msg : "out of memory");
    owp_pfs_destroy(&scratch);
    return ok ? 0 : -1;
}

static owp_pfs *load_store(const request *rq)
{
    owp_err err;
    owp_pfs *store = owp_pfs_load_for_edit(rq->file, rq->identity, &err);
    if (!store && rq->create && err.code == OWP_ERR_SYS && errno == ENOENT)
        store = owp_pfs_new();
    else if (!store)
        fprintf(stderr, "%s: %s\n", progname, err.msg);
    return store;
}

static int apply_edit(const request *rq, owp_pfs *store)
{
    owp_err err;
    if (rq->delete) {
        if (owp_pfs_remove(store, rq->identity, &err) != OWP_OK) {
            fprintf(stderr, "%s: Identity '%s' not found\n", progname, rq->identity);
            return -1;
        }
        return 0;
    }
    uint8_t *pass = NULL;
    size_t len = 0;
    if (read_passphrase(rq->identity, &pass, &len) != 0) {
        fprintf(stderr, "%s: Unable to read the pass-phrase: %s\n", progname, strerror(errno));
        return -1;
    }
    int rc = 0;
    if (len == 0) {
        fprintf(stderr, "%s: Empty pass-phrase for identity '%s' refused (owampd cannot use "
                        "it)\n", progname, rq->identity);
        rc = -1;
    } else if (owp_pfs_set(store, rq->identity, pass, len, &err) != OWP_OK) {
        fprintf(stderr, "%s: %s\n", progname, err.msg);
        rc = -1;
    }
    memset(pass, 0, len);
    free(pass);
    return rc;
}

static int run(const request *rq)
{
    if (check_target(rq) != 0 || check_identity(rq->identity) != 0)
        return 1;
    char *lock = lock_path_for(rq->file);
    if (!lock) {
        fprintf(stderr, "%s: out of memory\n", progname);
        return 1;
    }
    int lockfd = take_lock(lock);
    if (lockfd < 0) {
        free(lock);
        return 1;
    }
    /* Under the lock, so the file read is the file replaced. */
    owp_pfs *store = load_store(rq);
    int rc = store && apply_edit(rq, store) == 0 ? 0 : 1;
    if (rc == 0) {
        owp_err err;
        if (owp_pfs_save(rq->file, store, &err) != OWP_OK) {
            fprintf(stderr, "%s: %s\n", progname, err.msg);
            rc = 1;
        }
    }
    owp_pfs_destroy(&store);
    drop_lock(lockfd, lock);
    free(lock);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 0 && argv[0] && argv[0][0]) {
        const char *slash = strrchr(argv[0], '/');
        progname = slash ? slash + 1 : argv[0];
    }
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    request rq = {0};
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "hf:nd", long_options, NULL)) != -1) {
        switch (ch) {
        case 'h':
            usage(stdout, NULL);
            return 0;
        case 'V': /* --version only: -V is not an option */
            print_version();
            return 0;
        case 'f':
            rq.file = optarg;
            break;
        case 'n':
            rq.create = 1;
            break;
        case 'd':
            rq.delete = 1;
            break;
        default: /* unknown options: usage, exit 0 (as the reference) */
            usage(stderr, "");
            return 0;
        }
    }
    if (!rq.file) {
        usage(stderr, "-f option is required");
        return 1;
    }
    if (argc - optind != 1) {
        usage(stderr, NULL);
        return 1;
    }
    rq.identity = argv[optind];
    return run(&rq);
}

/*
 * datadir.c - the data directory of receive sessions: where a session's
 * file goes, and the start-up pass that empties catalog/ and links every
 * stored file back into it. Layout: datadir.h, programs.md section 1.5.
 *
 * Both start-up passes are one recursive walk (walk_dir) with a different
 * visitor: remove_entry empties catalog/, link_entry fills it from hierarchy/.
 */
#include "datadir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DIR_DEPTH 32 /* bound on the directory walks */

/* ------------------------------------------------------------------ names */

void owp_sid_hex(const uint8_t sid[OWP_SID_LEN], char out[2 * OWP_SID_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < OWP_SID_LEN; i++) {
        out[2 * i] = digits[sid[i] >> 4];
        out[2 * i + 1] = digits[sid[i] & 15];
    }
    out[2 * OWP_SID_LEN] = '\0';
}

int owp_server_catalog_path(const char *datadir, const uint8_t sid[OWP_SID_LEN], char *buf,
                            size_t len)
{
    char hex[2 * OWP_SID_LEN + 1];
    owp_sid_hex(sid, hex);
    int n = snprintf(buf, len, "%s/catalog/%s.owp", datadir, hex);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/* Class paths become directory names, so they must not climb out of
 * hierarchy/ or name it twice. */
int owp_datadir_class_path_ok(const char *p)
{
    if (!p || !*p || strlen(p) >= OWP_SERVER_CLASS_MAX)
        return 0;
    const char *comp = p;
    for (;;) {
        const char *slash = strchr(comp, '/');
        size_t n = slash ? (size_t)(slash - comp) : strlen(comp);
        if (n == 0 || (n == 1 && comp[0] == '.') || (n == 2 && comp[0] == '.' && comp[1] == '.'))
            return 0;
        if (!slash)
            return 1;
        comp = slash + 1;
    }
}

/* A file name made by owp_sid_hex: 32 lower-case hex digits, then ".owp". */
static int is_sid_file_name(const char *name)
{
    for (int i = 0; i < 2 * OWP_SID_LEN; i++) {
        char ch = name[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return 0;
    }
    return strcmp(name + 2 * OWP_SID_LEN, ".owp") == 0;
}

void owp_datadir_file_class(const char *datadir, const char *catalog, char *cls, size_t len)
{
    cls[0] = '\0';
    char target[OWP_SERVER_PATH_MAX];
    ssize_t n = readlink(catalog, target, sizeof target - 1);
    if (n <= 0)
        return;
    target[n] = '\0';
    char prefix[OWP_SERVER_PATH_MAX];
    int p = snprintf(prefix, sizeof prefix, "%s/hierarchy/", datadir);
    if (p < 0 || (size_t)p >= sizeof prefix || strncmp(target, prefix, (size_t)p) != 0)
        return;
    const char *rel = target + p;
    const char *slash = strrchr(rel, '/');
    if (!slash || (size_t)(slash - rel) >= len)
        return;
    memcpy(cls, rel, (size_t)(slash - rel));
    cls[slash - rel] = '\0';
}

/* ------------------------------------------------------------------ session files */

/* mkdir -p, mode 0755 for every directory created. */
static owp_status make_dirs(const char *path, owp_err *err)
{
    char buf[OWP_SERVER_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return owp_err_set(err, OWP_ERR_INVALID, "directory path too long or empty: \"%s\"", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return owp_err_sys(err, "mkdir %s", buf);
        buf[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return owp_err_sys(err, "stat %s", path);
    if (!S_ISDIR(st.st_mode))
        return owp_err_set(err, OWP_ERR_INVALID, "%s: not a directory", path);
    return OWP_OK;
}

/* The catalog entry for a new file. A stale link with this name (impossible
 * SID reuse, or a crash) is replaced. */
static int link_catalog(const char *path, const char *catalog)
{
    if (symlink(path, catalog) == 0)
        return 0;
    if (errno != EEXIST || unlink(catalog) != 0)
        return -1;
    return symlink(path, catalog);
}

owp_status owp_datadir_create_session(const char *datadir, const char *class_path,
                                      const uint8_t sid[OWP_SID_LEN],
                                      char path[OWP_SERVER_PATH_MAX],
                                      char catalog[OWP_SERVER_PATH_MAX], FILE **fp,
                                      owp_err *err)
{
    path[0] = catalog[0] = '\0';
    *fp = NULL;
    char hex[2 * OWP_SID_LEN + 1], dir[OWP_SERVER_PATH_MAX], file[OWP_SERVER_PATH_MAX],
        link[OWP_SERVER_PATH_MAX];
    owp_sid_hex(sid, hex);
    int n = snprintf(dir, sizeof dir, "%s/hierarchy/%s", datadir, class_path);
    if (n < 0 || (size_t)n >= sizeof dir)
        return owp_err_set(err, OWP_ERR_INVALID, "data directory path too long");
    owp_status st = make_dirs(dir, err);
    if (st != OWP_OK)
        return st;
    n = snprintf(file, sizeof file, "%s/%s.owp", dir, hex);
    if (n < 0 || (size_t)n >= sizeof file)
        return owp_err_set(err, OWP_ERR_INVALID, "data file path too long");
    if (owp_server_catalog_path(datadir, sid, link, sizeof link) != 0)
        return owp_err_set(err, OWP_ERR_INVALID, "catalog path too long");
    int fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) /* not ours: path stays "", so it is never deleted */
        return owp_err_sys(err, "create %s", file);
    memcpy(path, file, (size_t)n + 1);
    *fp = fdopen(fd, "w+b");
    if (!*fp) {
        close(fd);
        return owp_err_sys(err, "fdopen %s", path);
    }
    if (link_catalog(path, link) != 0)
        return owp_err_sys(err, "symlink %s", link);
    memcpy(catalog, link, strlen(link) + 1);
    return OWP_OK;
}

/* ------------------------------------------------------------------ the walk */

/* One entry below a walked directory. */
typedef struct walk_entry {
    const char *dir;  /* the directory holding it */
    const char *name; /* its name in dir */
    const char *path; /* dir/name */
    struct stat sb;   /* lstat() of path */
} walk_entry;

typedef enum {
    WALK_ENTRY,    /* anything but a directory */
    WALK_DIR_DONE, /* a directory, after everything inside it was visited */
    WALK_TOO_DEEP, /* a directory nested deeper than MAX_DIR_DEPTH: not entered */
} walk_event;

/* Returns OWP_OK to go on; anything else ends the walk with that status. */
typedef owp_status (*walk_visit_fn)(void *arg, walk_event ev, const walk_entry *e, owp_err *err);

/* Visit everything inside dir (which lies depth levels below the walk's
 * start), depth first. Symbolic links are entries, never followed; entries
 * whose path does not fit or that vanish meanwhile are skipped. */
static owp_status walk_dir(const char *dir, int depth, walk_visit_fn visit, void *arg,
                           owp_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return owp_err_sys(err, "opendir %s", dir);
    owp_status st = OWP_OK;
    struct dirent *de;
    while (st == OWP_OK && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char path[OWP_SERVER_PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        walk_entry e = {.dir = dir, .name = de->d_name, .path = path};
        if (lstat(path, &e.sb) != 0)
            continue;
        if (!S_ISDIR(e.sb.st_mode)) {
            st = visit(arg, WALK_ENTRY, &e, err);
        } else if (depth + 1 > MAX_DIR_DEPTH) {
            st = visit(arg, WALK_TOO_DEEP, &e, err);
        } else {
            st = walk_dir(path, depth + 1, visit, arg, err);
            if (st == OWP_OK)
                st = visit(arg, WALK_DIR_DONE, &e, err);
        }
    }
    closedir(d);
    return st;
}

/* ------------------------------------------------------------------ start-up */

/* Visitor that empties a directory: files and links go, then directories. */
static owp_status remove_entry(void *arg, walk_event ev, const walk_entry *e, owp_err *err)
{
    (void)arg;
    switch (ev) {
    case WALK_ENTRY:
        return unlink(e->path) == 0 ? OWP_OK : owp_err_sys(err, "unlink %s", e->path);
    case WALK_DIR_DONE:
        return rmdir(e->path) == 0 ? OWP_OK : owp_err_sys(err, "rmdir %s", e->path);
    case WALK_TOO_DEEP:
        break;
    }
    return owp_err_set(err, OWP_ERR_INVALID, "%s: directories nested too deep", e->path);
}

typedef struct link_walk {
    const char *catalog;
    size_t hierarchy_len; /* strlen("DATADIR/hierarchy") */
    owp_server_stored_fn stored;
    void *stored_arg;
    owp_log_fn log;
    void *log_arg;
    unsigned linked;
} link_walk;

/* A stored file left out of the catalog, and why. */
static void warn_ignored(const link_walk *w, const char *path, const char *why)
{
    owp_log(w->log, w->log_arg, OWP_LOG_WARNING, "verify_datadir: Ignoring \"%s\": %s", path, why);
}

/* Link one stored session file into the catalog, if stored() accepts it. */
static owp_status link_stored(link_walk *w, const walk_entry *e, owp_err *err)
{
    if (!S_ISREG(e->sb.st_mode) || !is_sid_file_name(e->name))
        return OWP_OK;
    char link[OWP_SERVER_PATH_MAX];
    int n = snprintf(link, sizeof link, "%s/%s", w->catalog, e->name);
    if (n < 0 || (size_t)n >= sizeof link)
        return OWP_OK;
    /* dir is "DATADIR/hierarchy[/CLASS/PATH]": the class path follows. */
    const char *cls = e->dir + w->hierarchy_len;
    if (*cls == '/')
        cls++;
    if (w->stored && w->stored(w->stored_arg, cls, e->path, (uint64_t)e->sb.st_size) != 0)
        return OWP_OK;
    if (symlink(e->path, link) != 0) {
        if (errno != EEXIST)
            return owp_err_sys(err, "symlink %s", link);
        warn_ignored(w, e->path, "SID already stored elsewhere");
        return OWP_OK;
    }
    w->linked++;
    return OWP_OK;
}

/* Visitor that fills the catalog from hierarchy/. Too deep a directory is
 * left out with a warning rather than stopping the daemon. */
static owp_status link_entry(void *arg, walk_event ev, const walk_entry *e, owp_err *err)
{
    link_walk *w = arg;
    switch (ev) {
    case WALK_ENTRY:
        return link_stored(w, e, err);
    case WALK_TOO_DEEP:
        warn_ignored(w, e->path, "too deep");
        break;
    case WALK_DIR_DONE:
        break;
    }
    return OWP_OK;
}

owp_status owp_server_datadir_init(const char *datadir, owp_log_fn log, void *log_arg,
                                   unsigned *nlinked, owp_err *err)
{
    return owp_server_datadir_init_stored(datadir, NULL, NULL, log, log_arg, nlinked, err);
}

owp_status owp_server_datadir_init_stored(const char *datadir, owp_server_stored_fn stored,
                                          void *stored_arg, owp_log_fn log,
                                          void *log_arg, unsigned *nlinked, owp_err *err)
{
    if (nlinked)
        *nlinked = 0;
    if (!datadir || !*datadir)
        return owp_err_set(err, OWP_ERR_INVALID, "datadir: empty path");
    char catalog[OWP_SERVER_PATH_MAX], hierarchy[OWP_SERVER_PATH_MAX];
    int n1 = snprintf(catalog, sizeof catalog, "%s/catalog", datadir);
    int n2 = snprintf(hierarchy, sizeof hierarchy, "%s/hierarchy", datadir);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof catalog || (size_t)n2 >= sizeof hierarchy)
        return owp_err_set(err, OWP_ERR_INVALID, "datadir: path too long: %s", datadir);
    owp_status st = make_dirs(datadir, err);
    if (st == OWP_OK)
        st = make_dirs(catalog, err);
    if (st == OWP_OK)
        st = walk_dir(catalog, 0, remove_entry, NULL, err);
    if (st != OWP_OK)
        return st;
    struct stat sb;
    if (stat(hierarchy, &sb) != 0) {
        if (errno == ENOENT)
            return OWP_OK; /* no receive session stored yet */
        return owp_err_sys(err, "stat %s", hierarchy);
    }
    if (!S_ISDIR(sb.st_mode))
        return owp_err_set(err, OWP_ERR_INVALID, "%s: not a directory", hierarchy);
    link_walk w = {catalog, (size_t)n2, stored, stored_arg, log, log_arg, 0};
    st = walk_dir(hierarchy, 0, link_entry, &w, err);
    if (nlinked)
        *nlinked = w.linked;
    return st;
}

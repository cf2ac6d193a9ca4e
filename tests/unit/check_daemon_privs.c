/*
 * check_daemon_privs.c - leaving root (daemon/daemon_privs.h): the run-as
 * user and group are looked up by name or "-ID", default owmesh or nobody,
 * never root; a process not started as root has nothing to drop; as root,
 * the state tree is handed over, the drop holds (uid 0 cannot be taken
 * back), and only with keep_bind may a port below 1024 still be bound.
 * The tests that need root are skipped (pass) without it; those that drop
 * do it in a child process, so the suite's process stays root.
 */
#include <check.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon_privs.h"
#include "testutil.h"

#define PATH_LEN 4096

static int is_root(void)
{
    return geteuid() == 0;
}

/* ------------------------------------------------------------------ look-up */

START_TEST(default_user_is_owmesh_else_nobody)
{
    daemon_privs p;
    owp_err err = {0};
    ck_assert_int_eq(daemon_privs_lookup(&p, NULL, NULL, &err), OWP_OK);
    const char *want = getpwnam("owmesh") ? "owmesh" : "nobody";
    struct passwd *pw = getpwnam(want);
    ck_assert_ptr_nonnull(pw);
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    ck_assert_str_eq(p.user, want);
    ck_assert_uint_eq(p.uid, uid);
    ck_assert_uint_eq(p.gid, gid);
    ck_assert_int_eq(p.active, 0); /* lookup never arms the drop */
    ck_assert_int_ne(p.group[0], '\0');
}
END_TEST

START_TEST(user_and_group_by_name_or_number)
{
    struct passwd *pw = getpwnam("nobody");
    ck_assert_ptr_nonnull(pw);
    uid_t uid = pw->pw_uid; /* getpw* reuse their buffer: copy */
    gid_t gid = pw->pw_gid;
    char uid_text[32], gid_text[32];
    snprintf(uid_text, sizeof uid_text, "-%lu", (unsigned long)uid);
    snprintf(gid_text, sizeof gid_text, "-%lu", (unsigned long)gid);
    daemon_privs p;
    owp_err err = {0};
    ck_assert_int_eq(daemon_privs_lookup(&p, uid_text, NULL, &err), OWP_OK);
    ck_assert_uint_eq(p.uid, uid);
    ck_assert_str_eq(p.user, "nobody"); /* the name, for owampd's -U */
    ck_assert_int_eq(daemon_privs_lookup(&p, "nobody", gid_text, &err), OWP_OK);
    ck_assert_uint_eq(p.gid, gid);
    struct group *gr = getgrgid(gid);
    if (gr)
        ck_assert_str_eq(p.group, gr->gr_name);
}
END_TEST

START_TEST(unknown_user_or_group_is_named)
{
    daemon_privs p;
    owp_err err = {0};
    ck_assert_int_eq(daemon_privs_lookup(&p, "no-such-user-x", NULL, &err), OWP_ERR_INVALID);
    ck_assert_str_eq(err.msg, "-U no-such-user-x: no such user");
    ck_assert_int_eq(daemon_privs_lookup(&p, "nobody", "no-such-group-x", &err),
                     OWP_ERR_INVALID);
    ck_assert_str_eq(err.msg, "-G no-such-group-x: no such group");
}
END_TEST

START_TEST(root_is_never_the_run_as_user)
{
    daemon_privs p;
    owp_err err = {0};
    ck_assert_int_eq(daemon_privs_lookup(&p, "root", NULL, &err), OWP_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "must not be root"));
    ck_assert_int_eq(daemon_privs_lookup(&p, "-0", NULL, &err), OWP_ERR_INVALID);
    ck_assert_int_eq(daemon_privs_lookup(&p, "nobody", "-0", &err), OWP_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "must not be root's"));
}
END_TEST

START_TEST(resolve_arms_the_drop_only_as_root)
{
    daemon_privs p;
    owp_err err = {0};
    ck_assert_int_eq(daemon_privs_resolve(&p, "nobody", NULL, &err), OWP_OK);
    ck_assert_int_eq(p.active, is_root());
    /* Not root: -U is not even looked up (as owampd ignores it). */
    if (!is_root()) {
        ck_assert_int_eq(daemon_privs_resolve(&p, "no-such-user-x", NULL, &err), OWP_OK);
        ck_assert_int_eq(p.active, 0);
    }
}
END_TEST

START_TEST(inactive_privs_change_nothing)
{
    daemon_privs p;
    memset(&p, 0, sizeof p);
    owp_err err = {0};
    int kept = 1;
    uid_t before = geteuid();
    ck_assert_int_eq(daemon_privs_drop(&p, &kept, &err), OWP_OK);
    ck_assert_int_eq(kept, 0);
    ck_assert_uint_eq(geteuid(), before);
    ck_assert_int_eq(daemon_privs_own_tree(&p, "/nonexistent", &err), OWP_OK);
    ck_assert_int_eq(daemon_privs_can_read(&p, "/nonexistent"), 1);
}
END_TEST

/* ------------------------------------------------------------------ as root */

static daemon_privs nobody_privs(void)
{
    daemon_privs p;
    owp_err err = {0};
    ck_assert_int_eq(daemon_privs_lookup(&p, "nobody", NULL, &err), OWP_OK);
    p.active = 1;
    return p;
}

START_TEST(tree_is_handed_over)
{
    if (!is_root())
        return;
    char sub[PATH_LEN], file[PATH_LEN + 32], link[PATH_LEN + 32];
    snprintf(sub, sizeof sub, "%s/spool", tu_dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    free(tu_write_file(sub, "f.owp", "x"));
    snprintf(file, sizeof file, "%s/f.owp", sub);
    snprintf(link, sizeof link, "%s/etc-link", sub);
    ck_assert_int_eq(symlink("/etc/passwd", link), 0);
    daemon_privs p = nobody_privs();
    owp_err err = {0};
    ck_assert_int_eq(daemon_privs_own_tree(&p, tu_dir, &err), OWP_OK);
    const char *paths[] = {tu_dir, sub, file};
    for (size_t i = 0; i < 3; i++) {
        struct stat sb;
        ck_assert_int_eq(stat(paths[i], &sb), 0);
        ck_assert_msg(sb.st_uid == p.uid && sb.st_gid == p.gid, "%s not handed over", paths[i]);
    }
    struct stat target;
    ck_assert_int_eq(stat("/etc/passwd", &target), 0);
    ck_assert_uint_eq(target.st_uid, 0); /* a link is not followed */
    unlink(link);
    unlink(file);
    rmdir(sub);
    ck_assert_int_eq(chown(tu_dir, 0, 0), 0);
}
END_TEST

START_TEST(system_directories_are_never_handed_over)
{
    daemon_privs p = nobody_privs();
    const char *dirs[] = {"/", "/var", "/var/lib/", "/usr/../etc", "/tmp"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        owp_err err = {0};
        ck_assert_int_eq(daemon_privs_own_tree(&p, dirs[i], &err), OWP_ERR_INVALID);
        ck_assert_msg(strstr(err.msg, "a system directory"), "%s: %s", dirs[i], err.msg);
    }
}
END_TEST

START_TEST(readable_by_the_run_as_user)
{
    if (!is_root())
        return;
    daemon_privs p = nobody_privs();
    char *secret = tu_write_file(tu_dir, "secret", "k");
    ck_assert_int_eq(chmod(secret, 0600), 0);
    ck_assert_int_eq(daemon_privs_can_read(&p, secret), 0);
    ck_assert_int_eq(chmod(secret, 0644), 0);
    ck_assert_int_eq(daemon_privs_can_read(&p, secret), 1);
    ck_assert_int_eq(chmod(secret, 0600), 0);
    ck_assert_int_eq(chown(secret, p.uid, 0), 0);
    ck_assert_int_eq(daemon_privs_can_read(&p, secret), 1);
    free(secret);
}
END_TEST

/* 1 when this kernel lets anyone bind ports 901-1000 (a container may set
 * ip_unprivileged_port_start lower): the capability then proves nothing. */
static int low_ports_are_open(void)
{
    FILE *fp = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");
    int start = 1024;
    if (fp) {
        if (fscanf(fp, "%d", &start) != 1)
            start = 1024;
        fclose(fp);
    }
    return start <= 901;
}

/* Bind 127.0.0.1 on some port below 1024: 0, or the errno. */
static int bind_low_port(void)
{
    int rc = EADDRINUSE;
    for (int port = 1000; port > 900 && rc == EADDRINUSE; port--) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        rc = bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 ? 0 : errno;
        close(fd);
    }
    return rc;
}

/* In a child: drop (keep_bind as asked) and report what holds, as the exit
 * status: 0 all as expected; 1 the drop failed; 2 still root; 3 root came
 * back; 4 low-port binding not as expected. */
static int drop_in_child(int keep_bind)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        daemon_privs p = nobody_privs();
        p.keep_bind = keep_bind;
        owp_err err = {0};
        int kept = 0;
        if (daemon_privs_drop(&p, &kept, &err) != OWP_OK) {
            fprintf(stderr, "drop: %s\n", err.msg);
            _exit(1);
        }
        if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0)
            _exit(2);
        if (setuid(0) == 0 || seteuid(0) == 0)
            _exit(3);
        int bound = bind_low_port();
        if (!low_ports_are_open() && (keep_bind ? (kept && bound != 0) : bound != EACCES))
            _exit(4);
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

START_TEST(drop_holds)
{
    if (!is_root())
        return;
    ck_assert_int_eq(drop_in_child(0), 0);
}
END_TEST

START_TEST(drop_keeping_the_bind_capability)
{
    if (!is_root())
        return;
    ck_assert_int_eq(drop_in_child(1), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("daemon_privs");
    TCase *tc = tcase_create("lookup");
    tcase_add_test(tc, default_user_is_owmesh_else_nobody);
    tcase_add_test(tc, user_and_group_by_name_or_number);
    tcase_add_test(tc, unknown_user_or_group_is_named);
    tcase_add_test(tc, root_is_never_the_run_as_user);
    tcase_add_test(tc, resolve_arms_the_drop_only_as_root);
    tcase_add_test(tc, inactive_privs_change_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("as root");
    tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
    tcase_add_test(tc, tree_is_handed_over);
    tcase_add_test(tc, system_directories_are_never_handed_over);
    tcase_add_test(tc, readable_by_the_run_as_user);
    tcase_add_test(tc, drop_holds);
    tcase_add_test(tc, drop_keeping_the_bind_capability);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}

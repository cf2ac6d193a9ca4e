/* check_policy.c - owamp-server.limits parsing, class resolution and the
 * resource ledger (programs.md section 3): policy.c, policy_parse.c and
 * policy_ledger.c, one module behind policy.h. Longer than our ~800-line rule
 * because the .limits grammar has many small rules, each with its case. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "pfs.h"
#include "testutil.h"

/* ---------------------------------------------------------------- helpers */

static owp_pfs *load_pfs(const char *rel)
{
    char *path = tu_vector_path(rel);
    owp_err err;
    owp_pfs *pfs = owp_pfs_load(path, &err);
    ck_assert_msg(pfs != NULL, "%s: %s", path, err.msg);
    free(path);
    return pfs;
}

static owp_limits *load_vector(const char *rel, const owp_pfs *pfs)
{
    char *path = tu_vector_path(rel);
    owp_err err;
    owp_limits *l = owp_limits_load(path, pfs, &err);
    ck_assert_msg(l != NULL, "%s: %s", path, err.msg);
    free(path);
    return l;
}

static owp_limits *parse_ok(const char *text)
{
    owp_err err;
    owp_limits *l = owp_limits_parse(text, strlen(text), "t.limits", NULL, &err);
    ck_assert_msg(l != NULL, "rejected \"%s\": %s", text, err.msg);
    return l;
}

static struct sockaddr_storage addr_of(const char *text, socklen_t *len)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        *len = sizeof *s4;
    } else {
        ck_assert_msg(inet_pton(AF_INET6, text, &s6->sin6_addr) == 1, "bad test address %s",
                      text);
        s6->sin6_family = AF_INET6;
        *len = sizeof *s6;
    }
    return ss;
}

static const char *class_for(const owp_limits *l, const char *addr)
{
    socklen_t len;
    struct sockaddr_storage ss = addr_of(addr, &len);
    return owp_limits_class_name(owp_limits_class_for_addr(l, (struct sockaddr *)&ss, len));
}

static const char *class_for_conn(const owp_limits *l, const char *addr, uint32_t mode,
                                  const char *identity)
{
    socklen_t len;
    struct sockaddr_storage ss = addr_of(addr, &len);
    return owp_limits_class_name(
        owp_limits_class_for_conn(l, (struct sockaddr *)&ss, len, mode, identity));
}

static const owp_limit_values *values_of(const owp_limits *l, const char *name)
{
    const owp_limits_class *c = owp_limits_class_find(l, name);
    ck_assert_msg(c != NULL, "class %s missing", name);
    return owp_limits_class_values(c);
}

static void assert_path(const owp_limits *l, const char *name, const char *want)
{
    char buf[512];
    ck_assert_int_eq(owp_limits_class_path(owp_limits_class_find(l, name), buf, sizeof buf), 0);
    ck_assert_str_eq(buf, want);
}

/* ---------------------------------------------------------------- the lab file */

START_TEST(lab_file)
{
    owp_pfs *pfs = load_pfs("lab/owampd.pfs");
    owp_limits *l = load_vector("lab/owampd.limits", pfs);
    ck_assert_ptr_null(owp_limits_warning(l));
    ck_assert_uint_eq(owp_limits_class_count(l), 3);
    ck_assert_str_eq(owp_limits_class_name(owp_limits_root(l)), "root");
    ck_assert_str_eq(owp_limits_class_name(owp_limits_class_at(l, 1)), "regular");
    ck_assert_str_eq(owp_limits_class_name(owp_limits_class_at(l, 2)), "authusers");
    ck_assert_ptr_null(owp_limits_class_at(l, 3));

    const owp_limit_values *root = values_of(l, "root");
    ck_assert(root->bandwidth == 0 && root->disk == 0 && root->test_sessions == 0);
    ck_assert_int_eq(root->delete_on_fetch, 1);
    ck_assert_int_eq(root->allow_open_mode, 1);
    /* delete_on_fetch is inherited from root by both children. */
    ck_assert_int_eq(values_of(l, "regular")->delete_on_fetch, 1);
    ck_assert_int_eq(values_of(l, "authusers")->delete_on_fetch, 1);
    ck_assert_int_eq(values_of(l, "authusers")->allow_open_mode, 1);

    /* The lab's stored file lived in hierarchy/root/regular/. */
    ck_assert_str_eq(class_for(l, "127.0.0.1"), "regular");
    ck_assert_str_eq(class_for(l, "::1"), "regular");
    assert_path(l, "regular", "root/regular");
    ck_assert_str_eq(class_for_conn(l, "127.0.0.1", OWP_MODE_AUTH, "alice"), "authusers");
    ck_assert_str_eq(class_for_conn(l, "127.0.0.1", OWP_MODE_ENCRYPTED, "alice"), "authusers");
    ck_assert_str_eq(class_for_conn(l, "127.0.0.1", OWP_MODE_OPEN, "alice"), "regular");
    owp_limits_destroy(&l);
    ck_assert_ptr_null(l);
    owp_limits_destroy(&l); /* NULL is fine */

    /* Without the pass-phrase file alice is unknown: line 6 is refused. */
    char *path = tu_vector_path("lab/owampd.limits");
    owp_err err;
    ck_assert_ptr_null(owp_limits_load(path, NULL, &err));
    ck_assert_int_eq(err.code, OWP_ERR_PARSE);
    char want[4200];
    snprintf(want, sizeof want, "%s:6: Invalid user \"alice\".", path);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "got %s", err.msg);
    free(path);
    owp_pfs_destroy(&pfs);
}
END_TEST

/* ---------------------------------------------------------------- full.limits */

START_TEST(full_file_values)
{
    owp_pfs *pfs = load_pfs("limits/users.pfs");
    owp_limits *l = load_vector("limits/full.limits", pfs);
    ck_assert_uint_eq(owp_limits_class_count(l), 6);

    const owp_limit_values *v = values_of(l, "root");
    ck_assert_uint_eq(v->bandwidth, 1000000000ULL);
    ck_assert_uint_eq(v->disk, 10000000000ULL);
    ck_assert_int_eq(v->delete_on_fetch, 0);
    ck_assert_int_eq(v->allow_open_mode, 1);

    v = values_of(l, "regular");
    ck_assert_uint_eq(v->bandwidth, 20000000ULL);
    ck_assert_uint_eq(v->disk, 1000000000ULL);
    ck_assert_uint_eq(v->test_sessions, 0);

    /* Three levels: slow sets bandwidth/test_sessions, inherits disk from
     * regular and delete_on_fetch/allow_open_mode from root via regular. */
    v = values_of(l, "slow");
    ck_assert_uint_eq(v->bandwidth, 64000ULL);
    ck_assert_uint_eq(v->disk, 1000000000ULL);
    ck_assert_uint_eq(v->test_sessions, 2);
    ck_assert_int_eq(v->delete_on_fetch, 0);
    ck_assert_int_eq(v->allow_open_mode, 1);

    v = values_of(l, "closed");
    ck_assert_uint_eq(v->bandwidth, 20000000ULL);
    ck_assert_int_eq(v->allow_open_mode, 0);
    ck_assert_int_eq(v->delete_on_fetch, 1);

    v = values_of(l, "alice");
    ck_assert_uint_eq(v->disk, 0); /* set to 0: no limit at this level */
    ck_assert_uint_eq(v->bandwidth, 1000000000ULL);

    v = values_of(l, "big");
    ck_assert_uint_eq(v->bandwidth, 18000000000000000000ULL);
    ck_assert_uint_eq(v->disk, 0); /* "disk=" is 0 */

    assert_path(l, "closed", "root/regular/closed");
    assert_path(l, "root", "root");
    ck_assert_ptr_eq(owp_limits_class_parent(owp_limits_class_find(l, "slow")),
                     owp_limits_class_find(l, "regular"));
    ck_assert_ptr_null(owp_limits_class_parent(owp_limits_root(l)));
    owp_limits_destroy(&l);
    owp_pfs_destroy(&pfs);
}
END_TEST

START_TEST(broken_file_line)
{
    char *path = tu_vector_path("limits/broken-line6.limits");
    owp_err err;
    ck_assert_ptr_null(owp_limits_load(path, NULL, &err));
    char want[4200];
    snprintf(want, sizeof want, "%s:6: parent \"nosuch\" undefined", path);
    ck_assert_str_eq(err.msg, want);
    free(path);
}
END_TEST

/* ---------------------------------------------------------------- every form of section 3 */

typedef struct syntax_case {
    const char *text;
    const char *error; /* NULL: accepted; else a substring of the message */
    int line;          /* line the error must name */
} syntax_case;

static const syntax_case syntax_cases[] = {
    /* accepted */
    {"", NULL, 0},
    {"# only a comment\n\n   \n", NULL, 0},
    {"limit root with\n", NULL, 0},
    {"limit root with disk=5k\n", NULL, 0},
    {"Limit root WITH Disk=5K, BANDWIDTH=1m\n", NULL, 0},
    {"limit root with disk=1, ,bandwidth=2,\n", NULL, 0},
    {"limit root with disk==1\n", NULL, 0},
    {"limit root with disk 1\n", NULL, 0},
    {"limit root with disk=1 # comment, with, commas\n", NULL, 0},
    {"limit root with # nothing set\n", NULL, 0},
    {"limit root with disk=k\n", NULL, 0},
    {"limit root with disk=0z\n", NULL, 0},
    {"limit root with disk=18446744073709551615\n", NULL, 0},
    {"limit root with allow_open_mode=OFF, delete_on_fetch=oN\n", NULL, 0},
    {"limit root with\r\nassign default root\r\n", NULL, 0},
    {"limit root with \\\n disk=1\n", NULL, 0},
    {"limit root with\nassign net 10.0.0.0/8 root\nassign net 10.0.0.0/8 root\n", NULL, 0},
    {"limit root with\nassign net 0.0.0.1/32 root\nassign net ::/1 root\n", NULL, 0},
    {"limit root with\nassign default root # comment\n", NULL, 0},
    {"limit 12345678901234567890123456789012345678901234567890123456789012345678901234567890"
     " with\n", NULL, 0},
    /* keywords */
    {"limits root with\n", "Invalid file syntax", 1},
    {"limitroot with\n", "Invalid file syntax", 1},
    {"\n\nfoo bar\n", "Invalid file syntax", 3},
    {"limit root with disk=1\\x\n", "'\\' is allowed only at the end", 1},
    {"limit root with \\\n disk=1\nfoo\n", "Invalid file syntax", 3},
    {"limit root with\n\0", "NUL byte", 2},
    /* limit lines */
    {"limit\n", "expected \"limit CLASSNAME with", 1},
    {"limit root\n", "expected \"with\"", 1},
    {"limit root without disk=1\n", "expected \"with\"", 1},
    {"limit 123456789012345678901234567890123456789012345678901234567890123456789012345678901"
     " with\n", "too long - max length = 80", 1},
    {"limit a/b with\n", "classname \"a/b\" invalid", 1},
    {"limit .. with\n", "invalid", 1},
    {"limit root with\nlimit root with parent=root\n", "classname \"root\" duplicated", 2},
    {"limit root with parent=root\n", "\"parent\" specified for root node.", 1},
    {"limit root with\nlimit a with disk=1\n", "\"parent\" must be specified for non-root node",
     2},
    {"limit root with\nlimit a with parent=nosuch\n", "parent \"nosuch\" undefined", 2},
    {"limit root with\nlimit a with parent=\n", "parent \"\" undefined", 2},
    {"limit root with\nlimit a with parent=root, parent=root\n",
     "multiple parent values specified.", 2},
    {"limit root with disk=1, DISK=2\n", "multiple DISK values specified.", 1},
    {"limit root with foo=1\n", "Unknown limit name \"foo\".", 1},
    {"limit root with =1\n", "Unknown limit name \"\".", 1},
    {"limit root with disk=-1\n", "Invalid value specified for \"disk\".", 1},
    {"limit root with disk=+1\n", "Invalid value specified for \"disk\".", 1},
    {"limit root with disk=1.5k\n", "Invalid value specified for \"disk\".", 1},
    {"limit root with disk=1kk\n", "Invalid value specified for \"disk\".", 1},
    {"limit root with disk=1x\n", "Invalid value specified for \"disk\".", 1},
    {"limit root with disk=1z\n", "Invalid value specified for \"disk\".", 1},
    {"limit root with disk=19E\n", "Invalid value specified for \"disk\".", 1},
    {"limit root with disk=18446744073709551616\n", "Invalid value specified for \"disk\".", 1},
    {"limit root with bandwidth=1 0M\n", "unexpected \"0M\" after the value of \"bandwidth\"",
     1},
    {"limit root with test_sessions=two\n", "Invalid value specified for \"test_sessions\".",
     1},
    {"limit root with delete_on_fetch=yes\n",
     "Invalid value specified for \"delete_on_fetch\".", 1},
    {"limit root with allow_open_mode=\n", "Invalid value specified for \"allow_open_mode\".",
     1},
    {"limit root with allow_open_mode=onn\n",
     "Invalid value specified for \"allow_open_mode\".", 1},
    /* assign lines */
    {"assign default default\n", "Unknown limitclass name \"default\".", 1},
    {"limit root with\nassign default root\nassign default root\n",
     "Invalid multiple \"assign default\" lines.", 3},
    {"limit root with\nassign default\n", "expected a limit class name", 2},
    {"limit root with\nassign default nosuch\n", "Unknown limitclass name \"nosuch\".", 2},
    {"limit root with\nassign default root extra\n", "unexpected \"extra\"", 2},
    {"limit root with\nassign\n", "Unknown \"assign\" specification.", 2},
    {"limit root with\nassign group x root\n", "Unknown \"assign\" specification.", 2},
    {"limit root with\nassign net\n", "Invalid \"assign net\" argument.", 2},
    {"limit root with\nassign net 10.0.0.0/8\n", "expected a limit class name", 2},
    {"limit root with\nassign net 10.0.0.1/8 root\n", "Invalid address/mask combination.", 2},
    {"limit root with\nassign net 2001:db8::1/32 root\n", "Invalid address/mask combination.",
     2},
    {"limit root with\nassign net 10.0.0.0/0 root\n", "Invalid address mask \"0\"", 2},
    {"limit root with\nassign net 10.0.0.0/33 root\n", "Invalid address mask \"33\"", 2},
    {"limit root with\nassign net ::/129 root\n", "Invalid address mask \"129\"", 2},
    {"limit root with\nassign net 10.0.0.0/8x root\n", "Invalid address mask \"8x\"", 2},
    {"limit root with\nassign net 10.0.0.0/ root\n", "Invalid address mask.", 2},
    {"limit root with\nassign net 10.0.0/8 root\n", "Invalid address \"10.0.0\"", 2},
    {"limit root with\nassign net example.com root\n", "Invalid address \"example.com\"", 2},
    {"limit root with\nlimit a with parent=root\nassign net 10.0.0.0/8 root\n"
     "assign net 10.0.0.0/8 a\n", "already given on line 3", 4},
    {"limit root with\nassign user\n", "Invalid \"assign user\" argument.", 2},
    {"limit root with\nassign user alice root\n", "Invalid user \"alice\".", 2},
};

START_TEST(syntax_table)
{
    const syntax_case *c = &syntax_cases[_i];
    /* The NUL case needs its real length; every other text is a C string. */
    size_t len = strlen(c->text);
    if (c->error && strcmp(c->error, "NUL byte") == 0)
        len += 1;
    owp_err err;
    memset(&err, 0, sizeof err);
    owp_limits *l = owp_limits_parse(c->text, len, "t.limits", NULL, &err);
    if (!c->error) {
        ck_assert_msg(l != NULL, "case %d rejected: %s", _i, err.msg);
        owp_limits_destroy(&l);
        return;
    }
    ck_assert_msg(l == NULL, "case %d (\"%s\") accepted", _i, c->text);
    ck_assert_int_eq(err.code, OWP_ERR_PARSE);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "t.limits:%d: ", c->line);
    ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0, "case %d: want %s, got %s", _i,
                  prefix, err.msg);
    ck_assert_msg(strstr(err.msg, c->error) != NULL, "case %d: want \"%s\" in \"%s\"", _i,
                  c->error, err.msg);
}
END_TEST

START_TEST(values_and_suffixes)
{
    static const struct {
        const char *value;
        uint64_t want;
    } cases[] = {
        {"0", 0},
        {"", 0},
        {"7", 7},
        {"5k", 5000ULL},
        {"5K", 5000ULL},
        {"20M", 20000000ULL},
        {"10G", 10000000000ULL},
        {"3t", 3000000000000ULL},
        {"2P", 2000000000000000ULL},
        {"18e", 18000000000000000000ULL},
        {"0z", 0},
        {"18446744073709551615", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "limit root with bandwidth=%s, disk=%s, test_sessions=%s\n",
                 cases[i].value, cases[i].value, cases[i].value);
        owp_limits *l = parse_ok(text);
        const owp_limit_values *v = owp_limits_class_values(owp_limits_root(l));
        ck_assert_msg(v->bandwidth == cases[i].want && v->disk == cases[i].want &&
                          v->test_sessions == cases[i].want,
                      "%s", cases[i].value);
        owp_limits_destroy(&l);
    }
}
END_TEST

START_TEST(no_limits_default)
{
    owp_limits *l = parse_ok("# nothing but a comment\n");
    ck_assert_str_eq(owp_limits_warning(l), "WARNING: No limits specified.");
    ck_assert_uint_eq(owp_limits_class_count(l), 1);
    ck_assert_str_eq(owp_limits_class_name(owp_limits_root(l)), "default");
    const owp_limit_values *v = owp_limits_class_values(owp_limits_root(l));
    ck_assert(v->bandwidth == 0 && v->disk == 0 && v->test_sessions == 0);
    ck_assert_int_eq(v->allow_open_mode, 1);
    ck_assert_int_eq(v->delete_on_fetch, 0);
    ck_assert_str_eq(class_for(l, "192.0.2.1"), "default");
    owp_limits_destroy(&l);

    /* A missing file: the same, not an error. */
    char *dir = tu_tempdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/owamp-server.limits", dir);
    owp_err err;
    l = owp_limits_load(path, NULL, &err);
    ck_assert_msg(l != NULL, "%s", err.msg);
    ck_assert_str_eq(owp_limits_warning(l), OWP_LIMITS_NO_LIMITS_WARNING);
    owp_limits_destroy(&l);

    /* An unreadable one (a directory) is an error. */
    ck_assert_ptr_null(owp_limits_load(dir, NULL, &err));
    ck_assert_int_eq(err.code, OWP_ERR_SYS);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(long_and_hostile_input)
{
    /* A logical line longer than the limit fails cleanly. */
    size_t n = 70000;
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    memcpy(big, "limit root with ", 16);
    big[n] = '\0';
    owp_err err;
    ck_assert_ptr_null(owp_limits_parse(big, n, "big", NULL, &err));
    ck_assert(strstr(err.msg, "line longer than") != NULL);

    /* Random bytes and random mixtures of the grammar's pieces: never crash. */
    static const char *pieces[] = {"limit ", "assign ", "net ", "user ", "default ", "with ",
                                   "parent=", "root", "a", ", ", "=", "\\\n", "\n", "#", "/",
                                   "10.0.0.0", "::", "/8 ", "bandwidth", "on", "9z", " "};
    srand(4656);
    for (int round = 0; round < 2000; round++) {
        size_t len = 0;
        if (round % 2) {
            len = (size_t)(rand() % 200);
            for (size_t i = 0; i < len; i++)
                big[i] = (char)(rand() % 256);
        } else {
            int k = rand() % 30;
            for (int i = 0; i < k; i++) {
                const char *p = pieces[(size_t)rand() % (sizeof pieces / sizeof pieces[0])];
                memcpy(big + len, p, strlen(p));
                len += strlen(p);
            }
        }
        owp_limits *l = owp_limits_parse(big, len, "fuzz", NULL, &err);
        if (l) {
            ck_assert_ptr_nonnull(owp_limits_root(l));
            owp_limits_destroy(&l);
        }
    }
    free(big);
    ck_assert_ptr_null(owp_limits_parse(NULL, 5, "x", NULL, &err));
    ck_assert_int_eq(err.code, OWP_ERR_INVALID);
}
END_TEST

/* ---------------------------------------------------------------- resolution */

START_TEST(resolution_by_address)
{
    owp_pfs *pfs = load_pfs("limits/users.pfs");
    owp_limits *l = load_vector("limits/full.limits", pfs);
    /* Most specific prefix wins, whatever the order of the lines. */
    ck_assert_str_eq(class_for(l, "10.2.3.4"), "slow");
    ck_assert_str_eq(class_for(l, "10.1.9.9"), "closed");
    ck_assert_str_eq(class_for(l, "10.1.2.3"), "big");
    ck_assert_str_eq(class_for(l, "10.1.2.4"), "closed");
    ck_assert_str_eq(class_for(l, "11.0.0.1"), "regular"); /* assign default */
    /* IPv6 */
    ck_assert_str_eq(class_for(l, "2001:db8:5::1"), "slow");
    ck_assert_str_eq(class_for(l, "2001:db8:1::5"), "closed");
    ck_assert_str_eq(class_for(l, "2001:db9::1"), "regular");
    ck_assert_str_eq(class_for(l, "::1"), "regular");
    /* IPv4-mapped IPv6 matches the IPv4 rules, never the IPv6 ones. */
    ck_assert_str_eq(class_for(l, "::ffff:10.1.2.3"), "big");
    ck_assert_str_eq(class_for(l, "::ffff:10.200.0.1"), "slow");
    /* No address, or one of another family: the default class. */
    ck_assert_str_eq(owp_limits_class_name(owp_limits_class_for_addr(l, NULL, 0)), "regular");
    struct sockaddr_in short_addr = {.sin_family = AF_INET};
    ck_assert_str_eq(owp_limits_class_name(owp_limits_class_for_addr(
                         l, (struct sockaddr *)&short_addr, 4)),
                     "regular");

    /* allow_open_mode before the greeting. */
    socklen_t len;
    struct sockaddr_storage ss = addr_of("10.1.9.9", &len);
    ck_assert_int_eq(owp_limits_allow_open_mode(l, (struct sockaddr *)&ss, len), 0);
    ss = addr_of("::ffff:10.1.9.9", &len);
    ck_assert_int_eq(owp_limits_allow_open_mode(l, (struct sockaddr *)&ss, len), 0);
    ss = addr_of("10.2.3.4", &len);
    ck_assert_int_eq(owp_limits_allow_open_mode(l, (struct sockaddr *)&ss, len), 1);
    owp_limits_destroy(&l);
    owp_pfs_destroy(&pfs);

    /* Without "assign default" an unmatched address gets the root. */
    l = parse_ok("limit top with\nlimit a with parent=top\nassign net 10.0.0.0/8 a\n");
    ck_assert_str_eq(class_for(l, "10.9.9.9"), "a");
    ck_assert_str_eq(class_for(l, "11.0.0.1"), "top");
    ck_assert_str_eq(class_for(l, "::1"), "top");
    owp_limits_destroy(&l);
}
END_TEST

START_TEST(resolution_by_identity)
{
    owp_pfs *pfs = load_pfs("limits/users.pfs");
    owp_limits *l = load_vector("limits/full.limits", pfs);
    /* A class named like the identity wins even over "assign user alice slow". */
    ck_assert_str_eq(class_for_conn(l, "10.1.9.9", OWP_MODE_AUTH, "alice"), "alice");
    ck_assert_str_eq(class_for_conn(l, "10.1.9.9", OWP_MODE_ENCRYPTED, "alice"), "alice");
    /* assign user */
    ck_assert_str_eq(class_for_conn(l, "10.2.3.4", OWP_MODE_AUTH, "bob"), "closed");
    /* Identity without a rule: the address decides. */
    ck_assert_str_eq(class_for_conn(l, "10.2.3.4", OWP_MODE_ENCRYPTED, "carol"), "slow");
    /* Open mode, or no identity: the address decides. */
    ck_assert_str_eq(class_for_conn(l, "10.2.3.4", OWP_MODE_OPEN, "alice"), "slow");
    ck_assert_str_eq(class_for_conn(l, "10.2.3.4", OWP_MODE_AUTH, ""), "slow");
    ck_assert_str_eq(class_for_conn(l, "11.1.1.1", OWP_MODE_AUTH, NULL), "regular");
    /* Identities compare exactly: no prefix matches. */
    ck_assert_str_eq(class_for_conn(l, "11.1.1.1", OWP_MODE_AUTH, "al"), "regular");
    ck_assert_str_eq(class_for_conn(l, "11.1.1.1", OWP_MODE_AUTH, "bobby"), "regular");
    owp_limits_destroy(&l);
    owp_pfs_destroy(&pfs);
}
END_TEST

START_TEST(class_paths)
{
    owp_limits *l = parse_ok("limit r with\nlimit a with parent=r\nlimit b with parent=a\n"
                             "limit c with parent=r\n");
    assert_path(l, "b", "r/a/b");
    char buf[6];
    ck_assert_int_eq(owp_limits_class_path(owp_limits_class_find(l, "b"), buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "r/a/b");
    char small[5] = "xxxx";
    ck_assert_int_eq(owp_limits_class_path(owp_limits_class_find(l, "b"), small, sizeof small),
                     -1);
    ck_assert_str_eq(small, "");
    ck_assert_int_eq(owp_limits_class_path(NULL, buf, sizeof buf), -1);

    ck_assert_ptr_eq(owp_limits_class_by_path(l, "r/a/b"), owp_limits_class_find(l, "b"));
    ck_assert_ptr_eq(owp_limits_class_by_path(l, "r"), owp_limits_root(l));
    ck_assert_ptr_null(owp_limits_class_by_path(l, "a/b"));
    ck_assert_ptr_null(owp_limits_class_by_path(l, "r/b"));
    ck_assert_ptr_null(owp_limits_class_by_path(l, "r/c/b"));
    ck_assert_ptr_null(owp_limits_class_by_path(l, "x/r/a/b"));
    ck_assert_ptr_null(owp_limits_class_by_path(l, "r/a/"));
    ck_assert_ptr_null(owp_limits_class_by_path(l, ""));
    ck_assert_ptr_null(owp_limits_class_by_path(l, "r/a/b/x"));
    ck_assert_ptr_null(owp_limits_class_find(l, "R"));
    owp_limits_destroy(&l);
}
END_TEST

/* ---------------------------------------------------------------- what a session costs */

START_TEST(session_cost)
{
    owp_slot slot = {OWP_SLOT_EXP, 1ULL << 31}; /* exactly 0.5 s */
    /* 2 packets/s x (20 + 8 + 14) bytes x 8 */
    ck_assert_uint_eq(owp_limits_session_bandwidth(&slot, 1, 0, OWP_MODE_OPEN, 0), 672);
    /* IPv6, authenticated, 100 bytes of padding: 2 x (40 + 8 + 48 + 100) x 8 */
    ck_assert_uint_eq(owp_limits_session_bandwidth(&slot, 1, 100, OWP_MODE_AUTH, 1), 3136);
    ck_assert_uint_eq(owp_limits_session_bandwidth(&slot, 1, 0, OWP_MODE_ENCRYPTED, 0), 1216);
    /* Three slots 0.25 + 0.25 + 0.5 s: 3 packets/s. */
    owp_slot three[3] = {{OWP_SLOT_FIXED, 1ULL << 30}, {OWP_SLOT_EXP, 1ULL << 30},
                         {OWP_SLOT_EXP, 1ULL << 31}};
    ck_assert_uint_eq(owp_limits_session_bandwidth(three, 3, 0, OWP_MODE_OPEN, 0), 1008);
    /* Zero-length schedules (owping -i 0) are charged 0, as the reference
     * does: no overflow to UINT64_MAX, which every bandwidth limit refused. */
    owp_slot zero = {OWP_SLOT_FIXED, 0};
    ck_assert_uint_eq(owp_limits_session_bandwidth(&zero, 1, 0, OWP_MODE_OPEN, 0), 0);
    owp_slot zero_exp[2] = {{OWP_SLOT_EXP, 0}, {OWP_SLOT_FIXED, 0}};
    ck_assert_uint_eq(owp_limits_session_bandwidth(zero_exp, 2, 1000, OWP_MODE_AUTH, 1), 0);
    ck_assert_uint_eq(owp_limits_session_bandwidth(NULL, 0, 0, OWP_MODE_OPEN, 0), 0);
    owp_slot tiny = {OWP_SLOT_FIXED, 1};
    /* 2^32 packets/s x 65639 bytes x 8 = 2.26e15 bit/s, still representable. */
    ck_assert_uint_eq(owp_limits_session_bandwidth(&tiny, 1, 65535, OWP_MODE_AUTH, 1),
                      4294967296ULL * (40 + 8 + 48 + 65535) * 8);

    ck_assert_uint_eq(owp_limits_session_disk(1, 100), 184 + 16 + 2500);
    ck_assert_uint_eq(owp_limits_session_disk(3, 0), 184 + 48);
    ck_assert_uint_eq(owp_limits_session_disk(UINT32_MAX, UINT32_MAX),
                      184 + 16ULL * UINT32_MAX + 25ULL * UINT32_MAX);
}
END_TEST

/* ---------------------------------------------------------------- the ledger */

static const char ledger_limits[] =
    "limit root with bandwidth=100, disk=1000\n"
    "limit mid with parent=root, bandwidth=60\n"          /* disk 1000 inherited */
    "limit leaf with parent=mid, bandwidth=0, disk=0, test_sessions=2\n"
    "limit other with parent=root\n";                     /* inherits 100 / 1000 */

static void assert_usage(const owp_limits_ledger *g, const owp_limits *l, const char *name,
                         uint64_t bw, uint64_t disk)
{
    uint64_t b = 0, d = 0;
    ck_assert_int_eq(owp_limits_ledger_usage(g, owp_limits_class_find(l, name), &b, &d), 0);
    ck_assert_msg(b == bw && d == disk, "%s: bandwidth %llu disk %llu, want %llu %llu", name,
                  (unsigned long long)b, (unsigned long long)d, (unsigned long long)bw,
                  (unsigned long long)disk);
}

static void open_conn(owp_limits_ledger *g, const owp_limits *l, uint64_t id, const char *cls)
{
    owp_err err;
    ck_assert_int_eq(owp_limits_ledger_conn_open(g, id, owp_limits_class_find(l, cls), &err),
                     OWP_OK);
}

static uint64_t grant_ok(owp_limits_ledger *g, uint64_t conn, uint64_t bw, uint64_t disk)
{
    owp_err err;
    uint64_t id = 0;
    uint8_t accept = 9;
    owp_status st = owp_limits_ledger_request(g, conn, bw, disk, &id, &accept, &err);
    ck_assert_msg(st == OWP_OK, "request %llu/%llu refused: %s", (unsigned long long)bw,
                  (unsigned long long)disk, err.msg);
    ck_assert_int_eq(accept, 0);
    ck_assert(id != 0);
    return id;
}

static void denied(owp_limits_ledger *g, uint64_t conn, uint64_t bw, uint64_t disk,
                   const char *why)
{
    owp_err err;
    uint64_t id = 77;
    uint8_t accept = 0;
    ck_assert_int_eq(owp_limits_ledger_request(g, conn, bw, disk, &id, &accept, &err),
                     OWP_ERR_REFUSED);
    ck_assert_int_eq(accept, OWP_LIMITS_ACCEPT_DENIED);
    ck_assert_uint_eq(id, 0);
    ck_assert_str_eq(err.msg, why);
}

START_TEST(ledger_bandwidth_up_the_chain)
{
    owp_limits *l = parse_ok(ledger_limits);
    owp_err err;
    owp_limits_ledger *g = owp_limits_ledger_new(l, 1.0, &err);
    ck_assert_ptr_nonnull(g);
    open_conn(g, l, 1, "leaf");
    open_conn(g, l, 2, "other");

    uint64_t a = grant_ok(g, 1, 50, 0);
    assert_usage(g, l, "leaf", 50, 0);
    assert_usage(g, l, "mid", 50, 0);
    assert_usage(g, l, "root", 50, 0);
    /* leaf has no bandwidth limit of its own; mid's 60 refuses. */
    denied(g, 1, 20, 0, "ResReq DENIED: mid:request:bandwidth = 20 (result = 50, limit = 60)");
    /* other fits its own 100 but together with leaf's 50 the root is full. */
    uint64_t b = grant_ok(g, 2, 45, 0);
    denied(g, 2, 10, 0, "ResReq DENIED: root:request:bandwidth = 10 (result = 95, limit = 100)");
    assert_usage(g, l, "other", 45, 0);
    assert_usage(g, l, "root", 95, 0);
    /* Exactly at the limit is allowed. */
    uint64_t c = grant_ok(g, 2, 5, 0);
    assert_usage(g, l, "root", 100, 0);

    /* Releases. */
    ck_assert_int_eq(owp_limits_ledger_end(g, a, 0, 0, &err), OWP_OK);
    assert_usage(g, l, "leaf", 0, 0);
    assert_usage(g, l, "mid", 0, 0);
    assert_usage(g, l, "root", 50, 0);
    ck_assert_int_eq(owp_limits_ledger_end(g, a, 0, 0, &err), OWP_ERR_INVALID); /* twice */
    ck_assert_int_eq(owp_limits_ledger_end(g, b, 0, 0, &err), OWP_OK);
    ck_assert_int_eq(owp_limits_ledger_end(g, c, 0, 0, &err), OWP_OK);
    assert_usage(g, l, "root", 0, 0);
    ck_assert_uint_eq(grant_ok(g, 1, 60, 0) != 0, 1);

    /* Unknown connection: internal error, Accept 2. */
    uint8_t accept = 0;
    ck_assert_int_eq(owp_limits_ledger_request(g, 99, 1, 0, NULL, &accept, &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(accept, 2);
    owp_limits_ledger_destroy(&g);
    ck_assert_ptr_null(g);
    owp_limits_ledger_destroy(&g);
    owp_limits_destroy(&l);
}
END_TEST

START_TEST(ledger_test_sessions)
{
    owp_limits *l = parse_ok(ledger_limits);
    owp_err err;
    owp_limits_ledger *g = owp_limits_ledger_new(l, 1.0, &err);
    open_conn(g, l, 1, "leaf");
    open_conn(g, l, 2, "leaf");
    uint64_t a = grant_ok(g, 1, 10, 0);
    /* A request refused for bandwidth does not count as a test session. */
    denied(g, 1, 55, 0, "ResReq DENIED: mid:request:bandwidth = 55 (result = 10, limit = 60)");
    grant_ok(g, 1, 0, 0);
    denied(g, 1, 0, 0,
           "ResReq DENIED: leaf:request:test_sessions = 1 (result = 2, limit = 2)");
    /* Ending a session does not give the connection its count back. */
    ck_assert_int_eq(owp_limits_ledger_end(g, a, 0, 0, &err), OWP_OK);
    denied(g, 1, 0, 0,
           "ResReq DENIED: leaf:request:test_sessions = 1 (result = 2, limit = 2)");
    /* The count is per connection. */
    grant_ok(g, 2, 0, 0);
    grant_ok(g, 2, 0, 0);
    owp_limits_ledger_destroy(&g);

    /* An ancestor's test_sessions limit applies too. */
    owp_limits_destroy(&l);
    l = parse_ok("limit root with test_sessions=1\nlimit kid with parent=root, "
                 "test_sessions=0\n");
    g = owp_limits_ledger_new(l, 1.0, &err);
    open_conn(g, l, 5, "kid");
    grant_ok(g, 5, 0, 0);
    denied(g, 5, 0, 0, "ResReq DENIED: root:request:test_sessions = 1 (result = 1, limit = 1)");
    owp_limits_ledger_destroy(&g);
    owp_limits_destroy(&l);
}
END_TEST

START_TEST(ledger_disk_and_fudge)
{
    owp_limits *l = parse_ok(ledger_limits);
    owp_err err;
    ck_assert_ptr_null(owp_limits_ledger_new(l, 0.5, &err));
    ck_assert_ptr_null(owp_limits_ledger_new(l, 10.5, &err));
    owp_limits_ledger *g = owp_limits_ledger_new(l, 1.5, &err);
    ck_assert_ptr_nonnull(g);
    open_conn(g, l, 3, "mid");
    open_conn(g, l, 4, "leaf");

    uint64_t a = grant_ok(g, 3, 0, 600);
    denied(g, 4, 0, 600, "ResReq DENIED: mid:request:disk = 600 (result = 600, limit = 1000)");
    assert_usage(g, l, "mid", 0, 600);
    assert_usage(g, l, "root", 0, 600);

    /* The file came out larger: 600 + 700 = 1300 fits 1000 x 1.5. */
    ck_assert_int_eq(owp_limits_ledger_end(g, a, 1, 1300, &err), OWP_OK);
    assert_usage(g, l, "mid", 0, 1300);
    assert_usage(g, l, "root", 0, 1300);
    /* Now stored data; plain requests see the real limit again. */
    denied(g, 3, 0, 1, "ResReq DENIED: mid:request:disk = 1 (result = 1300, limit = 1000)");
    ck_assert_int_eq(owp_limits_ledger_remove_stored(g, "root/mid", 1300, &err), OWP_OK);
    assert_usage(g, l, "root", 0, 0);

    /* Too large even for the fudge: refused, whole charge released. */
    uint64_t b = grant_ok(g, 3, 0, 900);
    ck_assert_int_eq(owp_limits_ledger_end(g, b, 1, 1600, &err), OWP_ERR_REFUSED);
    ck_assert_str_eq(err.msg, "ResReq DENIED: mid:claim:disk = 700 (result = 900, limit = 1000)");
    assert_usage(g, l, "mid", 0, 0);
    assert_usage(g, l, "root", 0, 0);

    /* Smaller than estimated: the difference is released, the rest stays. */
    uint64_t c = grant_ok(g, 4, 0, 900);
    ck_assert_int_eq(owp_limits_ledger_end(g, c, 1, 300, &err), OWP_OK);
    assert_usage(g, l, "leaf", 0, 300);
    assert_usage(g, l, "mid", 0, 300);
    /* Exactly the estimate. */
    uint64_t d = grant_ok(g, 4, 0, 100);
    ck_assert_int_eq(owp_limits_ledger_end(g, d, 1, 100, &err), OWP_OK);
    assert_usage(g, l, "mid", 0, 400);
    /* A session that failed keeps no file: its estimate goes back. */
    open_conn(g, l, 5, "leaf"); /* leaf allows 2 sessions per connection */
    uint64_t e = grant_ok(g, 5, 0, 500);
    assert_usage(g, l, "mid", 0, 900);
    ck_assert_int_eq(owp_limits_ledger_end(g, e, 0, 0, &err), OWP_OK);
    assert_usage(g, l, "mid", 0, 400);

    /* Over-release clamps at 0 and says so. */
    ck_assert_int_eq(owp_limits_ledger_remove_stored(g, "root/mid/leaf", 1000, &err),
                     OWP_ERR_INVALID);
    assert_usage(g, l, "leaf", 0, 0);
    assert_usage(g, l, "root", 0, 0);
    owp_limits_ledger_destroy(&g);
    owp_limits_destroy(&l);
}
END_TEST

START_TEST(ledger_initial_disk_usage)
{
    owp_pfs *pfs = load_pfs("lab/owampd.pfs");
    owp_limits *l = load_vector("lab/owampd.limits", pfs);
    owp_err err;
    owp_limits_ledger *g = owp_limits_ledger_new(l, 1.0, &err);
    ck_assert_int_eq(owp_limits_ledger_add_stored(g, "root/regular", 2700, &err), OWP_OK);
    ck_assert_int_eq(owp_limits_ledger_add_stored(g, "root/authusers", 300, &err), OWP_OK);
    ck_assert_int_eq(owp_limits_ledger_add_stored(g, "root", 5, &err), OWP_OK);
    assert_usage(g, l, "regular", 0, 2700);
    assert_usage(g, l, "root", 0, 3005);
    /* Directories that are not a class path are skipped by the caller. */
    ck_assert_int_eq(owp_limits_ledger_add_stored(g, "regular", 1, &err), OWP_ERR_INVALID);
    ck_assert(strstr(err.msg, "No associated user class") != NULL);
    ck_assert_int_eq(owp_limits_ledger_add_stored(g, "root/nosuch", 1, &err), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_limits_ledger_add_stored(g, NULL, 1, &err), OWP_ERR_INVALID);
    /* The lab has no limits: everything is granted. */
    open_conn(g, l, 1, "regular");
    grant_ok(g, 1, UINT64_MAX, UINT64_MAX);
    owp_limits_ledger_destroy(&g);
    owp_limits_destroy(&l);

    /* Existing data above a (lowered) limit: new receive sessions are refused. */
    l = parse_ok("limit root with disk=1k\n");
    g = owp_limits_ledger_new(l, 1.0, &err);
    ck_assert_int_eq(owp_limits_ledger_add_stored(g, "root", 1500, &err), OWP_OK);
    open_conn(g, l, 1, "root");
    grant_ok(g, 1, 1000000, 0); /* a send session needs no disk */
    denied(g, 1, 0, 1, "ResReq DENIED: root:request:disk = 1 (result = 1500, limit = 1000)");
    owp_limits_ledger_destroy(&g);
    owp_limits_destroy(&l);
    owp_pfs_destroy(&pfs);
}
END_TEST

START_TEST(ledger_dropped_connection)
{
    owp_limits *l = parse_ok(ledger_limits);
    owp_err err;
    owp_limits_ledger *g = owp_limits_ledger_new(l, 1.0, &err);
    open_conn(g, l, 10, "other");
    open_conn(g, l, 11, "leaf");
    grant_ok(g, 10, 10, 100);
    uint64_t kept = grant_ok(g, 10, 20, 200);
    uint64_t of11 = grant_ok(g, 11, 5, 50);
    grant_ok(g, 10, 30, 300);
    ck_assert_uint_eq(owp_limits_ledger_grants(g, 10), 3);
    uint64_t owner = 0;
    ck_assert_int_eq(owp_limits_ledger_grant_conn(g, of11, &owner), 0);
    ck_assert_uint_eq(owner, 11);
    ck_assert_int_eq(owp_limits_ledger_grant_conn(g, kept, &owner), 0);
    ck_assert_uint_eq(owner, 10);
    ck_assert_int_eq(owp_limits_ledger_grant_conn(g, 0, &owner), -1);
    ck_assert_int_eq(owp_limits_ledger_grant_conn(NULL, kept, &owner), -1);
    ck_assert_uint_eq(owp_limits_ledger_grants(g, 11), 1);
    assert_usage(g, l, "root", 65, 650);
    /* One of conn 10's sessions finished and stored its file. */
    ck_assert_int_eq(owp_limits_ledger_end(g, kept, 1, 150, &err), OWP_OK);
    assert_usage(g, l, "root", 45, 600);
    ck_assert_int_eq(owp_limits_ledger_grant_conn(g, kept, &owner), -1); /* gone */

    /* The connection drops: its two open grants go at once; the stored file stays. */
    ck_assert_uint_eq(owp_limits_ledger_conn_close(g, 10), 2);
    ck_assert_uint_eq(owp_limits_ledger_grants(g, 10), 0);
    assert_usage(g, l, "other", 0, 150);
    assert_usage(g, l, "leaf", 5, 50);
    assert_usage(g, l, "root", 5, 200);
    /* It is forgotten: requests now fail, a second close is a no-op. */
    ck_assert_int_eq(owp_limits_ledger_request(g, 10, 1, 0, NULL, NULL, &err), OWP_ERR_INVALID);
    ck_assert_uint_eq(owp_limits_ledger_conn_close(g, 10), 0);
    /* The id may be used again by a new connection (pids are recycled). */
    open_conn(g, l, 10, "mid");
    grant_ok(g, 10, 55, 0);
    ck_assert_uint_eq(owp_limits_ledger_conn_close(g, 11), 1);
    ck_assert_uint_eq(owp_limits_ledger_conn_close(g, 10), 1);
    assert_usage(g, l, "root", 0, 150);
    owp_limits_ledger_destroy(&g);
    owp_limits_destroy(&l);
}
END_TEST

START_TEST(ledger_bad_arguments)
{
    owp_limits *l = parse_ok(ledger_limits);
    owp_limits *other = parse_ok(ledger_limits);
    owp_err err;
    ck_assert_ptr_null(owp_limits_ledger_new(NULL, 1.0, &err));
    owp_limits_ledger *g = owp_limits_ledger_new(l, 1.0, &err);
    open_conn(g, l, 1, "mid");
    ck_assert_int_eq(owp_limits_ledger_conn_open(g, 1, owp_limits_root(l), &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(owp_limits_ledger_conn_open(g, 2, owp_limits_root(other), &err),
                     OWP_ERR_INVALID);
    ck_assert_int_eq(owp_limits_ledger_conn_open(g, 2, NULL, &err), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_limits_ledger_usage(g, owp_limits_root(other), NULL, NULL), -1);
    ck_assert_int_eq(owp_limits_ledger_end(g, 0, 0, 0, &err), OWP_ERR_INVALID);
    ck_assert_int_eq(owp_limits_ledger_end(NULL, 1, 0, 0, &err), OWP_ERR_INVALID);
    ck_assert_uint_eq(owp_limits_ledger_conn_close(NULL, 1), 0);
    /* Saturating arithmetic: huge requests never wrap a counter. */
    owp_limits *open_l = parse_ok("limit root with\n");
    owp_limits_ledger *h = owp_limits_ledger_new(open_l, 1.0, &err);
    open_conn(h, open_l, 1, "root");
    grant_ok(h, 1, UINT64_MAX, UINT64_MAX);
    grant_ok(h, 1, UINT64_MAX, UINT64_MAX);
    assert_usage(h, open_l, "root", UINT64_MAX, UINT64_MAX);
    owp_limits_ledger_destroy(&h);
    owp_limits_destroy(&open_l);
    owp_limits_ledger_destroy(&g);
    owp_limits_destroy(&other);
    owp_limits_destroy(&l);
}
END_TEST

/* ---------------------------------------------------------------- suite */

static Suite *limits_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, lab_file);
    tcase_add_test(tc, full_file_values);
    tcase_add_test(tc, broken_file_line);
    tcase_add_test(tc, no_limits_default);
    suite_add_tcase(s, tc);

    tc = tcase_create("syntax");
    tcase_add_loop_test(tc, syntax_table, 0, (int)(sizeof syntax_cases / sizeof syntax_cases[0]));
    tcase_add_test(tc, values_and_suffixes);
    tcase_add_test(tc, long_and_hostile_input);
    suite_add_tcase(s, tc);

    tc = tcase_create("resolution");
    tcase_add_test(tc, resolution_by_address);
    tcase_add_test(tc, resolution_by_identity);
    tcase_add_test(tc, class_paths);
    suite_add_tcase(s, tc);

    tc = tcase_create("ledger");
    tcase_add_test(tc, session_cost);
    tcase_add_test(tc, ledger_bandwidth_up_the_chain);
    tcase_add_test(tc, ledger_test_sessions);
    tcase_add_test(tc, ledger_disk_and_fudge);
    tcase_add_test(tc, ledger_initial_disk_usage);
    tcase_add_test(tc, ledger_dropped_connection);
    tcase_add_test(tc, ledger_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(limits_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

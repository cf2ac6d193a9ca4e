/* check_hostport.c - host operands, resolution (numeric and "localhost" only),
 * formatting and the Request-Session address form. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hostport.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ parsing */

START_TEST(parse_accepted_forms)
{
    static const struct {
        const char *text, *host, *port;
    } ok[] = {
        {"127.0.0.1", "127.0.0.1", ""},
        {"127.0.0.1:8861", "127.0.0.1", "8861"},
        {"localhost", "localhost", ""},
        {"owamp.example.net:861", "owamp.example.net", "861"},
        {"[::1]:8862", "::1", "8862"},
        {"[::1]", "::1", ""},
        {"::1", "::1", ""},                          /* bare IPv6: whole text is the host */
        {"2001:db8::1", "2001:db8::1", ""},
        {"fe80::1%eth0", "fe80::1%eth0", ""},        /* link-local with scope */
        {"[fe80::1%eth0]:861", "fe80::1%eth0", "861"},
        {"::ffff:127.0.0.1", "::ffff:127.0.0.1", ""},
        {":8861", "", "8861"},                       /* -S :port = wildcard with port */
        {"", "", ""},
        {"host:owamp-control", "host", "owamp-control"}, /* service name */
        {"host:0", "host", "0"},
        {"host:65535", "host", "65535"},
    };
    for (size_t i = 0; i < N_ELEMS(ok); i++) {
        owp_hostport hp;
        owp_err e;
        ck_assert_msg(owp_hostport_parse(ok[i].text, &hp, &e) == OWP_OK, "\"%s\": %s",
                      ok[i].text, e.msg);
        ck_assert_str_eq(hp.host, ok[i].host);
        ck_assert_str_eq(hp.port, ok[i].port);
    }
}
END_TEST

START_TEST(parse_rejected_forms)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"[::1", "missing ']'"},
        {"[::1]x", "after ']'"},
        {"[::1]:", "port"},
        {"[]:861", "empty brackets"},
        {"host:", "port"},
        {"host:65536", "port"},
        {"host:99999999999999999999", "port"},
        {"host:8 61", "port"},
        {"host:a/b", "port"},
        {"bad host", "invalid character"},
        {"a[b]", "invalid character"},
        {"host\n", "invalid character"},
        {"]:861", "invalid character"},
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        owp_hostport hp;
        owp_err e;
        ck_assert_msg(owp_hostport_parse(bad[i].text, &hp, &e) == OWP_ERR_PARSE, "\"%s\" accepted",
                      bad[i].text);
        ck_assert_msg(strstr(e.msg, bad[i].why) != NULL, "\"%s\": %s", bad[i].text, e.msg);
    }
}
END_TEST

START_TEST(parse_overlong_parts)
{
    char text[400];
    owp_hostport hp;
    owp_err e;
    memset(text, 'a', 300);
    text[300] = '\0';
    ck_assert_int_eq(owp_hostport_parse(text, &hp, &e), OWP_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, "host longer than 255"));
    snprintf(text, sizeof text, "h:%s", "aaaaaaaaaaaaaaaaaaaaaaaa");
    ck_assert_int_eq(owp_hostport_parse(text, &hp, &e), OWP_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(e.msg, "port longer than 15"));
    ck_assert_int_eq(owp_hostport_parse(NULL, &hp, &e), OWP_ERR_INVALID);
}
END_TEST

/* ------------------------------------------------------------ resolution */

static void resolve_ok(const char *text, const char *defport, int family, int passive,
                       const char *want)
{
    owp_hostport hp;
    owp_err e;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char buf[128];
    ck_assert_msg(owp_hostport_parse(text, &hp, &e) == OWP_OK, "%s: %s", text, e.msg);
    ck_assert_msg(owp_hostport_resolve(&hp, defport, family, SOCK_STREAM, passive, &ss, &len,
                                       &e) == OWP_OK,
                  "%s: %s", text, e.msg);
    ck_assert_uint_eq(len, ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                                   : sizeof(struct sockaddr_in6));
    owp_sockaddr_format((struct sockaddr *)&ss, buf, sizeof buf);
    ck_assert_msg(strcmp(buf, want) == 0, "%s -> %s, want %s", text, buf, want);
}

START_TEST(resolve_numeric_and_localhost)
{
    resolve_ok("127.0.0.1", "861", AF_UNSPEC, 0, "127.0.0.1:861");
    resolve_ok("127.0.0.1:8861", "861", AF_UNSPEC, 0, "127.0.0.1:8861");
    resolve_ok("[::1]:8862", "861", AF_UNSPEC, 0, "[::1]:8862");
    resolve_ok("::1", "861", AF_INET6, 0, "[::1]:861");
    resolve_ok("localhost", "861", AF_INET, 0, "127.0.0.1:861");
    resolve_ok("localhost:9000", NULL, AF_INET, 0, "127.0.0.1:9000");
    /* Passive wildcard: IPv6 first under AF_UNSPEC, IPv4 when asked. */
    resolve_ok("", "861", AF_UNSPEC, 1, "[::]:861");
    resolve_ok(":8861", "861", AF_INET, 1, "0.0.0.0:8861");
    resolve_ok("", NULL, AF_INET, 1, "0.0.0.0:0");
}
END_TEST

START_TEST(resolve_family_mismatch_fails)
{
    owp_hostport hp;
    owp_err e;
    struct sockaddr_storage ss;
    socklen_t len;
    ck_assert_int_eq(owp_hostport_parse("127.0.0.1", &hp, &e), OWP_OK);
    ck_assert_int_ne(owp_hostport_resolve(&hp, "861", AF_INET6, SOCK_DGRAM, 0, &ss, &len, &e),
                     OWP_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "127.0.0.1"));
    ck_assert_int_eq(owp_hostport_parse("::1", &hp, &e), OWP_OK);
    ck_assert_int_ne(owp_hostport_resolve(&hp, "861", AF_INET, SOCK_DGRAM, 0, &ss, &len, &e),
                     OWP_OK);
    ck_assert_int_eq(owp_hostport_resolve(&hp, "861", 12345, SOCK_DGRAM, 0, &ss, &len, &e),
                     OWP_ERR_INVALID);
}
END_TEST

/* ------------------------------------------------------------ formatting */

static struct sockaddr_storage make_addr(const char *numeric, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, numeric, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
    } else {
        ck_assert_int_eq(inet_pton(AF_INET6, numeric, &sin6->sin6_addr), 1);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
    }
    return ss;
}

START_TEST(format_numeric)
{
    char buf[128];
    struct sockaddr_storage a = make_addr("127.0.0.1", 8861);
    owp_sockaddr_format((struct sockaddr *)&a, buf, sizeof buf);
    ck_assert_str_eq(buf, "127.0.0.1:8861");
    owp_sockaddr_format_addr((struct sockaddr *)&a, buf, sizeof buf);
    ck_assert_str_eq(buf, "127.0.0.1");
    a = make_addr("::1", 8862);
    owp_sockaddr_format((struct sockaddr *)&a, buf, sizeof buf);
    ck_assert_str_eq(buf, "[::1]:8862");
    owp_sockaddr_format_addr((struct sockaddr *)&a, buf, sizeof buf);
    ck_assert_str_eq(buf, "::1");
    /* Short buffers truncate safely; zero-length and NULL buffers are no-ops. */
    owp_sockaddr_format((struct sockaddr *)&a, buf, 4);
    ck_assert_str_eq(buf, "[::");
    owp_sockaddr_format((struct sockaddr *)&a, buf, 0);
    owp_sockaddr_format((struct sockaddr *)&a, NULL, 0);
    struct sockaddr_storage unk;
    memset(&unk, 0, sizeof unk);
    unk.ss_family = AF_UNIX;
    owp_sockaddr_format((struct sockaddr *)&unk, buf, sizeof buf);
    ck_assert_str_eq(buf, "(unknown address)");
    owp_sockaddr_name((struct sockaddr *)&unk, buf, sizeof buf);
    ck_assert_str_eq(buf, "(unknown address)");
    owp_sockaddr_format(NULL, buf, sizeof buf);
    ck_assert_str_eq(buf, "(unknown address)");
}
END_TEST

START_TEST(reverse_lookup_of_loopback)
{
    /* Only 127.0.0.1, which /etc/hosts answers without any network query. */
    char hosts[4096] = "";
    FILE *fp = fopen("/etc/hosts", "r");
    int mapped = 0;
    if (fp) {
        while (fgets(hosts, sizeof hosts, fp))
            if (strncmp(hosts, "127.0.0.1", 9) == 0 && strstr(hosts, "localhost"))
                mapped = 1;
        fclose(fp);
    }
    char buf[256];
    struct sockaddr_storage a = make_addr("127.0.0.1", 1);
    owp_sockaddr_name((struct sockaddr *)&a, buf, sizeof buf);
    if (mapped)
        ck_assert_str_eq(buf, "localhost");
    else
        ck_assert_msg(buf[0] != '\0', "empty name");
}
END_TEST

START_TEST(ports_get_and_set)
{
    struct sockaddr_storage a = make_addr("127.0.0.1", 861);
    ck_assert_uint_eq(owp_sockaddr_port((struct sockaddr *)&a), 861);
    owp_sockaddr_set_port((struct sockaddr *)&a, 9000);
    ck_assert_uint_eq(owp_sockaddr_port((struct sockaddr *)&a), 9000);
    a = make_addr("::1", 65535);
    ck_assert_uint_eq(owp_sockaddr_port((struct sockaddr *)&a), 65535);
    owp_sockaddr_set_port((struct sockaddr *)&a, 1);
    ck_assert_uint_eq(owp_sockaddr_port((struct sockaddr *)&a), 1);
    ck_assert_uint_eq(owp_sockaddr_port(NULL), 0);
}
END_TEST

/* ------------------------------------------------------------ comparison, wire form */

START_TEST(same_addr_treats_mapped_as_ipv4)
{
    static const struct {
        const char *a, *b;
        int same;
    } cases[] = {
        {"127.0.0.1", "127.0.0.1", 1},
        {"127.0.0.1", "::ffff:127.0.0.1", 1},
        {"::ffff:127.0.0.1", "127.0.0.1", 1},
        {"::ffff:127.0.0.1", "::ffff:127.0.0.1", 1},
        {"127.0.0.1", "127.0.0.2", 0},
        {"::ffff:127.0.0.2", "127.0.0.1", 0},
        {"::1", "::1", 1},
        {"::1", "127.0.0.1", 0},
        {"::1", "::2", 0},
        {"::127.0.0.1", "127.0.0.1", 0}, /* IPv4-compatible is not IPv4-mapped */
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        struct sockaddr_storage a = make_addr(cases[i].a, 1), b = make_addr(cases[i].b, 2);
        ck_assert_msg(owp_sockaddr_same_addr((struct sockaddr *)&a, (struct sockaddr *)&b) ==
                          cases[i].same,
                      "%s vs %s", cases[i].a, cases[i].b);
    }
    struct sockaddr_storage a = make_addr("127.0.0.1", 1);
    ck_assert_int_eq(owp_sockaddr_same_addr((struct sockaddr *)&a, NULL), 0);
}
END_TEST

START_TEST(wire_form)
{
    static const struct {
        const char *addr;
        uint8_t ipvn;
        const char *hex;
    } cases[] = {
        {"127.0.0.1", 4, "7f000001000000000000000000000000"},
        {"::ffff:127.0.0.1", 4, "7f000001000000000000000000000000"},
        {"::1", 6, "00000000000000000000000000000001"},
        {"2001:db8::2", 6, "20010db8000000000000000000000002"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        struct sockaddr_storage a = make_addr(cases[i].addr, 8861);
        uint8_t ipvn = 0, wire[16];
        char hex[33];
        memset(wire, 0xAA, sizeof wire);
        owp_sockaddr_to_wire((struct sockaddr *)&a, &ipvn, wire);
        ck_assert_uint_eq(ipvn, cases[i].ipvn);
        for (int k = 0; k < 16; k++)
            snprintf(hex + 2 * k, 3, "%02x", wire[k]);
        ck_assert_str_eq(hex, cases[i].hex);

        /* Back again: same address (mapped comes back as plain IPv4), given port. */
        struct sockaddr_storage back;
        socklen_t len = 0;
        owp_err e;
        ck_assert_int_eq(owp_sockaddr_from_wire(ipvn, wire, 9001, &back, &len, &e), OWP_OK);
        ck_assert_int_eq(back.ss_family, ipvn == 4 ? AF_INET : AF_INET6);
        ck_assert_uint_eq(owp_sockaddr_port((struct sockaddr *)&back), 9001);
        ck_assert(owp_sockaddr_same_addr((struct sockaddr *)&a, (struct sockaddr *)&back));
    }
}
END_TEST

START_TEST(wire_form_hostile)
{
    uint8_t wire[16], ipvn = 9;
    memset(wire, 0xFF, sizeof wire);
    struct sockaddr_storage ss;
    socklen_t len;
    owp_err e;
    static const uint8_t bad_ipvn[] = {0, 1, 5, 7, 15, 255};
    for (size_t i = 0; i < N_ELEMS(bad_ipvn); i++) {
        ck_assert_int_eq(owp_sockaddr_from_wire(bad_ipvn[i], wire, 1, &ss, &len, &e),
                         OWP_ERR_PROTO);
        ck_assert_ptr_nonnull(strstr(e.msg, "IPVN"));
    }
    /* IPv4 with junk after the first 4 bytes: only those count. */
    ck_assert_int_eq(owp_sockaddr_from_wire(4, wire, 1, &ss, &len, &e), OWP_OK);
    char buf[64];
    owp_sockaddr_format_addr((struct sockaddr *)&ss, buf, sizeof buf);
    ck_assert_str_eq(buf, "255.255.255.255");
    /* An unknown family goes out as IPVN 0 with a zero address. */
    struct sockaddr_storage unk;
    memset(&unk, 0, sizeof unk);
    unk.ss_family = AF_UNIX;
    owp_sockaddr_to_wire((struct sockaddr *)&unk, &ipvn, wire);
    ck_assert_uint_eq(ipvn, 0);
    for (int k = 0; k < 16; k++)
        ck_assert_uint_eq(wire[k], 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hostport");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, parse_accepted_forms);
    tcase_add_test(tc, parse_rejected_forms);
    tcase_add_test(tc, parse_overlong_parts);
    suite_add_tcase(s, tc);
    tc = tcase_create("resolve");
    tcase_add_test(tc, resolve_numeric_and_localhost);
    tcase_add_test(tc, resolve_family_mismatch_fails);
    suite_add_tcase(s, tc);
    tc = tcase_create("format");
    tcase_add_test(tc, format_numeric);
    tcase_add_test(tc, reverse_lookup_of_loopback);
    tcase_add_test(tc, ports_get_and_set);
    suite_add_tcase(s, tc);
    tc = tcase_create("wire");
    tcase_add_test(tc, same_addr_treats_mapped_as_ipv4);
    tcase_add_test(tc, wire_form);
    tcase_add_test(tc, wire_form_hostile);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

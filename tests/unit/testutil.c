/* testutil.c - helpers shared by the Check suites. */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *tu_vector_path(const char *rel)
{
    size_t n = strlen(VECTORS_DIR) + strlen(rel) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", VECTORS_DIR, rel);
    return p;
}

json_t *tu_load_json(const char *rel)
{
    char *path = tu_vector_path(rel);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j)
        ck_abort_msg("%s:%d: %s", path, jerr.line, jerr.text);
    free(path);
    return j;
}

void tu_each_vector(const tu_vector_check *v)
{
    json_t *root = tu_load_json(v->rel);
    json_t *arr = json_object_get(root, v->key);
    ck_assert_msg(json_is_array(arr) && json_array_size(arr) > 0, "%s: no entries under %s",
                  v->rel, v->key);
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
        v->check(item, i);
    json_decref(root);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long tu_hex_decode(const char *hex, uint8_t *out, size_t outlen)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > outlen)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

size_t tu_json_hex(json_t *obj, const char *key, uint8_t *out, size_t outlen)
{
    const char *s = json_string_value(json_object_get(obj, key));
    ck_assert_msg(s != NULL, "vector lacks string member %s", key);
    long n = tu_hex_decode(s, out, outlen);
    ck_assert_msg(n >= 0, "vector member %s is not hex of at most %zu bytes", key, outlen);
    return (size_t)n;
}

uint64_t tu_json_hex64(json_t *obj, const char *key)
{
    uint8_t b[8];
    ck_assert_uint_eq(tu_json_hex(obj, key, b, sizeof b), 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    if (len)
        *len = (size_t)n;
    return buf;
}

char *tu_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/owmesh-test.XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    ck_assert_msg(d != NULL, "mkdtemp failed");
    return strdup(d);
}

void tu_tempdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char p[4096];
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

char *tu_dir;

void tu_dir_setup(void) { tu_dir = tu_tempdir(); }

void tu_dir_teardown(void)
{
    tu_tempdir_remove(tu_dir);
    free(tu_dir);
    tu_dir = NULL;
}

char *tu_write_file_n(const char *dir, const char *name, const void *data, size_t len)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    FILE *fp = fopen(p, "wb");
    ck_assert_msg(fp != NULL, "cannot create %s", p);
    ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    fclose(fp);
    return p;
}

char *tu_write_file(const char *dir, const char *name, const char *text)
{
    return tu_write_file_n(dir, name, text, strlen(text));
}

void tu_assert_error_at(const char *msg, const char *path, int line, const char *why,
                        size_t case_no)
{
    char want[4200];
    snprintf(want, sizeof want, "%s:%d: ", path, line);
    ck_assert_msg(strncmp(msg, want, strlen(want)) == 0 && strstr(msg, why),
                  "case %zu: got \"%s\", want \"%s...%s\"", case_no, msg, want, why);
}

void tu_fill_garbage(char *buf, size_t n, const char *alphabet, uint32_t *x)
{
    size_t symbols = strlen(alphabet);
    for (size_t k = 0; k < n; k++) {
        *x = *x * 1103515245u + 12345u;
        buf[k] = alphabet[(*x >> 16) % symbols];
    }
}

static char *stderr_path;

void tu_stderr_capture(void)
{
    char *dir = tu_tempdir();
    size_t n = strlen(dir) + sizeof "/stderr";
    free(stderr_path);
    stderr_path = malloc(n);
    ck_assert_ptr_nonnull(stderr_path);
    snprintf(stderr_path, n, "%s/stderr", dir);
    free(dir);
    fflush(stderr);
    int fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, 2), 2);
    close(fd);
}

char *tu_stderr_text(void)
{
    ck_assert_msg(stderr_path != NULL, "tu_stderr_capture() first");
    fflush(stderr);
    return tu_read_file(stderr_path, NULL);
}

int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* testutil.h - helpers shared by the Check suites: vector files, hex, JSON,
 * temporary files, error messages, running a suite. */
#ifndef OWP_TESTUTIL_H
#define OWP_TESTUTIL_H

#include <check.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Absolute path of a file under tests/vectors (static buffer per call site is not
 * needed: the result is malloc'd and must be freed). */
char *tu_vector_path(const char *rel);

/* Load a JSON vector file under tests/vectors; aborts the test on failure. */
json_t *tu_load_json(const char *rel);

/* Decode hex (any case, even length) into out; returns bytes written or -1. */
long tu_hex_decode(const char *hex, uint8_t *out, size_t outlen);
/* A row of a table of vector checks: the non-empty array under key in the
 * JSON vector file rel, and the check each of its items must pass. */
typedef struct tu_vector_check {
    const char *rel, *key;
    void (*check)(json_t *item, size_t i);
} tu_vector_check;

/* Calls v->check(item, index) for every item; aborts the test when the array
 * is missing or empty. */
void tu_each_vector(const tu_vector_check *v);

/* Hex of a JSON string member, decoded; aborts on missing/malformed. */
size_t tu_json_hex(json_t *obj, const char *key, uint8_t *out, size_t outlen);
uint64_t tu_json_hex64(json_t *obj, const char *key); /* "eeae670c40aba387" -> uint64 */

/* Read a whole file (vector or output) into a malloc'd NUL-terminated buffer. */
char *tu_read_file(const char *path, size_t *len);

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); malloc'd path. */
char *tu_tempdir(void);
/* Removes the files directly inside dir, then dir itself (no subdirectories). */
void tu_tempdir_remove(const char *dir);

/* A checked fixture: tu_dir_setup makes tu_dir a fresh temporary directory for
 * each test, tu_dir_teardown removes it with its files. A global because Check
 * fixtures take no argument. */
extern char *tu_dir;
void tu_dir_setup(void);
void tu_dir_teardown(void);

/* Writes len bytes (or the string text) to dir/name, aborting the test on
 * failure; returns the malloc'd path. */
char *tu_write_file_n(const char *dir, const char *name, const void *data, size_t len);
char *tu_write_file(const char *dir, const char *name, const char *text);

/* Asserts that a loader's error message msg begins "PATH:LINE: " and contains
 * why; case_no names the table row in the failure message. */
void tu_assert_error_at(const char *msg, const char *path, int line, const char *why,
                        size_t case_no);

/* Deterministic garbage for hostile-input tests: n bytes drawn from the
 * characters of alphabet by the linear congruential generator whose state is *x. */
void tu_fill_garbage(char *buf, size_t n, const char *alphabet, uint32_t *x);

/* Capture what the process writes on stderr (a daemon's log copy): from
 * tu_stderr_capture() on, fd 2 goes to a fresh temporary file; tu_stderr_text()
 * returns everything written since (malloc'd, NUL-terminated). For the body
 * of one forked test; stderr is not restored. */
void tu_stderr_capture(void);
char *tu_stderr_text(void);

/* Runs every test of s, frees the runner; EXIT_SUCCESS when none failed. */
int tu_run_suite(Suite *s);

#endif

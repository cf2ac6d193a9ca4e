/* testutil.h - helpers shared by the Check suites: vector files, hex, JSON. */
#ifndef OWP_TESTUTIL_H
#define OWP_TESTUTIL_H

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
/* Hex of a JSON string member, decoded; aborts on missing/malformed. */
size_t tu_json_hex(json_t *obj, const char *key, uint8_t *out, size_t outlen);
uint64_t tu_json_hex64(json_t *obj, const char *key); /* "eeae670c40aba387" -> uint64 */

/* Read a whole file (vector or output) into a malloc'd NUL-terminated buffer. */
char *tu_read_file(const char *path, size_t *len);

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); malloc'd path. */
char *tu_tempdir(void);

#endif

/* meshmsg_testutil.h - the mesh message suites' shared fixtures: one valid
 * message of each kind (check_meshmsg.c, check_meshmsg_check.c and
 * check_meshmsg_builders.c break, encode and compare them), and packing or
 * decoding without the validation rules, as a hostile or buggy peer would.
 * Every helper fails the running Check test on error; returned messages are
 * the caller's to owm_msg_free. */
#ifndef OWMESH_TESTS_MESHMSG_TESTUTIL_H
#define OWMESH_TESTS_MESHMSG_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "meshmsg.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Two valid Z85 CURVE public keys (40 characters). */
extern const char KEY_A[];
extern const char KEY_B[];

/* Sets a string field of a message (NULL: ""). */
void set(char **field, const char *value);

/* One valid message of each kind. */
typedef owm_msg *(*maker_fn)(void);
owm_msg *new_kind(owm_msg_kind kind);
owm_msg *make_hello(void);
owm_msg *make_schedule(void);
owm_msg *make_schedule_ack(void);
owm_msg *make_status(void);
owm_msg *make_error(void);
owm_msg *make_status_request(void);
owm_msg *make_status_reply(void);
owm_msg *make_directory(void);
owm_msg *make_file_list_request(void);
owm_msg *make_file_list(void);
owm_msg *make_peer_health(void);
owm_msg *make_file_fetch(void);
owm_msg *make_file_chunk(void);
owm_msg *make_file_credit(void);
owm_msg *make_file_ack(void);
owm_msg *make_directory_request(void);

/* Packs without validation; the bytes are the caller's to free. */
uint8_t *raw_pack(const owm_msg *env, size_t *len);

/* Decodes what raw_pack gives: the status of owm_msg_decode (asserting that
 * a refused message leaves no result). */
owp_status decode_raw(const owm_msg *env, owm_error_code *why, owp_err *e);

#endif

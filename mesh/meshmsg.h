/*
 * meshmsg.h - the mesh plane's messages: encode, decode, validate, build.
 *
 * The messages are defined in proto/mesh.proto (read its header for the
 * protocol: versioning, stream assignment, the data plane). meshtypes.h
 * declares them as the mesh library's own C types (owm_msg, the envelope, and
 * owm_msg_hello, owm_msg_schedule, ...), which are what the rest of owmesh
 * uses; protoc-c compiles the .proto into proto/mesh.pb-c.[ch] at build time,
 * and only the codec (meshmsg_codec.c) sees those generated structs. This
 * module is the only way the rest of owmesh should turn bytes into messages
 * and back:
 *
 *  - every message travels in one envelope (owm_msg) carrying the protocol
 *    version; decoding refuses another major version with "peer speaks mesh
 *    protocol version N, we speak M", read from the raw bytes before anything
 *    else so that even a message of a future layout gets that answer;
 *  - decoding rejects input over OWM_MSG_MAX_SIZE before unpacking, then
 *    validates every field the receiver relies on (proto3 has no required
 *    fields): names, ranges, sizes, uniqueness; encoding validates the same
 *    way so that we never send what a peer would reject;
 *  - fields this version does not know (from a newer minor version) are
 *    dropped while decoding: we never relay them;
 *  - errors are owp_status + owp_err naming the message and field, e.g.
 *    "Schedule.streams[2].params.sub_session_count: 7 does not divide count 600".
 *
 * Ownership: every owm_msg this module returns (decoded, or built by
 * owm_msg_new*) lives on the heap, every string and sub-message in it is its
 * own allocation, and it is freed, whole, with owm_msg_free(). The
 * owm_msg_*_add_* and owm_msg_set_* helpers keep that true while a caller
 * fills a message; a caller that sets fields by hand must do the same (or
 * build on the stack and only encode, never owm_msg_free, that envelope).
 * Pointers into a decoded envelope (strings, streams) are valid until it is
 * freed.
 *
 * Sockets: one ZeroMQ frame carries one encoded envelope. A ROUTER receives
 * [identity][envelope]: pop the identity first, then decode the rest.
 *
 * Files: meshmsg_check.c holds the rules (validation), meshmsg_codec.c the
 * bytes (version peek, decode, encode: the conversion to and from protobuf),
 * meshmsg_types.c the field-by-field description of the types that copying,
 * freeing and the codec walk, meshmsg.c the builders and names.
 */
#ifndef OWM_MESHMSG_H
#define OWM_MESHMSG_H

#include <stddef.h>
#include <stdint.h>

#include <czmq.h>

#include "error.h"
#include "meshtypes.h"

/* Protocol version. MAJOR: peers with another one cannot talk. MINOR: compatible
 * additions (new fields, new messages); informational. */
#define OWM_MSG_VERSION 1
#define OWM_MSG_VERSION_MINOR 4

/* Limits checked on decode and encode. */
#define OWM_MSG_MAX_SIZE (4u * 1024u * 1024u) /* encoded envelope, bytes */
#define OWM_MSG_MAX_CHUNK (1024u * 1024u)     /* FileChunk.data, FileFetch.chunk_size */
#define OWM_MSG_MAX_CREDIT 4096u              /* chunks granted at once */
#define OWM_MSG_MAX_ITEMS 65536u              /* elements of any repeated field */
#define OWM_MSG_MAX_NAME 64u                  /* node names (tokens) */
#define OWM_MSG_MAX_ID 128u                   /* stream ids, file names (tokens) */
#define OWM_MSG_MAX_ADDRESS 300u              /* host:port, ZeroMQ endpoints */
#define OWM_MSG_MAX_VERSION_TEXT 128u         /* Hello.software_version */
#define OWM_MSG_MAX_TEXT 1024u                /* error texts */
#define OWM_MSG_DIGEST_HEX 32u                /* FileEntry.digest: lowercase hex digits */
#define OWM_MSG_MAX_IDENTITY 80u              /* KeyID (OWP_KEYID_LEN) */
#define OWM_MSG_MAX_PADDING 65535u            /* bytes of test packet padding */
#define OWM_MSG_MAX_SECONDS 1e6               /* interval, loss timeout, bucket width */
#define OWM_MSG_MIN_HEARTBEAT 0.05            /* DirectoryRequest.heartbeat, seconds */
#define OWM_MSG_MAX_HEARTBEAT 86400.0

/* ---------------------------------------------------------------- encode / decode */

/* Serialize after validating (a failure is OWP_ERR_INVALID: the caller built a
 * bad message). *buf is malloc'd; the caller frees it. */
owp_status owm_msg_encode(const owm_msg *env, uint8_t **buf, size_t *len, owp_err *err);

/* Decode and validate. On success *out is a new envelope (owm_msg_free); on
 * failure *out is NULL and, if why is non-NULL, *why is the ErrorCode to
 * answer the peer with (ERROR_VERSION, ERROR_MALFORMED or
 * ERROR_UNKNOWN_MESSAGE). Failures: OWP_ERR_FORMAT for bytes that are not a
 * message (truncated, garbage, larger than OWM_MSG_MAX_SIZE), OWP_ERR_PROTO
 * for another major version, an unknown or empty body, or a field that fails
 * validation. */
owp_status owm_msg_decode(const void *buf, size_t len, owm_msg **out,
                          owm_error_code *why, owp_err *err);

/* The protocol version of encoded bytes, read without unpacking (field 1 of
 * the envelope; the last occurrence wins, as protobuf says). *version and
 * *minor are 0 when absent. OWP_ERR_FORMAT when the bytes are not a sequence of
 * protobuf fields. */
owp_status owm_msg_peek_version(const void *buf, size_t len, uint64_t *version, uint64_t *minor,
                                owp_err *err);

/* The size in bytes of msg's encoding, without validating it (to refuse a
 * message too large before sending it); 0 with OWP_ERR_NOMEM or, for an
 * envelope without a body, OWP_ERR_INVALID. */
size_t owm_msg_encoded_size(const owm_msg *msg, owp_err *err);

/* The same over czmq: a frame holding the encoded envelope (caller destroys
 * it), a one-frame zmsg (for zmsg_prepend of a ROUTER identity). */
zframe_t *owm_msg_encode_frame(const owm_msg *env, owp_err *err);
zmsg_t *owm_msg_encode_zmsg(const owm_msg *env, owp_err *err);
owp_status owm_msg_decode_frame(const zframe_t *frame, owm_msg **out,
                                owm_error_code *why, owp_err *err);
/* msg must hold exactly one frame (identity already popped); it is left
 * untouched, the caller destroys it. */
owp_status owm_msg_decode_zmsg(const zmsg_t *msg, owm_msg **out, owm_error_code *why,
                               owp_err *err);

/* Free an envelope from owm_msg_decode* or owm_msg_new*; sets *env_p to NULL;
 * accepts NULL. */
void owm_msg_free(owm_msg **env_p);

/* ---------------------------------------------------------------- validation */

/* Check a whole envelope: our major version, a known body, and the body's
 * rules (OWP_ERR_PROTO naming message and field). Called by decode and encode. */
owp_status owm_msg_validate(const owm_msg *env, owp_err *err);

/* The body rules alone, one entry point per message (OWP_ERR_PROTO). */
owp_status owm_msg_validate_hello(const owm_msg_hello *m, owp_err *err);
owp_status owm_msg_validate_schedule(const owm_msg_schedule *m, owp_err *err);
owp_status owm_msg_validate_schedule_ack(const owm_msg_schedule_ack *m, owp_err *err);
owp_status owm_msg_validate_status(const owm_msg_status *m, owp_err *err);
owp_status owm_msg_validate_error(const owm_msg_error *m, owp_err *err);
owp_status owm_msg_validate_status_request(const owm_msg_status_request *m, owp_err *err);
owp_status owm_msg_validate_status_reply(const owm_msg_status_reply *m, owp_err *err);
owp_status owm_msg_validate_directory_request(const owm_msg_directory_request *m, owp_err *err);
owp_status owm_msg_validate_directory(const owm_msg_directory *m, owp_err *err);
owp_status owm_msg_validate_file_list_request(const owm_msg_file_list_request *m, owp_err *err);
owp_status owm_msg_validate_file_list(const owm_msg_file_list *m, owp_err *err);
owp_status owm_msg_validate_file_fetch(const owm_msg_file_fetch *m, owp_err *err);
owp_status owm_msg_validate_file_chunk(const owm_msg_file_chunk *m, owp_err *err);
owp_status owm_msg_validate_file_credit(const owm_msg_file_credit *m, owp_err *err);
owp_status owm_msg_validate_file_ack(const owm_msg_file_ack *m, owp_err *err);
owp_status owm_msg_validate_peer_health(const owm_msg_peer_health *m, owp_err *err);

/* Rules shared with other modules (meshconf, node agent), 1 if valid:
 *  - a token (node name, stream id, file name): 1..max bytes of printable
 *    ASCII without space, '/', '\\' or quotes, and not "." or "..", so it is
 *    safe in file names, logs and command lines;
 *  - a text (error messages): at most max bytes, no control characters. */
int owm_msg_token_ok(const char *s, size_t max);
int owm_msg_text_ok(const char *s, size_t max);
/* 1 if s is an endpoint the messages carry: transport://address, at most
 * OWM_MSG_MAX_ADDRESS printable characters without spaces, quotes or '\\'. */
int owm_msg_endpoint_ok(const char *s);
/* 1 if s is a file digest: OWM_MSG_DIGEST_HEX lowercase hex digits. */
int owm_msg_digest_ok(const char *s);

/* ---------------------------------------------------------------- building */

/* Init a stack envelope: zeroed (no body), with our version. */
void owm_msg_init(owm_msg *env);
/* Init a stack envelope around a body of this kind that the caller keeps
 * (read only): encode that envelope, never owm_msg_free it. */
void owm_msg_wrap(owm_msg *env, owm_msg_kind kind, const void *body);

/* A heap envelope with our version and an empty body of this kind; optional
 * sub-messages (Schedule.owamp_server, StreamStatus.health) are left absent.
 * NULL with OWP_ERR_INVALID for NOT_SET or an unknown kind, or OWP_ERR_NOMEM. */
owm_msg *owm_msg_new(owm_msg_kind kind, owp_err *err);

/* Replace a string field of a heap message with a copy of value (NULL = "");
 * frees the previous value. */
owp_status owm_msg_set_string(char **field, const char *value, owp_err *err);
/* Replace a bytes field of a heap message with a copy of data. */
owp_status owm_msg_set_bytes(owm_msg_bytes *field, const void *data, size_t len,
                             owp_err *err);

/* Append a new element (zeroed, strings "") and return it, owned by
 * the parent; NULL with OWP_ERR_NOMEM, or OWP_ERR_INVALID past OWM_MSG_MAX_ITEMS.
 * A Stream comes with its params allocated and set to powstream's defaults
 * (interval 0.1, count 300, loss timeout 10, bucket width 0.0001, dscp -1). */
owm_msg_stream *owm_msg_schedule_add_stream(owm_msg_schedule *m, owp_err *err);
owm_msg_stream_health *owm_msg_status_add_stream(owm_msg_status *m, owp_err *err);
/* A collector (name and Z85 public key copied) appended to a schedule. */
owp_status owm_msg_schedule_add_collector(owm_msg_schedule *m, const char *name,
                                          const char *public_key, owp_err *err);
owp_status owm_msg_status_request_add_node(owm_msg_status_request *m, const char *node,
                                           owp_err *err);
owm_msg_node_status *owm_msg_status_reply_add_node(owm_msg_status_reply *m, owp_err *err);
owm_msg_stream_status *owm_msg_node_status_add_stream(owm_msg_node_status *m, owp_err *err);
owm_msg_directory_entry *owm_msg_directory_add_node(owm_msg_directory *m, owp_err *err);
owp_status owm_msg_directory_request_add_pulling(owm_msg_directory_request *m, const char *node,
                                                 owp_err *err);
owm_msg_file_entry *owm_msg_file_list_add(owm_msg_file_list *m, owp_err *err);
owm_msg_seq_gap *owm_msg_file_list_add_gap(owm_msg_file_list *m, owp_err *err);
owp_status owm_msg_peer_health_add_down(owm_msg_peer_health *m, const char *node, owp_err *err);
owp_status owm_msg_file_ack_add(owm_msg_file_ack *m, uint64_t seq, owp_err *err);

/* Attach (or return the existing) optional sub-message. */
owm_msg_owamp_server *owm_msg_schedule_set_owamp_server(owm_msg_schedule *m, owp_err *err);
owm_msg_stream_health *owm_msg_stream_status_set_health(owm_msg_stream_status *m, owp_err *err);

/* Whole messages in one call (strings copied; NULL strings mean ""). */
owm_msg *owm_msg_new_hello(const char *node, const char *software_version,
                           const char *owamp_address, const char *data_endpoint,
                           uint64_t running_generation, owp_err *err);
owm_msg *owm_msg_new_schedule_ack(uint64_t generation, int accepted, const char *error,
                                  owp_err *err);
/* text is sanitized to a valid Error text: control characters become '?',
 * truncated to OWM_MSG_MAX_TEXT bytes, "" becomes the code's name. So an
 * owp_err message that quotes hostile input can be sent back as is. */
owm_msg *owm_msg_new_error(owm_error_code code, const char *text, owp_err *err);

/* ---------------------------------------------------------------- using */

/* 1 if two streams are the same measurement (id, source, peer, every
 * parameter): a node keeps such a stream running across schedules. */
int owm_msg_stream_equal(const owm_msg_stream *a, const owm_msg_stream *b);

/* A deep copy of a stream (a node keeps its running streams' specs beyond
 * the Schedule that carried them); free it with owm_msg_stream_free. NULL
 * with OWP_ERR_NOMEM. */
owm_msg_stream *owm_msg_stream_copy(const owm_msg_stream *s, owp_err *err);
/* Free a stream from owm_msg_stream_copy; sets *s_p to NULL; accepts NULL. */
void owm_msg_stream_free(owm_msg_stream **s_p);

/* Names for logs and `owmesh status`: "Schedule", "running", "stalled",
 * "ERROR_VERSION"... Never NULL ("unknown" for values out of range). */
const char *owm_msg_kind_name(owm_msg_kind kind);
const char *owm_msg_state_name(owm_stream_state state);
const char *owm_msg_verdict_name(owm_msg_verdict verdict);
const char *owm_msg_error_code_name(owm_error_code code);

#endif

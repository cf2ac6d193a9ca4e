/*
 * meshtypes.h - the mesh plane's messages as plain C types.
 *
 * One struct per message of proto/mesh.proto, with the .proto's field names
 * (read the .proto for each field's meaning and unit) and the .proto's enum
 * values, so that a message reads the same in C as on the wire. These are
 * the types agents, coordinator, collector and CLI work with; the protobuf
 * structs protoc-c generates stay inside the codec (meshmsg_codec.c), which
 * converts between the two (mesh/meshmsg.h: owm_msg_encode/decode).
 *
 * Shapes:
 *  - a string field is a char *, NUL-terminated; NULL reads as "" (a decoded
 *    message and one built with owm_msg_new* / owm_msg_set_string never hold
 *    NULL, a message built on the stack may);
 *  - a repeated field is n_NAME plus NAME, an array of n_NAME pointers (of
 *    strings or sub-messages) or values (FileAck.seqs);
 *  - an optional sub-message (Schedule.owamp_server, StreamStatus.health) is
 *    a pointer, NULL when absent; Stream.params is required (validation);
 *  - the envelope owm_msg carries the version, the kind of its body and a
 *    pointer to the body (the union member named after the kind).
 *
 * Ownership: see meshmsg.h (a heap message is one tree of allocations, freed
 * whole by owm_msg_free; owm_msg_stream_copy / owm_msg_stream_free for a lone stream).
 */
#ifndef OWM_MESHTYPES_H
#define OWM_MESHTYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- enums (wire values) */

typedef enum owm_stream_state {
    OWM_STREAM_STATE_UNSPECIFIED = 0,
    OWM_STREAM_STATE_STARTING = 1,
    OWM_STREAM_STATE_RUNNING = 2,
    OWM_STREAM_STATE_BACKOFF = 3,
    OWM_STREAM_STATE_FAILED = 4,
    OWM_STREAM_STATE_STOPPED = 5
} owm_stream_state;

typedef enum owm_error_code {
    OWM_ERROR_UNSPECIFIED = 0,
    OWM_ERROR_VERSION = 1,
    OWM_ERROR_MALFORMED = 2,
    OWM_ERROR_UNKNOWN_MESSAGE = 3,
    OWM_ERROR_UNEXPECTED = 4,
    OWM_ERROR_UNKNOWN_NODE = 5,
    OWM_ERROR_NOT_REGISTERED = 6,
    OWM_ERROR_REFUSED = 7,
    OWM_ERROR_NOT_FOUND = 8,
    OWM_ERROR_INTERNAL = 9
} owm_error_code;

typedef enum owm_msg_verdict {
    OWM_MSG_VERDICT_UNSPECIFIED = 0,
    OWM_MSG_VERDICT_OK = 1,
    OWM_MSG_VERDICT_STARTING = 2,
    OWM_MSG_VERDICT_PENDING = 3,
    OWM_MSG_VERDICT_MISSING = 4,
    OWM_MSG_VERDICT_STALLED = 5,
    OWM_MSG_VERDICT_FAILING = 6,
    OWM_MSG_VERDICT_UNEXPECTED = 7,
    OWM_MSG_VERDICT_STOPPED = 8,
    OWM_MSG_VERDICT_UNMEASURED = 9
} owm_msg_verdict;

typedef enum owm_file_kind {
    OWM_FILE_KIND_UNSPECIFIED = 0,
    OWM_FILE_KIND_OWP = 1,
    OWM_FILE_KIND_SUM = 2,
    OWM_FILE_KIND_SUBSUM = 3,
    OWM_FILE_KIND_UNMEASURED = 4
} owm_file_kind;

typedef enum owm_gap_reason {
    OWM_GAP_REASON_UNSPECIFIED = 0,
    OWM_GAP_REASON_UNUSED = 1,
    OWM_GAP_REASON_ACKED = 2,
    OWM_GAP_REASON_BUDGET = 3
} owm_gap_reason;

/* The kind of an envelope's body: the body's field number in Envelope. */
typedef enum owm_msg_kind {
    OWM_MSG_NONE = 0,
    OWM_MSG_HELLO = 10,
    OWM_MSG_SCHEDULE = 11,
    OWM_MSG_SCHEDULE_ACK = 12,
    OWM_MSG_STATUS = 13,
    OWM_MSG_ERROR = 14,
    OWM_MSG_PEER_HEALTH = 15,
    OWM_MSG_STATUS_REQUEST = 20,
    OWM_MSG_STATUS_REPLY = 21,
    OWM_MSG_DIRECTORY_REQUEST = 30,
    OWM_MSG_DIRECTORY = 31,
    OWM_MSG_FILE_LIST_REQUEST = 40,
    OWM_MSG_FILE_LIST = 41,
    OWM_MSG_FILE_FETCH = 42,
    OWM_MSG_FILE_CHUNK = 43,
    OWM_MSG_FILE_CREDIT = 44,
    OWM_MSG_FILE_ACK = 45
} owm_msg_kind;

/* ---------------------------------------------------------------- control plane */

typedef struct owm_msg_hello {
    char *node;
    char *software_version;
    char *owamp_address;
    uint64_t running_generation;
    char *data_endpoint;
} owm_msg_hello;

typedef struct owm_msg_owamp_server {
    char *listen;
    uint32_t modes;
    uint32_t test_port_low;
    uint32_t test_port_high;
} owm_msg_owamp_server;

typedef struct owm_msg_stream_params {
    double interval;
    uint32_t count;
    uint32_t padding;
    double loss_timeout;
    double bucket_width;
    uint32_t sub_session_count;
    int32_t dscp;
    uint32_t modes;
    char *identity;
} owm_msg_stream_params;

typedef struct owm_msg_stream {
    char *id;
    char *source;
    char *peer;
    owm_msg_stream_params *params;
} owm_msg_stream;

typedef struct owm_msg_collector {
    char *name;
    char *public_key;
} owm_msg_collector;

typedef struct owm_msg_schedule {
    uint64_t generation;
    char *node;
    size_t n_streams;
    owm_msg_stream **streams;
    owm_msg_owamp_server *owamp_server;
    size_t n_collectors; /* minor version 3 */
    owm_msg_collector **collectors;
    char *data_endpoint; /* minor version 3: the mesh's data-endpoint for the node; "" = none */
} owm_msg_schedule;

typedef struct owm_msg_schedule_ack {
    uint64_t generation;
    bool accepted;
    char *error;
} owm_msg_schedule_ack;

typedef struct owm_msg_stream_health {
    char *id;
    owm_stream_state state;
    uint64_t sessions_completed;
    uint64_t last_session_end;
    char *last_error;
    uint32_t packets_sent;
    uint32_t packets_lost;
    uint64_t files_spooled;
    uint64_t started;
    uint64_t unmeasured_since;
    char *unmeasured_reason;
    uint64_t last_attempt;
} owm_msg_stream_health;

typedef struct owm_msg_status {
    char *node;
    uint64_t generation;
    uint64_t time;
    size_t n_streams;
    owm_msg_stream_health **streams;
    uint64_t spool_bytes;
    uint64_t spool_files;
} owm_msg_status;

typedef struct owm_msg_error {
    owm_error_code code;
    char *text;
} owm_msg_error;

typedef struct owm_msg_peer_health {
    uint64_t time;
    size_t n_down;
    char **down;
} owm_msg_peer_health;

/* ---------------------------------------------------------------- owmesh status <-> coordinator */

typedef struct owm_msg_status_request {
    uint64_t request_id;
    size_t n_nodes;
    char **nodes;
} owm_msg_status_request;

typedef struct owm_msg_stream_status {
    char *id;
    char *source;
    char *destination;
    bool expected;
    owm_msg_stream_health *health;
    owm_msg_verdict verdict;
    char *evidence;
} owm_msg_stream_status;

typedef struct owm_msg_node_status {
    char *node;
    bool connected;
    uint64_t last_seen;
    uint64_t expected_generation;
    uint64_t acked_generation;
    uint64_t running_generation;
    char *software_version;
    char *owamp_address;
    size_t n_streams;
    owm_msg_stream_status **streams;
    char *last_error;
} owm_msg_node_status;

typedef struct owm_msg_status_reply {
    uint64_t request_id;
    uint64_t generation;
    uint64_t time;
    size_t n_nodes;
    owm_msg_node_status **nodes;
} owm_msg_status_reply;

/* ---------------------------------------------------------------- collector <-> coordinator */

typedef struct owm_msg_directory_request { /* fields: minor version 4 */
    char *archive;    /* "" = a store of its own */
    double heartbeat; /* seconds; 0 = not said */
    size_t n_pulling;
    char **pulling;
} owm_msg_directory_request;

typedef struct owm_msg_directory_entry {
    char *node;
    char *address;
    char *data_endpoint;
    char *public_key;
    bool assigned; /* minor version 4 */
} owm_msg_directory_entry;

typedef struct owm_msg_directory {
    uint64_t generation;
    size_t n_nodes;
    owm_msg_directory_entry **nodes;
    bool divided;        /* minor version 4 */
    double next_request; /* seconds; 0 = at the heartbeat */
    char *collector;
} owm_msg_directory;

/* ---------------------------------------------------------------- data plane: collector <-> node */

typedef struct owm_msg_file_list_request {
    uint64_t after_seq;
    uint32_t max_files;
} owm_msg_file_list_request;

typedef struct owm_msg_file_entry {
    uint64_t seq;
    char *stream_id;
    char *name;
    owm_file_kind kind;
    uint64_t size;
    uint64_t start;
    uint64_t end;
    char *digest;
} owm_msg_file_entry;

typedef struct owm_msg_seq_gap {
    uint64_t first;
    uint64_t last;
    owm_gap_reason reason;
    char *stream_id;
    owm_file_kind kind;
    uint64_t start;
    uint64_t end;
} owm_msg_seq_gap;

typedef struct owm_msg_file_list {
    size_t n_files;
    owm_msg_file_entry **files;
    bool more;
    uint64_t through;
    size_t n_gaps;
    owm_msg_seq_gap **gaps;
} owm_msg_file_list;

typedef struct owm_msg_file_fetch {
    uint64_t seq;
    uint64_t offset;
    uint32_t credit;
    uint32_t chunk_size;
} owm_msg_file_fetch;

/* A bytes field: len bytes at data (NULL when len is 0). */
typedef struct owm_msg_bytes {
    size_t len;
    uint8_t *data;
} owm_msg_bytes;

typedef struct owm_msg_file_chunk {
    uint64_t seq;
    uint64_t offset;
    owm_msg_bytes data;
    bool last;
} owm_msg_file_chunk;

typedef struct owm_msg_file_credit {
    uint64_t seq;
    uint32_t credit;
} owm_msg_file_credit;

typedef struct owm_msg_file_ack {
    size_t n_seqs;
    uint64_t *seqs;
} owm_msg_file_ack;

/* ---------------------------------------------------------------- the envelope */

typedef struct owm_msg {
    uint32_t version; /* major protocol version (OWM_MSG_VERSION) */
    uint32_t minor;   /* the sender's OWM_MSG_VERSION_MINOR */
    owm_msg_kind kind;
    union {
        owm_msg_hello *hello;
        owm_msg_schedule *schedule;
        owm_msg_schedule_ack *schedule_ack;
        owm_msg_status *status;
        owm_msg_error *error;
        owm_msg_peer_health *peer_health;
        owm_msg_status_request *status_request;
        owm_msg_status_reply *status_reply;
        owm_msg_directory_request *directory_request;
        owm_msg_directory *directory;
        owm_msg_file_list_request *file_list_request;
        owm_msg_file_list *file_list;
        owm_msg_file_fetch *file_fetch;
        owm_msg_file_chunk *file_chunk;
        owm_msg_file_credit *file_credit;
        owm_msg_file_ack *file_ack;
        void *body;
    };
} owm_msg;

#endif

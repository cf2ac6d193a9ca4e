/*
 * meshmsg_internal.h - what the parts of the mesh message module share
 * (meshmsg.c builders, meshmsg_check.c rules, meshmsg_codec.c bytes,
 * meshmsg_types.c the description of the types). Not for other modules:
 * they use meshmsg.h.
 */
#ifndef OWM_MESHMSG_INTERNAL_H
#define OWM_MESHMSG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "meshtypes.h"

/* The C type of a field of a message of meshtypes.h. */
typedef enum owm_field_type {
    OWM_F_STRING,   /* char * */
    OWM_F_BYTES,    /* owm_msg_bytes */
    OWM_F_U64,      /* uint64_t */
    OWM_F_U32,      /* uint32_t */
    OWM_F_I32,      /* int32_t */
    OWM_F_ENUM,     /* one of meshtypes.h's enums */
    OWM_F_BOOL,     /* bool */
    OWM_F_DOUBLE,   /* double */
    OWM_F_MESSAGE,  /* pointer to a sub-message (NULL = absent) */
    OWM_F_MESSAGES, /* repeated sub-message: size_t count + array of pointers */
    OWM_F_STRINGS,  /* repeated string: size_t count + array of char * */
    OWM_F_U64S      /* repeated uint64: size_t count + array of uint64_t */
} owm_field_type;

struct owm_type_info;

/* One field: its .proto name, its C type and where it lives in the struct. */
typedef struct owm_field_info {
    const char *name;
    owm_field_type type;
    size_t offset;                   /* the value (the array for repeated fields) */
    size_t count_offset;             /* repeated fields: the size_t count */
    const struct owm_type_info *sub; /* OWM_F_MESSAGE(S): the element's type */
} owm_field_info;

/* One message type: its .proto name ("Schedule"), size and fields in
 * .proto order. */
typedef struct owm_type_info {
    const char *name;
    size_t size;
    size_t n_fields;
    const owm_field_info *fields;
} owm_type_info;

/* One description per message of meshtypes.h: owm_type_NAME for owm_msg_NAME. */
extern const owm_type_info owm_type_hello;
extern const owm_type_info owm_type_owamp_server;
extern const owm_type_info owm_type_stream_params;
extern const owm_type_info owm_type_stream;
extern const owm_type_info owm_type_collector;
extern const owm_type_info owm_type_schedule;
extern const owm_type_info owm_type_schedule_ack;
extern const owm_type_info owm_type_stream_health;
extern const owm_type_info owm_type_status;
extern const owm_type_info owm_type_error;
extern const owm_type_info owm_type_peer_health;
extern const owm_type_info owm_type_status_request;
extern const owm_type_info owm_type_stream_status;
extern const owm_type_info owm_type_node_status;
extern const owm_type_info owm_type_status_reply;
extern const owm_type_info owm_type_directory_request;
extern const owm_type_info owm_type_directory_entry;
extern const owm_type_info owm_type_directory;
extern const owm_type_info owm_type_file_list_request;
extern const owm_type_info owm_type_file_entry;
extern const owm_type_info owm_type_seq_gap;
extern const owm_type_info owm_type_file_list;
extern const owm_type_info owm_type_file_fetch;
extern const owm_type_info owm_type_file_chunk;
extern const owm_type_info owm_type_file_credit;
extern const owm_type_info owm_type_file_ack;

/* The type of the body of kind, or NULL for OWM_MSG_NONE and unknown kinds. */
const owm_type_info *owm_msg_body_type(owm_msg_kind kind);

/* A new message of type t: zeroed, every string field an owned "", every
 * sub-message absent. NULL with OWP_ERR_NOMEM. */
void *owm_msg_alloc(const owm_type_info *t, owp_err *err);
/* Free a message of type t, its strings, arrays and sub-messages; accepts NULL. */
void owm_msg_dealloc(const owm_type_info *t, void *m);
/* A deep copy of src (type t); NULL with OWP_ERR_NOMEM. */
void *owm_msg_clone(const owm_type_info *t, const void *src, owp_err *err);

/* Start copying a repeated field of n elements into a destination whose
 * field is zeroed: a new array of n slots, stored at array_at (a pointer to
 * the field's array pointer) with *count_at = n; repeated uint64 values are
 * copied, pointer slots are left NULL for the caller to fill. Nothing for
 * n = 0. OWP_ERR_NOMEM. */
owp_status owm_msg_list_start(owm_field_type type, const void *items, size_t n, void *array_at,
                              size_t *count_at, owp_err *err);

/* Room for one more slot in a repeated field of count elements of slot
 * bytes: the grown array, or NULL (OWP_ERR_INVALID past OWM_MSG_MAX_ITEMS,
 * OWP_ERR_NOMEM); the old array stays valid on failure. */
void *owm_msg_grow(void *array, size_t count, size_t slot, owp_err *err);

/* For tests: encode without validating, as a buggy or hostile peer would
 * (*buf malloc'd, the caller frees it). OWP_ERR_INVALID for an envelope
 * without a body, OWP_ERR_NOMEM. */
owp_status owm_msg_encode_raw(const owm_msg *msg, uint8_t **buf, size_t *len, owp_err *err);

/* "peer speaks mesh protocol version N, we speak M" (OWP_ERR_PROTO). */
owp_status owm_msg_version_error(uint64_t version, owp_err *err);

#endif

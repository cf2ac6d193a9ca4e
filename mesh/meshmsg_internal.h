/*
 * meshmsg_internal.h - what the three parts of the mesh message module
 * (meshmsg.c builders, meshmsg_check.c rules, meshmsg_codec.c bytes) share.
 * Not for other modules: they use meshmsg.h.
 */
#ifndef OWM_MESHMSG_INTERNAL_H
#define OWM_MESHMSG_INTERNAL_H

#include <stdint.h>

#include "error.h"
#include "mesh.pb-c.h"

/* The oneof member of the envelope for kind (a message field), or NULL. */
const ProtobufCFieldDescriptor *owm_msg_body_field(Owmesh__Envelope__BodyCase kind);

/* A message's field by name (NULL when it has none). */
const ProtobufCFieldDescriptor *owm_msg_field_of(const ProtobufCMessage *m, const char *name);
/* A pointer-sized field (a sub-message, a string, a repeated field's array). */
void *owm_msg_pointer_at(const void *m, const ProtobufCFieldDescriptor *f);

/* "peer speaks mesh protocol version N, we speak M" (OWP_ERR_PROTO). */
owp_status owm_msg_version_error(uint64_t version, owp_err *err);

#endif

/* meshmsg_codec.c - mesh messages to and from bytes: the version peek,
 * decode (then validate) and encode (validated first); mesh/meshmsg.h.
 *
 * The one file that sees protoc-c's generated structs (proto/mesh.pb-c.h):
 * a message of meshtypes.h is converted to its protobuf twin to be packed,
 * and an unpacked protobuf message is converted back, field by field as
 * meshmsg_types.c describes them (fields are matched by their .proto names,
 * so the two can never drift apart silently). */
#include "meshmsg.h"
#include "meshmsg_internal.h"

#include <stdlib.h>
#include <string.h>

#include "mesh.pb-c.h"

/* meshtypes.h's enums hold the wire values and are copied as ints. */
_Static_assert(sizeof(owm_file_kind) == sizeof(int) && sizeof(Owmesh__FileKind) == sizeof(int),
               "enums are ints");
_Static_assert((int)OWM_MSG_FILE_ACK == (int)OWMESH__ENVELOPE__BODY_FILE_ACK &&
                   (int)OWM_MSG_PEER_HEALTH == (int)OWMESH__ENVELOPE__BODY_PEER_HEALTH &&
                   (int)OWM_MSG_HELLO == (int)OWMESH__ENVELOPE__BODY_HELLO,
               "a kind is its body's field number");

/* ---------------------------------------------------------------- version peek */

static int read_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= len)
            return 0;
        uint8_t b = p[(*pos)++];
        if (shift == 63 && (b & 0x7e))
            return 0; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

owp_status owm_msg_peek_version(const void *buf, size_t len, uint64_t *version, uint64_t *minor,
                                owp_err *err)
{
    const uint8_t *p = buf;
    uint64_t ver = 0, min = 0;
    size_t pos = 0;
    if (!p && len)
        return owp_err_set(err, OWP_ERR_INVALID, "mesh message: NULL buffer");
    while (pos < len) {
        size_t field_at = pos;
        uint64_t key, value;
        if (!read_varint(p, len, &pos, &key))
            return owp_err_set(err, OWP_ERR_FORMAT, "not a mesh message: bad field key at byte %zu",
                               field_at);
        uint64_t field = key >> 3;
        switch (key & 7) {
        case 0: /* varint */
            if (!read_varint(p, len, &pos, &value))
                return owp_err_set(err, OWP_ERR_FORMAT,
                                   "not a mesh message: truncated varint at byte %zu", field_at);
            if (field == 1)
                ver = value;
            else if (field == 2)
                min = value;
            break;
        case 1: /* 64-bit */
            if (len - pos < 8)
                return owp_err_set(err, OWP_ERR_FORMAT,
                                   "not a mesh message: truncated field at byte %zu", field_at);
            pos += 8;
            break;
        case 2: /* length-delimited */
            if (!read_varint(p, len, &pos, &value) || value > len - pos)
                return owp_err_set(err, OWP_ERR_FORMAT,
                                   "not a mesh message: truncated field at byte %zu", field_at);
            pos += (size_t)value;
            break;
        case 5: /* 32-bit */
            if (len - pos < 4)
                return owp_err_set(err, OWP_ERR_FORMAT,
                                   "not a mesh message: truncated field at byte %zu", field_at);
            pos += 4;
            break;
        default:
            return owp_err_set(err, OWP_ERR_FORMAT,
                               "not a mesh message: wire type %u at byte %zu",
                               (unsigned)(key & 7), field_at);
        }
        if (field == 0)
            return owp_err_set(err, OWP_ERR_FORMAT, "not a mesh message: field 0 at byte %zu",
                               field_at);
    }
    if (version)
        *version = ver;
    if (minor)
        *minor = min;
    return OWP_OK;
}

/* ---------------------------------------------------------------- conversion */

/* A shallow conversion between a message of meshtypes.h (type t) and its
 * protobuf twin (descriptor d): the structs and arrays of pointers are new,
 * strings and bytes are the source's (borrowed). Freed by free_shallow. */
typedef enum side { SIDE_OWM, SIDE_PB } side;

static char empty_string[] = "";

static void *nomem(owp_err *err)
{
    owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
    return NULL;
}

static void *at(const void *m, size_t offset)
{
    return (char *)(uintptr_t)m + offset;
}

static void *value_at(const void *m, side in, const owm_field_info *f,
                      const ProtobufCFieldDescriptor *fd)
{
    return at(m, in == SIDE_PB ? fd->offset : f->offset);
}

static size_t *count_at(const void *m, side in, const owm_field_info *f,
                        const ProtobufCFieldDescriptor *fd)
{
    return at(m, in == SIDE_PB ? fd->quantifier_offset : f->count_offset);
}

static const ProtobufCFieldDescriptor *pb_field(const ProtobufCMessageDescriptor *d,
                                                const owm_field_info *f)
{
    return protobuf_c_message_descriptor_get_field_by_name(d, f->name);
}

static void free_shallow(const owm_type_info *t, const ProtobufCMessageDescriptor *d, void *m,
                         side in)
{
    if (!m)
        return;
    for (size_t i = 0; i < t->n_fields; i++) {
        const owm_field_info *f = &t->fields[i];
        const ProtobufCFieldDescriptor *fd = pb_field(d, f);
        void **value = value_at(m, in, f, fd);
        if (f->type == OWM_F_MESSAGE) {
            free_shallow(f->sub, fd->descriptor, *value, in);
        } else if (f->type == OWM_F_MESSAGES) {
            for (size_t k = 0; *value && k < *count_at(m, in, f, fd); k++)
                free_shallow(f->sub, fd->descriptor, ((void **)*value)[k], in);
            free(*value);
        } else if (f->type == OWM_F_STRINGS || f->type == OWM_F_U64S) {
            free(*value);
        }
    }
    free(m);
}

static void *convert(const owm_type_info *t, const ProtobufCMessageDescriptor *d,
                     const void *src, side to, owp_err *err);

static void copy_bytes(void *to_field, const void *from_field, side to)
{
    ProtobufCBinaryData pb;
    owm_msg_bytes owm;
    if (to == SIDE_PB) {
        memcpy(&owm, from_field, sizeof owm);
        pb.len = owm.len;
        pb.data = owm.data;
        memcpy(to_field, &pb, sizeof pb);
    } else {
        memcpy(&pb, from_field, sizeof pb);
        owm.len = pb.len;
        owm.data = pb.data;
        memcpy(to_field, &owm, sizeof owm);
    }
}

static void copy_bool(void *to_field, const void *from_field, side to)
{
    if (to == SIDE_PB) {
        protobuf_c_boolean v = *(const bool *)from_field;
        memcpy(to_field, &v, sizeof v);
    } else {
        bool v = *(const protobuf_c_boolean *)from_field != 0;
        memcpy(to_field, &v, sizeof v);
    }
}

/* A repeated field: a new array of the source's elements (converted). */
static owp_status copy_list(const owm_field_info *f, const ProtobufCFieldDescriptor *fd,
                            void *dst, const void *src, side to, owp_err *err)
{
    side from = to == SIDE_PB ? SIDE_OWM : SIDE_PB;
    size_t n = *count_at(src, from, f, fd);
    void *const *items = *(void *const *)value_at(src, from, f, fd);
    void **out = value_at(dst, to, f, fd);
    owp_status st = owm_msg_list_start(f->type, items, n, out, count_at(dst, to, f, fd), err);
    for (size_t i = 0; st == OWP_OK && f->type != OWM_F_U64S && i < n; i++) {
        void **slot = &((void **)*out)[i];
        if (f->type == OWM_F_STRINGS)
            *slot = items[i] ? items[i] : empty_string;
        else if (items[i] && !(*slot = convert(f->sub, fd->descriptor, items[i], to, err)))
            st = OWP_ERR_NOMEM;
    }
    return st;
}

static owp_status copy_field(const owm_field_info *f, const ProtobufCFieldDescriptor *fd,
                             void *dst, const void *src, side to, owp_err *err)
{
    void *to_field = value_at(dst, to, f, fd);
    const void *from_field = value_at(src, to == SIDE_PB ? SIDE_OWM : SIDE_PB, f, fd);
    void *p;
    switch (f->type) {
    case OWM_F_STRING:
        memcpy(&p, from_field, sizeof p);
        if (!p)
            p = empty_string;
        memcpy(to_field, &p, sizeof p);
        return OWP_OK;
    case OWM_F_MESSAGE:
        memcpy(&p, from_field, sizeof p);
        if (p && !(p = convert(f->sub, fd->descriptor, p, to, err)))
            return OWP_ERR_NOMEM;
        memcpy(to_field, &p, sizeof p);
        return OWP_OK;
    case OWM_F_MESSAGES:
    case OWM_F_STRINGS:
    case OWM_F_U64S: return copy_list(f, fd, dst, src, to, err);
    case OWM_F_BYTES: copy_bytes(to_field, from_field, to); return OWP_OK;
    case OWM_F_BOOL: copy_bool(to_field, from_field, to); return OWP_OK;
    case OWM_F_U64:
    case OWM_F_DOUBLE: memcpy(to_field, from_field, 8); return OWP_OK;
    case OWM_F_U32:
    case OWM_F_I32:
    case OWM_F_ENUM: memcpy(to_field, from_field, 4); return OWP_OK;
    }
    return OWP_OK;
}

static void *convert(const owm_type_info *t, const ProtobufCMessageDescriptor *d,
                     const void *src, side to, owp_err *err)
{
    void *dst = calloc(1, to == SIDE_PB ? d->sizeof_message : t->size);
    if (!dst)
        return nomem(err);
    if (to == SIDE_PB)
        protobuf_c_message_init(d, dst);
    for (size_t i = 0; i < t->n_fields; i++) {
        if (copy_field(&t->fields[i], pb_field(d, &t->fields[i]), dst, src, to, err) != OWP_OK) {
            free_shallow(t, d, dst, to);
            return NULL;
        }
    }
    return dst;
}

/* The envelope's body field for kind (a message field of the oneof), or NULL. */
static const ProtobufCFieldDescriptor *body_field(owm_msg_kind kind)
{
    if (!owm_msg_body_type(kind))
        return NULL;
    return protobuf_c_message_descriptor_get_field(&owmesh__envelope__descriptor, (unsigned)kind);
}

static void *body_of(const Owmesh__Envelope *env, const ProtobufCFieldDescriptor *fd)
{
    void *body;
    memcpy(&body, at(env, fd->offset), sizeof body);
    return body;
}

/* ---------------------------------------------------------------- decode */

/* A new owm_msg holding a deep copy of env's body; fields this version does
 * not know are left behind (we never relay them). */
static owp_status from_wire(const Owmesh__Envelope *env, owm_msg **out, owp_err *err)
{
    owm_msg_kind kind = (owm_msg_kind)env->body_case;
    const ProtobufCFieldDescriptor *fd = body_field(kind);
    const owm_type_info *t = owm_msg_body_type(kind);
    if (!fd || !body_of(env, fd))
        return owp_err_set(err, OWP_ERR_PROTO, "mesh message without a body");
    void *shallow = convert(t, fd->descriptor, body_of(env, fd), SIDE_OWM, err);
    if (!shallow)
        return OWP_ERR_NOMEM;
    owm_msg *m = malloc(sizeof *m);
    void *body = m ? owm_msg_clone(t, shallow, err) : nomem(err);
    free_shallow(t, fd->descriptor, shallow, SIDE_OWM);
    if (!body) {
        free(m);
        return OWP_ERR_NOMEM;
    }
    m->version = env->version;
    m->minor = env->minor;
    m->kind = kind;
    m->body = body;
    *out = m;
    return OWP_OK;
}

static void set_why(owm_error_code *why, owm_error_code code)
{
    if (why)
        *why = code;
}

owp_status owm_msg_decode(const void *buf, size_t len, owm_msg **out,
                          owm_error_code *why, owp_err *err)
{
    if (!out)
        return owp_err_set(err, OWP_ERR_INVALID, "owm_msg_decode: NULL out");
    *out = NULL;
    set_why(why, OWM_ERROR_MALFORMED);
    if (len > OWM_MSG_MAX_SIZE)
        return owp_err_set(err, OWP_ERR_FORMAT,
                           "mesh message of %zu bytes exceeds the limit of %u bytes", len,
                           OWM_MSG_MAX_SIZE);
    if (len == 0)
        return owp_err_set(err, OWP_ERR_FORMAT, "empty mesh message");
    uint64_t version, minor;
    owp_status st = owm_msg_peek_version(buf, len, &version, &minor, err);
    if (st != OWP_OK)
        return st;
    if (version != OWM_MSG_VERSION) {
        set_why(why, OWM_ERROR_VERSION);
        return owm_msg_version_error(version, err);
    }
    Owmesh__Envelope *env = owmesh__envelope__unpack(NULL, len, buf);
    if (!env)
        return owp_err_set(err, OWP_ERR_FORMAT, "malformed mesh message (%zu bytes)", len);
    if (env->body_case == OWMESH__ENVELOPE__BODY__NOT_SET) {
        if (env->base.n_unknown_fields > 0) {
            set_why(why, OWM_ERROR_UNKNOWN_MESSAGE);
            st = owp_err_set(err, OWP_ERR_PROTO, "mesh message of a kind this peer does not know "
                             "(peer minor version %llu, ours %d)", (unsigned long long)minor, OWM_MSG_VERSION_MINOR);
        } else {
            st = owp_err_set(err, OWP_ERR_PROTO, "mesh message without a body");
        }
    } else {
        st = from_wire(env, out, err);
        if (st == OWP_OK && (st = owm_msg_validate(*out, err)) != OWP_OK)
            owm_msg_free(out);
    }
    owmesh__envelope__free_unpacked(env, NULL);
    return st;
}

owp_status owm_msg_decode_frame(const zframe_t *frame, owm_msg **out,
                                owm_error_code *why, owp_err *err)
{
    if (!frame) {
        if (out)
            *out = NULL;
        set_why(why, OWM_ERROR_MALFORMED);
        return owp_err_set(err, OWP_ERR_INVALID, "owm_msg_decode_frame: NULL frame");
    }
    /* czmq's accessors take non-const frames but do not modify them. */
    zframe_t *f = (zframe_t *)frame;
    return owm_msg_decode(zframe_data(f), zframe_size(f), out, why, err);
}

owp_status owm_msg_decode_zmsg(const zmsg_t *msg, owm_msg **out, owm_error_code *why,
                               owp_err *err)
{
    zmsg_t *m = (zmsg_t *)msg;
    if (out)
        *out = NULL;
    set_why(why, OWM_ERROR_MALFORMED);
    if (!m)
        return owp_err_set(err, OWP_ERR_INVALID, "owm_msg_decode_zmsg: NULL message");
    if (zmsg_size(m) != 1)
        return owp_err_set(err, OWP_ERR_FORMAT, "mesh message of %zu frames (expected one)",
                           zmsg_size(m));
    return owm_msg_decode_frame(zmsg_first(m), out, why, err);
}

/* ---------------------------------------------------------------- encode */

/* Convert msg to its protobuf twin (free with wire_free). */
static owp_status wire_of(const owm_msg *msg, Owmesh__Envelope *wire, owp_err *err)
{
    owmesh__envelope__init(wire);
    const ProtobufCFieldDescriptor *fd = body_field(msg->kind);
    if (!fd || !msg->body)
        return owp_err_set(err, OWP_ERR_INVALID, "mesh message: no body");
    void *body = convert(owm_msg_body_type(msg->kind), fd->descriptor, msg->body, SIDE_PB, err);
    if (!body)
        return OWP_ERR_NOMEM;
    wire->version = msg->version;
    wire->minor = msg->minor;
    wire->body_case = (Owmesh__Envelope__BodyCase)msg->kind;
    memcpy(at(wire, fd->offset), &body, sizeof body);
    return OWP_OK;
}

/* Validate and convert (free *wire with wire_free); INVALID (the caller built
 * it) rather than PROTO. */
static owp_status to_wire(const owm_msg *msg, Owmesh__Envelope *wire, size_t *size, owp_err *err)
{
    owmesh__envelope__init(wire);
    owp_status st = owm_msg_validate(msg, err);
    if (st != OWP_OK) {
        if (err && st == OWP_ERR_PROTO)
            err->code = OWP_ERR_INVALID;
        return st == OWP_ERR_PROTO ? OWP_ERR_INVALID : st;
    }
    if ((st = wire_of(msg, wire, err)) != OWP_OK)
        return st;
    *size = owmesh__envelope__get_packed_size(wire);
    if (*size > OWM_MSG_MAX_SIZE)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "%s: %zu bytes encoded exceed the limit of %u bytes",
                           owm_msg_kind_name(msg->kind), *size, OWM_MSG_MAX_SIZE);
    return OWP_OK;
}

static void wire_free(Owmesh__Envelope *wire)
{
    owm_msg_kind kind = (owm_msg_kind)wire->body_case;
    const ProtobufCFieldDescriptor *fd = body_field(kind);
    if (fd)
        free_shallow(owm_msg_body_type(kind), fd->descriptor, body_of(wire, fd), SIDE_PB);
}

owp_status owm_msg_encode(const owm_msg *env, uint8_t **buf, size_t *len, owp_err *err)
{
    if (!buf || !len)
        return owp_err_set(err, OWP_ERR_INVALID, "owm_msg_encode: NULL output");
    *buf = NULL;
    *len = 0;
    Owmesh__Envelope wire;
    size_t size;
    owp_status st = to_wire(env, &wire, &size, err);
    uint8_t *b = st == OWP_OK ? malloc(size ? size : 1) : NULL;
    if (st == OWP_OK && !b)
        st = owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
    if (st == OWP_OK) {
        *len = owmesh__envelope__pack(&wire, b);
        *buf = b;
    }
    wire_free(&wire);
    return st;
}

zframe_t *owm_msg_encode_frame(const owm_msg *env, owp_err *err)
{
    Owmesh__Envelope wire;
    size_t size;
    zframe_t *frame = NULL;
    if (to_wire(env, &wire, &size, err) == OWP_OK) {
        frame = zframe_new(NULL, size);
        if (frame)
            owmesh__envelope__pack(&wire, zframe_data(frame));
        else
            owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
    }
    wire_free(&wire);
    return frame;
}

zmsg_t *owm_msg_encode_zmsg(const owm_msg *env, owp_err *err)
{
    zframe_t *frame = owm_msg_encode_frame(env, err);
    if (!frame)
        return NULL;
    zmsg_t *msg = zmsg_new();
    if (!msg || zmsg_append(msg, &frame) != 0) {
        zframe_destroy(&frame);
        zmsg_destroy(&msg);
        owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
        return NULL;
    }
    return msg;
}

size_t owm_msg_encoded_size(const owm_msg *msg, owp_err *err)
{
    Owmesh__Envelope wire;
    size_t size = 0;
    if (wire_of(msg, &wire, err) == OWP_OK)
        size = owmesh__envelope__get_packed_size(&wire);
    wire_free(&wire);
    return size;
}

owp_status owm_msg_encode_raw(const owm_msg *msg, uint8_t **buf, size_t *len, owp_err *err)
{
    Owmesh__Envelope wire;
    owp_status st = wire_of(msg, &wire, err);
    *buf = NULL;
    *len = 0;
    if (st == OWP_OK) {
        size_t size = owmesh__envelope__get_packed_size(&wire);
        if ((*buf = malloc(size ? size : 1)))
            *len = owmesh__envelope__pack(&wire, *buf);
        else
            st = owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
    }
    wire_free(&wire);
    return st;
}

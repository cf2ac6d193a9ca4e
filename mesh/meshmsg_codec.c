/* meshmsg_codec.c - mesh messages to and from bytes: the version peek,
 * decode (then validate) and encode (validated first); mesh/meshmsg.h. */
#include "meshmsg.h"
#include "meshmsg_internal.h"

#include <stdlib.h>
#include <string.h>

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

/* ---------------------------------------------------------------- decode */

/* Forget the fields this version does not know, in m and every sub-message:
 * we never relay them, and protobuf-c keeps some that it would not accept
 * again once packed (an over-long key of field 0), so a decoded message must
 * re-encode to bytes that decode. The schema has no recursion, so the depth
 * is bounded by it. */
static void drop_unknown_fields(ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        free(m->unknown_fields[i].data);
    free(m->unknown_fields);
    m->unknown_fields = NULL;
    m->n_unknown_fields = 0;
    const ProtobufCMessageDescriptor *desc = m->descriptor;
    for (unsigned f = 0; f < desc->n_fields; f++) {
        const ProtobufCFieldDescriptor *fd = &desc->fields[f];
        if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *at = (const char *)m + fd->offset;
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
            *(const uint32_t *)((const char *)m + fd->quantifier_offset) != fd->id)
            continue;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + fd->quantifier_offset);
            ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)at;
            for (size_t i = 0; i < n; i++)
                if (items[i])
                    drop_unknown_fields(items[i]);
        } else {
            ProtobufCMessage *sub = *(ProtobufCMessage *const *)at;
            if (sub)
                drop_unknown_fields(sub);
        }
    }
}

static void set_why(Owmesh__ErrorCode *why, Owmesh__ErrorCode code)
{
    if (why)
        *why = code;
}

owp_status owm_msg_decode(const void *buf, size_t len, Owmesh__Envelope **out,
                          Owmesh__ErrorCode *why, owp_err *err)
{
    if (!out)
        return owp_err_set(err, OWP_ERR_INVALID, "owm_msg_decode: NULL out");
    *out = NULL;
    set_why(why, OWMESH__ERROR_CODE__ERROR_MALFORMED);
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
        set_why(why, OWMESH__ERROR_CODE__ERROR_VERSION);
        return owm_msg_version_error(version, err);
    }
    Owmesh__Envelope *env = owmesh__envelope__unpack(NULL, len, buf);
    if (!env)
        return owp_err_set(err, OWP_ERR_FORMAT, "malformed mesh message (%zu bytes)", len);
    if (env->body_case == OWMESH__ENVELOPE__BODY__NOT_SET) {
        if (env->base.n_unknown_fields > 0) {
            set_why(why, OWMESH__ERROR_CODE__ERROR_UNKNOWN_MESSAGE);
            st = owp_err_set(err, OWP_ERR_PROTO, "mesh message of a kind this peer does not know "
                             "(peer minor version %llu, ours %d)", (unsigned long long)minor, OWM_MSG_VERSION_MINOR);
        } else {
            st = owp_err_set(err, OWP_ERR_PROTO, "mesh message without a body");
        }
    } else {
        drop_unknown_fields(&env->base);
        st = owm_msg_validate(env, err);
    }
    if (st != OWP_OK) {
        owmesh__envelope__free_unpacked(env, NULL);
        return st;
    }
    *out = env;
    return OWP_OK;
}

owp_status owm_msg_decode_frame(const zframe_t *frame, Owmesh__Envelope **out,
                                Owmesh__ErrorCode *why, owp_err *err)
{
    if (!frame) {
        if (out)
            *out = NULL;
        set_why(why, OWMESH__ERROR_CODE__ERROR_MALFORMED);
        return owp_err_set(err, OWP_ERR_INVALID, "owm_msg_decode_frame: NULL frame");
    }
    /* czmq's accessors take non-const frames but do not modify them. */
    zframe_t *f = (zframe_t *)frame;
    return owm_msg_decode(zframe_data(f), zframe_size(f), out, why, err);
}

owp_status owm_msg_decode_zmsg(const zmsg_t *msg, Owmesh__Envelope **out, Owmesh__ErrorCode *why,
                               owp_err *err)
{
    zmsg_t *m = (zmsg_t *)msg;
    if (out)
        *out = NULL;
    set_why(why, OWMESH__ERROR_CODE__ERROR_MALFORMED);
    if (!m)
        return owp_err_set(err, OWP_ERR_INVALID, "owm_msg_decode_zmsg: NULL message");
    if (zmsg_size(m) != 1)
        return owp_err_set(err, OWP_ERR_FORMAT, "mesh message of %zu frames (expected one)",
                           zmsg_size(m));
    return owm_msg_decode_frame(zmsg_first(m), out, why, err);
}

void owm_msg_free(Owmesh__Envelope **env_p)
{
    if (env_p && *env_p) {
        owmesh__envelope__free_unpacked(*env_p, NULL);
        *env_p = NULL;
    }
}

/* ---------------------------------------------------------------- encode */

/* Validate and size; INVALID (the caller built it) rather than PROTO. */
static owp_status encodable(const Owmesh__Envelope *env, size_t *size, owp_err *err)
{
    owp_status st = owm_msg_validate(env, err);
    if (st != OWP_OK) {
        if (err && st == OWP_ERR_PROTO)
            err->code = OWP_ERR_INVALID;
        return st == OWP_ERR_PROTO ? OWP_ERR_INVALID : st;
    }
    *size = owmesh__envelope__get_packed_size(env);
    if (*size > OWM_MSG_MAX_SIZE)
        return owp_err_set(err, OWP_ERR_INVALID,
                           "%s: %zu bytes encoded exceed the limit of %u bytes",
                           owm_msg_kind_name(env->body_case), *size, OWM_MSG_MAX_SIZE);
    return OWP_OK;
}

owp_status owm_msg_encode(const Owmesh__Envelope *env, uint8_t **buf, size_t *len, owp_err *err)
{
    if (!buf || !len)
        return owp_err_set(err, OWP_ERR_INVALID, "owm_msg_encode: NULL output");
    *buf = NULL;
    *len = 0;
    size_t size;
    owp_status st = encodable(env, &size, err);
    if (st != OWP_OK)
        return st;
    uint8_t *b = malloc(size ? size : 1);
    if (!b)
        return owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
    *len = owmesh__envelope__pack(env, b);
    *buf = b;
    return OWP_OK;
}

zframe_t *owm_msg_encode_frame(const Owmesh__Envelope *env, owp_err *err)
{
    size_t size;
    if (encodable(env, &size, err) != OWP_OK)
        return NULL;
    zframe_t *frame = zframe_new(NULL, size);
    if (!frame) {
        owp_err_set(err, OWP_ERR_NOMEM, "mesh message: out of memory");
        return NULL;
    }
    owmesh__envelope__pack(env, zframe_data(frame));
    return frame;
}

zmsg_t *owm_msg_encode_zmsg(const Owmesh__Envelope *env, owp_err *err)
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

/* zap.c - a ZAP handler for CURVE clients approved by a callback (see zap.h). */
#include "zap.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "curve.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define CURVE_KEY_BYTES 32

struct owm_zap {
    zsock_t *handler;
    owm_zap_allow_fn *allow;
    void *arg;
    owm_zap_log_fn *log;
    void *log_arg;
};

/* The frames of a request in RFC 27 order; any frame may be missing (NULL). */
typedef struct zap_request {
    char *version;
    zframe_t *sequence;
    char *domain;
    char *address;
    zframe_t *identity;
    char *mechanism;
    zframe_t *key; /* CURVE's only credential */
} zap_request;

owm_zap *owm_zap_new(owm_zap_allow_fn *allow, void *arg, owp_err *err)
{
    owm_zap *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "ZAP handler: out of memory");
        return NULL;
    }
    self->allow = allow;
    self->arg = arg;
    self->handler = zsock_new(ZMQ_REP);
    if (!self->handler || zsock_bind(self->handler, ZAP_ENDPOINT) != 0) {
        owp_err_set(err, OWP_ERR_SYS, "ZAP handler: cannot bind %s: %s", ZAP_ENDPOINT,
                    zmq_strerror(zmq_errno()));
        owm_zap_destroy(&self);
    }
    return self;
}

void owm_zap_destroy(owm_zap **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsock_destroy(&(*self_p)->handler);
    free(*self_p);
    *self_p = NULL;
}

void owm_zap_set_log(owm_zap *self, owm_zap_log_fn *log, void *log_arg)
{
    self->log = log;
    self->log_arg = log_arg;
}

zsock_t *owm_zap_socket(owm_zap *self)
{
    return self->handler;
}

static void request_pop(zap_request *r, zmsg_t *msg)
{
    r->version = zmsg_popstr(msg);
    r->sequence = zmsg_pop(msg);
    r->domain = zmsg_popstr(msg);
    r->address = zmsg_popstr(msg);
    r->identity = zmsg_pop(msg);
    r->mechanism = zmsg_popstr(msg);
    r->key = zmsg_pop(msg);
}

static void request_free(zap_request *r)
{
    free(r->version);
    zframe_destroy(&r->sequence);
    free(r->domain);
    free(r->address);
    zframe_destroy(&r->identity);
    free(r->mechanism);
    zframe_destroy(&r->key);
}

/* 1 with the client's key in z85 when r is a well-formed CURVE request. */
static int curve_key(const zap_request *r, char z85[OWM_CURVE_KEY_LEN + 1])
{
    return r->version && strcmp(r->version, "1.0") == 0 && r->mechanism &&
           strcmp(r->mechanism, "CURVE") == 0 && r->key &&
           zframe_size(r->key) == CURVE_KEY_BYTES &&
           zmq_z85_encode(z85, zframe_data(r->key), CURVE_KEY_BYTES) != NULL;
}

/* The reply echoes the request's sequence frame (an empty one if it had none). */
static void reply(zsock_t *sock, zframe_t **sequence, const char *code, const char *text,
                  const char *user_id)
{
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "1.0");
    if (*sequence)
        zmsg_append(m, sequence);
    else
        zmsg_addmem(m, NULL, 0);
    zmsg_addstr(m, code);
    zmsg_addstr(m, text);
    zmsg_addstr(m, user_id);
    zmsg_addmem(m, NULL, 0); /* metadata: none */
    zmsg_send(&m, sock);
}

static void log_not_curve(owm_zap *self, const zap_request *r, const char *address)
{
    if (!self->log)
        return;
    char msg[256];
    snprintf(msg, sizeof msg, "ZAP: refused %s: not a CURVE request (version %s, mechanism %s)",
             address, r->version ? r->version : "none", r->mechanism ? r->mechanism : "none");
    self->log(self->log_arg, LOG_WARNING, msg);
}

int owm_zap_handle(owm_zap *self)
{
    zmsg_t *msg = zmsg_recv(self->handler);
    if (!msg)
        return -1;
    zap_request r;
    request_pop(&r, msg);
    zmsg_destroy(&msg);
    const char *address = r.address ? r.address : "?";
    char key[OWM_CURVE_KEY_LEN + 1] = "";
    if (!curve_key(&r, key)) {
        log_not_curve(self, &r, address);
        reply(self->handler, &r.sequence, "400", "CURVE required", "");
    } else if (self->allow(self->arg, key, address)) {
        reply(self->handler, &r.sequence, "200", "OK", key);
    } else {
        reply(self->handler, &r.sequence, "400", "key not accepted", "");
    }
    request_free(&r);
    return 0;
}

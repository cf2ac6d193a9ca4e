/* auth.c - ZAP handler answering from the current mesh (see auth.h). */
#include "auth.h"

#include <string.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

struct owmc_auth {
    zsock_t *handler;
    owmc_auth_allow_fn *allow;
    void *arg;
};

owmc_auth *owmc_auth_new(owmc_auth_allow_fn *allow, void *arg, owp_err *err)
{
    owmc_auth *self = calloc(1, sizeof *self);
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
        owmc_auth_destroy(&self);
    }
    return self;
}

void owmc_auth_destroy(owmc_auth **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsock_destroy(&(*self_p)->handler);
    free(*self_p);
    *self_p = NULL;
}

zsock_t *owmc_auth_socket(owmc_auth *self)
{
    return self->handler;
}

static void reply(zsock_t *sock, zframe_t *sequence, const char *code, const char *text,
                  const char *user_id)
{
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "1.0");
    zmsg_append(m, &sequence);
    zmsg_addstr(m, code);
    zmsg_addstr(m, text);
    zmsg_addstr(m, user_id);
    zmsg_addmem(m, NULL, 0); /* metadata: none */
    zmsg_send(&m, sock);
}

int owmc_auth_handle(owmc_auth *self)
{
    zmsg_t *req = zmsg_recv(self->handler);
    if (!req)
        return -1;
    /* version, sequence, domain, address, identity, mechanism, credentials... */
    char *version = zmsg_popstr(req);
    zframe_t *sequence = zmsg_pop(req);
    char *domain = zmsg_popstr(req);
    char *address = zmsg_popstr(req);
    zframe_t *identity = zmsg_pop(req);
    char *mechanism = zmsg_popstr(req);
    zframe_t *key = zmsg_pop(req);
    if (!sequence)
        sequence = zframe_new_empty();
    char z85[OWMC_Z85_KEY_LEN + 1] = "";
    int curve = version && strcmp(version, "1.0") == 0 && mechanism &&
                strcmp(mechanism, "CURVE") == 0 && key && zframe_size(key) == 32 &&
                zmq_z85_encode(z85, zframe_data(key), 32) != NULL;
    if (!curve)
        reply(self->handler, sequence, "400", "CURVE required", "");
    else if (self->allow(self->arg, z85, address ? address : "?"))
        reply(self->handler, sequence, "200", "OK", z85);
    else
        reply(self->handler, sequence, "400", "key not in the mesh", "");
    free(version);
    free(domain);
    free(address);
    free(mechanism);
    zframe_destroy(&identity);
    zframe_destroy(&key);
    zmsg_destroy(&req);
    return 0;
}

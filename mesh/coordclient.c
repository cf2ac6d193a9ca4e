/* coordclient.c - a client of the coordinator (see coordclient.h). */
#include "coordclient.h"

#include <stdlib.h>
#include <string.h>

#include "curve.h"

struct owm_coordclient {
    zsock_t *dealer;
    char *endpoint;
    int timeout_ms;
};

owm_coordclient *owm_coordclient_new_cert(const char *endpoint, zcert_t *cert,
                                          const char *server_key_z85, int timeout_ms,
                                          owp_err *err)
{
    owm_coordclient *self = calloc(1, sizeof *self);
    if (!self || !(self->endpoint = strdup(endpoint))) {
        free(self);
        owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->timeout_ms = timeout_ms;
    self->dealer = zsock_new(ZMQ_DEALER);
    if (self->dealer) {
        zcert_apply(cert, self->dealer);
        zsock_set_curve_serverkey(self->dealer, server_key_z85);
        zsock_set_linger(self->dealer, 0);
        zsock_set_maxmsgsize(self->dealer, (int64_t)OWM_MSG_MAX_SIZE + 1024);
    }
    if (!self->dealer || zsock_connect(self->dealer, "%s", endpoint) != 0) {
        owp_err_set(err, OWP_ERR_SYS, "%s: cannot connect: %s", endpoint,
                    zmq_strerror(zmq_errno()));
        owm_coordclient_destroy(&self);
    }
    return self;
}

owm_coordclient *owm_coordclient_new(const char *endpoint, const char *cert_path,
                                     const char *server_key, int timeout_ms, owp_err *err)
{
    char key[OWM_CURVE_KEY_LEN + 1];
    zcert_t *cert = owm_curve_load(cert_path, 1, err);
    if (!cert)
        return NULL;
    owm_coordclient *self = NULL;
    if (owm_curve_public_key(server_key ? server_key : cert_path, key, err) == OWP_OK)
        self = owm_coordclient_new_cert(endpoint, cert, key, timeout_ms, err);
    zcert_destroy(&cert);
    return self;
}

void owm_coordclient_destroy(owm_coordclient **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsock_destroy(&(*self_p)->dealer);
    free((*self_p)->endpoint);
    free(*self_p);
    *self_p = NULL;
}

zsock_t *owm_coordclient_socket(owm_coordclient *self)
{
    return self->dealer;
}

double owm_coordclient_timeout(const owm_coordclient *self)
{
    return self->timeout_ms / 1000.0;
}

const char *owm_coordclient_endpoint(const owm_coordclient *self)
{
    return self->endpoint;
}

owp_status owm_coordclient_send(owm_coordclient *self, const owm_msg *request, owp_err *err)
{
    zmsg_t *msg = owm_msg_encode_zmsg(request, err);
    if (!msg)
        return err->code;
    if (zmsg_send(&msg, self->dealer) != 0) {
        zmsg_destroy(&msg);
        return owp_err_set(err, OWP_ERR_SYS, "%s: send: %s", self->endpoint,
                           zmq_strerror(zmq_errno()));
    }
    return OWP_OK;
}

/* What arrived: the reply, or NULL with err (an Error reply, bytes that do
 * not decode). */
static owm_msg *take_reply(owm_coordclient *self, zmsg_t *reply, owm_error_code *peer_code,
                           owp_err *err)
{
    owm_msg *env = NULL;
    owp_status st = reply ? owm_msg_decode_zmsg(reply, &env, NULL, err)
                          : owp_err_set(err, OWP_ERR_INTERRUPTED, "interrupted");
    zmsg_destroy(&reply);
    if (st != OWP_OK) {
        owp_err_prefix(err, "%s: bad answer", self->endpoint);
        return NULL;
    }
    if (env->kind == OWM_MSG_ERROR) {
        if (peer_code)
            *peer_code = env->error->code;
        owp_err_set(err, OWP_ERR_REFUSED, "coordinator: %s: %s",
                    owm_msg_error_code_name(env->error->code), env->error->text);
        owm_msg_free(&env);
    }
    return env;
}

owm_msg *owm_coordclient_receive(owm_coordclient *self, owm_error_code *peer_code,
                                 owp_err *err)
{
    if (peer_code)
        *peer_code = OWM_ERROR_UNSPECIFIED;
    if (!(zsock_events(self->dealer) & ZMQ_POLLIN)) {
        owp_err_set(err, OWP_ERR_TIMEOUT, "%s: no answer yet", self->endpoint);
        return NULL;
    }
    return take_reply(self, zmsg_recv(self->dealer), peer_code, err);
}

owm_msg *owm_coordclient_call(owm_coordclient *self, const owm_msg *request,
                              owm_error_code *peer_code, owp_err *err)
{
    if (peer_code)
        *peer_code = OWM_ERROR_UNSPECIFIED;
    if (owm_coordclient_send(self, request, err) != OWP_OK)
        return NULL;
    zpoller_t *poller = zpoller_new(self->dealer, NULL);
    void *ready = poller ? zpoller_wait(poller, self->timeout_ms) : NULL;
    zpoller_destroy(&poller);
    if (!ready) {
        owp_err_set(err, OWP_ERR_TIMEOUT, "%s: no answer within %.1f s (is the coordinator "
                    "running there, and does its mesh trust this key?)", self->endpoint,
                    self->timeout_ms / 1000.0);
        return NULL;
    }
    return take_reply(self, zmsg_recv(self->dealer), peer_code, err);
}

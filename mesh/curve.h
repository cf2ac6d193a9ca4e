/*
 * curve.h - CURVE keys, once for the whole mesh: the one key-length constant,
 * the one check of Z85 key text, and the one loader of key pairs in czmq's
 * zcert text format, as `owmesh keygen` writes them (NAME holds the public
 * key, NAME_secret both keys). Used by owmesh-coordinator, owmesh-node,
 * owmesh-collector, the owmesh CLI and the mesh definition reader.
 *
 * Every function may be called from any thread; none keeps state.
 */
#ifndef OWM_CURVE_H
#define OWM_CURVE_H

#include <czmq.h>

#include "error.h"

#define OWM_CURVE_KEY_LEN 40 /* Z85 text of a 32-byte CURVE key */

/* 1 when text is a well-formed Z85 CURVE key: OWM_CURVE_KEY_LEN characters
 * of the Z85 alphabet whose 5-character groups each fit in 32 bits (what
 * zmq_z85_decode accepts). 0 for NULL. */
int owm_curve_key_valid(const char *text);

/* Load a key pair. path may name the secret file (NAME_secret) or the public
 * one (then NAME_secret is read for the secret key). NULL with err naming the
 * file when it cannot be read, holds no valid keys, or (need_secret) has no
 * secret key. With need_secret, the file the secret key is read from must be
 * safe: no permission for group or others, owned by this user or root; else
 * OWP_ERR_REFUSED with a message saying how to fix it ("run: chmod 600
 * FILE"). The caller owns the cert (zcert_destroy). */
zcert_t *owm_curve_load(const char *path, int need_secret, owp_err *err);

/* A server's public key from text: OWM_CURVE_KEY_LEN characters of Z85, or
 * the path of a cert file (public or secret). key gets the Z85 text. */
owp_status owm_curve_public_key(const char *text_or_path, char key[OWM_CURVE_KEY_LEN + 1],
                                owp_err *err);

/* Write a new key pair: path (public, mode 0644) and path_secret (mode 0600).
 * Refuses to overwrite an existing file unless force. The public key is
 * copied to key. */
owp_status owm_curve_generate(const char *path, int force, const char *comment,
                              char key[OWM_CURVE_KEY_LEN + 1], owp_err *err);


#endif

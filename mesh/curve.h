/*
 * cert.h - CURVE key pairs in czmq's zcert text format, as `owmesh keygen`
 * writes them: NAME holds the public key, NAME_secret both keys.
 * Shared by owmesh-coordinator and the owmesh CLI.
 */
#ifndef OWMC_CERT_H
#define OWMC_CERT_H

#include <czmq.h>

#include "error.h"

#define OWMC_Z85_KEY_LEN 40

/* Load a key pair. path may name the secret file (NAME_secret) or the public
 * one (then NAME_secret is read for the secret key). NULL with err naming the
 * file when it cannot be read, holds no valid keys, or (need_secret) has no
 * secret key. */
zcert_t *owmc_cert_load(const char *path, int need_secret, owp_err *err);

/* A server's public key from text: 40 characters of Z85, or the path of a
 * cert file (public or secret). key gets the Z85 text. */
owp_status owmc_cert_public_key(const char *text_or_path, char key[OWMC_Z85_KEY_LEN + 1],
                                owp_err *err);

/* Write a new key pair: path (public, mode 0644) and path_secret (mode 0600).
 * Refuses to overwrite an existing file unless force. The public key is
 * copied to key. */
owp_status owmc_cert_generate(const char *path, int force, const char *comment,
                              char key[OWMC_Z85_KEY_LEN + 1], owp_err *err);

#endif

/* curve.c - CURVE keys: Z85 text and zcert-format key pairs (see curve.h). */
#include "curve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char Z85_ALPHABET[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int owm_curve_key_valid(const char *text)
{
    if (!text || strlen(text) != OWM_CURVE_KEY_LEN)
        return 0;
    for (size_t group_at = 0; group_at < OWM_CURVE_KEY_LEN; group_at += 5) {
        uint64_t value = 0;
        for (size_t i = 0; i < 5; i++) {
            const char *pos = strchr(Z85_ALPHABET, text[group_at + i]);
            if (!pos || !*pos)
                return 0;
            value = value * 85 + (uint64_t)(pos - Z85_ALPHABET);
        }
        /* 85^5 exceeds 2^32: a group past 0xFFFFFFFF decodes to nothing. */
        if (value > 0xFFFFFFFFu)
            return 0;
    }
    return 1;
}

/* Copy a Z85 key out of a loaded cert file; 0 when absent or malformed. */
static int read_key(zconfig_t *cfg, const char *name, char key[OWM_CURVE_KEY_LEN + 1])
{
    char *text = zconfig_get(cfg, name, NULL);
    if (!text || !owm_curve_key_valid(text))
        return 0;
    memcpy(key, text, OWM_CURVE_KEY_LEN);
    key[OWM_CURVE_KEY_LEN] = '\0';
    return 1;
}

static zconfig_t *load_config(const char *path, owp_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        owp_err_sys(err, "%s", path);
        return NULL;
    }
    zconfig_t *cfg = zconfig_load(path);
    if (!cfg)
        owp_err_set(err, OWP_ERR_PARSE, "%s: not a certificate file (zcert format)", path);
    return cfg;
}

/* NAME_secret for NAME, or path itself when it already ends so. */
static int secret_path(const char *path, char *buf, size_t len)
{
    size_t n = strlen(path);
    if (n >= 7 && strcmp(path + n - 7, "_secret") == 0)
        return snprintf(buf, len, "%s", path) < (int)len;
    return snprintf(buf, len, "%s_secret", path) < (int)len;
}

/* A secret key file must be ours alone: no access for group or others, and
 * owned by us or root (a file another user owns could be swapped under us).
 * The message says how to fix it, as ssh does for its keys. */
static int secret_file_safe(const char *path, owp_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        owp_err_sys(err, "%s", path);
        return 0;
    }
    if (sb.st_uid != geteuid() && sb.st_uid != 0) {
        owp_err_set(err, OWP_ERR_REFUSED, "%s: secret key file owned by uid %u, not by this user "
                    "(uid %u) or root: refused (chown it to the user that runs this program)",
                    path, (unsigned)sb.st_uid, (unsigned)geteuid());
        return 0;
    }
    if (sb.st_mode & 077) {
        owp_err_set(err, OWP_ERR_REFUSED, "%s: secret key file has mode %04o, open to group or "
                    "others: refused (run: chmod 600 %s)", path, (unsigned)(sb.st_mode & 07777),
                    path);
        return 0;
    }
    return 1;
}

zcert_t *owm_curve_load(const char *path, int need_secret, owp_err *err)
{
    char pub[OWM_CURVE_KEY_LEN + 1], sec[OWM_CURVE_KEY_LEN + 1] = "", only_secret[4096];
    struct stat sb;
    /* NAME gone but NAME_secret there: that file holds the pair (owmesh-node
     * has always accepted this, as czmq's zcert_load does). */
    if (need_secret && stat(path, &sb) != 0 &&
        secret_path(path, only_secret, sizeof only_secret) && stat(only_secret, &sb) == 0)
        path = only_secret;
    zconfig_t *cfg = load_config(path, err);
    if (!cfg)
        return NULL;
    int ok = read_key(cfg, "curve/public-key", pub);
    int have_secret = read_key(cfg, "curve/secret-key", sec);
    zconfig_destroy(&cfg);
    if (!ok) {
        owp_err_set(err, OWP_ERR_PARSE, "%s: curve/public-key: missing or not a 40-character "
                    "Z85 key", path);
        return NULL;
    }
    if (have_secret && need_secret && !secret_file_safe(path, err)) {
        explicit_bzero(sec, sizeof sec);
        return NULL;
    }
    if (!have_secret && need_secret) {
        char spath[4096];
        if (!secret_path(path, spath, sizeof spath) || strcmp(spath, path) == 0 ||
            !(cfg = load_config(spath, err))) {
            if (err && err->code != OWP_ERR_SYS)
                owp_err_set(err, OWP_ERR_PARSE, "%s: no secret key", path);
            return NULL;
        }
        have_secret = read_key(cfg, "curve/secret-key", sec);
        if (have_secret && !secret_file_safe(spath, err)) {
            zconfig_destroy(&cfg);
            explicit_bzero(sec, sizeof sec);
            return NULL;
        }
        char spub[OWM_CURVE_KEY_LEN + 1];
        int match = read_key(cfg, "curve/public-key", spub) && strcmp(spub, pub) == 0;
        zconfig_destroy(&cfg);
        if (!have_secret || !match) {
            owp_err_set(err, OWP_ERR_PARSE, "%s: %s", spath,
                        !have_secret ? "curve/secret-key: missing or not a 40-character Z85 key"
                                     : "its public key differs from the one in the public file");
            return NULL;
        }
    }
    byte pub_bin[32], sec_bin[32] = {0};
    if (!zmq_z85_decode(pub_bin, pub) || (have_secret && !zmq_z85_decode(sec_bin, sec))) {
        owp_err_set(err, OWP_ERR_PARSE, "%s: key is not valid Z85", path);
        return NULL;
    }
    zcert_t *cert = zcert_new_from(pub_bin, sec_bin);
    if (!cert)
        owp_err_set(err, OWP_ERR_NOMEM, "%s: out of memory", path);
    return cert;
}

owp_status owm_curve_public_key(const char *text_or_path, char key[OWM_CURVE_KEY_LEN + 1],
                                owp_err *err)
{
    if (owm_curve_key_valid(text_or_path)) {
        snprintf(key, OWM_CURVE_KEY_LEN + 1, "%s", text_or_path);
        return OWP_OK;
    }
    zcert_t *cert = owm_curve_load(text_or_path, 0, err);
    if (!cert)
        return err ? err->code : OWP_ERR_PARSE;
    snprintf(key, OWM_CURVE_KEY_LEN + 1, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return OWP_OK;
}

static owp_status write_cert(const char *path, int force, mode_t mode, const char *comment,
                             const char *pub, const char *sec, owp_err *err)
{
    int flags = O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, mode);
    if (fd < 0)
        return owp_err_sys(err, "%s", path);
    if (fchmod(fd, mode) != 0) {
        close(fd);
        return owp_err_sys(err, "%s: chmod", path);
    }
    FILE *fp = fdopen(fd, "w");
    if (!fp) {
        close(fd);
        return owp_err_sys(err, "%s", path);
    }
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", localtime(&now));
    fprintf(fp, "#   ****  Generated on %s by owmesh keygen  ****\n", date);
    if (sec) {
        fprintf(fp, "#   ZeroMQ CURVE **Secret** Certificate\n"
                    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n");
    } else {
        fprintf(fp, "#   ZeroMQ CURVE Public Certificate\n"
                    "#   Exchange securely, or use a secure mechanism to verify the contents\n"
                    "#   of this file after exchange. Store public certificates in your home\n"
                    "#   directory, in the .curve subdirectory.\n");
    }
    fprintf(fp, "\nmetadata\n");
    if (comment && comment[0])
        fprintf(fp, "    comment = \"%s\"\n", comment);
    fprintf(fp, "curve\n    public-key = \"%s\"\n", pub);
    if (sec)
        fprintf(fp, "    secret-key = \"%s\"\n", sec);
    if (fclose(fp) != 0)
        return owp_err_sys(err, "%s: write", path);
    return OWP_OK;
}

owp_status owm_curve_generate(const char *path, int force, const char *comment,
                              char key[OWM_CURVE_KEY_LEN + 1], owp_err *err)
{
    char pub[OWM_CURVE_KEY_LEN + 1], sec[OWM_CURVE_KEY_LEN + 1], spath[4096];
    if (snprintf(spath, sizeof spath, "%s_secret", path) >= (int)sizeof spath)
        return owp_err_set(err, OWP_ERR_INVALID, "%s: path too long", path);
    if (comment && (strchr(comment, '"') || strchr(comment, '\n')))
        return owp_err_set(err, OWP_ERR_INVALID, "comment: must not hold quotes or newlines");
    if (zmq_curve_keypair(pub, sec) != 0)
        return owp_err_set(err, OWP_ERR_CRYPTO, "zmq_curve_keypair: %s (libzmq without CURVE?)",
                           zmq_strerror(errno));
    struct stat sb;
    if (!force && (stat(path, &sb) == 0 || stat(spath, &sb) == 0))
        return owp_err_set(err, OWP_ERR_INVALID, "%s: exists (use -f to overwrite)",
                           stat(path, &sb) == 0 ? path : spath);
    owp_status st = write_cert(spath, force, 0600, comment, pub, sec, err);
    if (st == OWP_OK)
        st = write_cert(path, force, 0644, comment, pub, NULL, err);
    explicit_bzero(sec, sizeof sec);
    if (st == OWP_OK)
        memcpy(key, pub, sizeof pub);
    return st;
}

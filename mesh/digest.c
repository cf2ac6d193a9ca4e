/* digest.c - file checksums for the data plane (see digest.h). */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

typedef int (*feed_fn)(EVP_MD_CTX *ctx, void *arg, owp_err *err);

/* SHA-256 over what feed gives, its first half in hex into out. */
static owp_status digest_with(feed_fn feed, void *arg, owm_digest out, owp_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return owp_err_set(err, OWP_ERR_NOMEM, "digest: out of memory");
    owp_status st = OWP_OK;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        st = owp_err_set(err, OWP_ERR_CRYPTO, "digest: SHA-256 unavailable");
    else if (feed(ctx, arg, err) != 0)
        st = err ? err->code : OWP_ERR_SYS;
    else if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen * 2 < OWM_MSG_DIGEST_HEX)
        st = owp_err_set(err, OWP_ERR_CRYPTO, "digest: SHA-256 failed");
    EVP_MD_CTX_free(ctx);
    if (st != OWP_OK)
        return st;
    for (unsigned i = 0; i < OWM_MSG_DIGEST_HEX / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return OWP_OK;
}

typedef struct buffer {
    const void *data;
    size_t len;
} buffer;

static int feed_buffer(EVP_MD_CTX *ctx, void *arg, owp_err *err)
{
    const buffer *b = arg;
    if (EVP_DigestUpdate(ctx, b->data, b->len) == 1)
        return 0;
    owp_err_set(err, OWP_ERR_CRYPTO, "digest: SHA-256 failed");
    return -1;
}

owp_status owm_digest_buffer(const void *data, size_t len, owm_digest out, owp_err *err)
{
    buffer b = {data, len};
    return digest_with(feed_buffer, &b, out, err);
}

typedef struct file {
    const char *path;
    int fd;
} file;

static int feed_file(EVP_MD_CTX *ctx, void *arg, owp_err *err)
{
    const file *f = arg;
    unsigned char buf[64 * 1024];
    for (;;) {
        ssize_t n = read(f->fd, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            owp_err_sys(err, "digest: read %s", f->path);
            return -1;
        }
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
            owp_err_set(err, OWP_ERR_CRYPTO, "digest: SHA-256 failed");
            return -1;
        }
    }
}

owp_status owm_digest_file(const char *path, owm_digest out, owp_err *err)
{
    file f = {path, open(path, O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0)
        return owp_err_sys(err, "digest: open %s", path);
    owp_status st = digest_with(feed_file, &f, out, err);
    close(f.fd);
    return st;
}

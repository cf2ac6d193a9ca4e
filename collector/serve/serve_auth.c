/*
 * serve_auth.c - the basic-auth file of `owmesh serve --auth FILE`:
 * "user:password" lines, '#' comments and blank lines skipped. It holds
 * passwords, so it is treated as a secret key is (mesh/curve.c): refused
 * when group or others may read or write it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "serve.h"

#define AUTH_MAX_USERS 64
#define AUTH_MAX_LINE 512

typedef struct auth_user {
    char *user, *password;
} auth_user;

struct serve_auth {
    auth_user users[AUTH_MAX_USERS];
    size_t n;
};

void serve_auth_destroy(serve_auth **self_p)
{
    if (!self_p || !*self_p)
        return;
    serve_auth *self = *self_p;
    for (size_t i = 0; i < self->n; i++) {
        free(self->users[i].user);
        /* Passwords do not outlive their use in freed memory. */
        explicit_bzero(self->users[i].password, strlen(self->users[i].password));
        free(self->users[i].password);
    }
    free(self);
    *self_p = NULL;
}

static owp_status check_mode(const char *file, FILE *fp, owp_err *err)
{
    struct stat st;
    if (fstat(fileno(fp), &st) != 0)
        return owp_err_sys(err, "%s", file);
    if (!S_ISREG(st.st_mode))
        return owp_err_set(err, OWP_ERR_INVALID, "%s: not a regular file", file);
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return owp_err_set(err, OWP_ERR_INVALID,
                           "%s: readable or writable by others (mode %03o); it holds passwords: "
                           "chmod 600 %s", file, (unsigned)(st.st_mode & 0777), file);
    return OWP_OK;
}

static owp_status add_line(serve_auth *self, const char *file, int lineno, char *line,
                           owp_err *err)
{
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (!len || line[0] == '#')
        return OWP_OK;
    char *colon = strchr(line, ':');
    if (!colon || colon == line || !colon[1])
        return owp_err_set(err, OWP_ERR_PARSE, "%s:%d: expected user:password", file, lineno);
    *colon = '\0';
    for (size_t i = 0; i < self->n; i++)
        if (!strcmp(self->users[i].user, line))
            return owp_err_set(err, OWP_ERR_PARSE, "%s:%d: user \"%s\" given twice", file,
                               lineno, line);
    if (self->n == AUTH_MAX_USERS)
        return owp_err_set(err, OWP_ERR_PARSE, "%s:%d: more than %d users", file, lineno,
                           AUTH_MAX_USERS);
    auth_user *u = &self->users[self->n];
    u->user = strdup(line);
    u->password = strdup(colon + 1);
    if (!u->user || !u->password) {
        free(u->user);
        free(u->password);
        return owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    }
    self->n++;
    return OWP_OK;
}

serve_auth *serve_auth_load(const char *file, owp_err *err)
{
    FILE *fp = fopen(file, "r");
    if (!fp) {
        owp_err_sys(err, "%s", file);
        return NULL;
    }
    serve_auth *self = calloc(1, sizeof *self);
    owp_status st = self ? check_mode(file, fp, err)
                         : owp_err_set(err, OWP_ERR_NOMEM, "out of memory");
    char line[AUTH_MAX_LINE];
    int lineno = 0;
    while (st == OWP_OK && fgets(line, sizeof line, fp)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(fp))
            st = owp_err_set(err, OWP_ERR_PARSE, "%s:%d: line longer than %d bytes", file,
                             lineno, AUTH_MAX_LINE - 2);
        else
            st = add_line(self, file, lineno, line, err);
    }
    explicit_bzero(line, sizeof line);
    if (st == OWP_OK && ferror(fp))
        st = owp_err_sys(err, "%s", file);
    if (st == OWP_OK && self->n == 0)
        st = owp_err_set(err, OWP_ERR_PARSE, "%s: no user:password line", file);
    fclose(fp);
    if (st != OWP_OK)
        serve_auth_destroy(&self);
    return self;
}

/* Equal strings, in time that depends on the lengths only. */
static int same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

int serve_auth_check(const serve_auth *self, const char *user, const char *password)
{
    if (!user || !password)
        return 0;
    int ok = 0;
    for (size_t i = 0; i < self->n; i++)
        ok |= same(self->users[i].user, user) & same(self->users[i].password, password);
    return ok;
}

size_t serve_auth_count(const serve_auth *self) { return self->n; }

/* cmd_keygen.c - `owmesh keygen NAME`: a CURVE key pair in zcert files. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "curve.h"
#include "cli.h"

/* Make the directories leading to path that are missing, readable by their
 * owner only (they will hold a secret key): `owmesh keygen ~/.owmesh/analyst`
 * works on a fresh account. 0, or -1 with err set. */
static int make_key_dirs(const char *path, owp_err *err)
{
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return owp_err_set(err, OWP_ERR_INVALID, "%s: path too long", path), -1;
    for (char *slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            owp_err_set(err, OWP_ERR_SYS, "mkdir %s: %s", dir, strerror(errno));
            return -1;
        }
        *slash = '/';
    }
    return 0;
}

int owmesh_cmd_keygen(int argc, char **argv)
{
    static const struct option longs[] = {{"force", no_argument, NULL, 'f'},
                                          {"comment", required_argument, NULL, 'm'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int c, force = 0;
    const char *comment = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "fm:h", longs, NULL)) != -1) {
        switch (c) {
        case 'f': force = 1; break;
        case 'm': comment = optarg; break;
        case 'h':
            printf("usage: owmesh keygen [-f] [-m COMMENT] NAME\n"
                   "  writes NAME (public certificate) and NAME_secret (mode 0600) and\n"
                   "  prints the public key for the mesh's \"public-key\"; -f overwrites;\n"
                   "  missing directories of NAME are made (mode 0700)\n");
            return 0;
        default: return 1;
        }
    }
    if (optind + 1 != argc) {
        owmesh_error("keygen: exactly one NAME expected");
        return 1;
    }
    char key[OWM_CURVE_KEY_LEN + 1];
    owp_err err = {0};
    if (make_key_dirs(argv[optind], &err) != 0 ||
        owm_curve_generate(argv[optind], force, comment, key, &err) != OWP_OK) {
        owmesh_error("keygen: %s", err.msg);
        return 1;
    }
    printf("%s\n", key);
    return 0;
}

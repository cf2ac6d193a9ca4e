/* cmd_keygen.c - `owmesh keygen NAME`: a CURVE key pair in zcert files. */
#include <getopt.h>
#include <stdio.h>

#include "curve.h"
#include "cli.h"

int owmesh_cmd_keygen(int argc, char **argv)
{
    int c, force = 0;
    const char *comment = NULL;
    optind = 1;
    while ((c = getopt(argc, argv, "fm:h")) != -1) {
        switch (c) {
        case 'f': force = 1; break;
        case 'm': comment = optarg; break;
        case 'h':
            printf("usage: owmesh keygen [-f] [-m COMMENT] NAME\n"
                   "  writes NAME (public certificate) and NAME_secret (mode 0600) and\n"
                   "  prints the public key for the mesh's \"public-key\"; -f overwrites\n");
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
    if (owm_curve_generate(argv[optind], force, comment, key, &err) != OWP_OK) {
        owmesh_error("keygen: %s", err.msg);
        return 1;
    }
    printf("%s\n", key);
    return 0;
}

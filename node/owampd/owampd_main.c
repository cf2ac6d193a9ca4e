/*
 * owampd_main.c - owampd's main: the daemon (owampd.c, in libowampd) in its
 * OWAMP role. twampd (node/twampd) is the same daemon in its TWAMP role.
 */
#include "owampd.h"

int main(int argc, char **argv) { return owampd_main(argc, argv, &owampd_role_owamp); }

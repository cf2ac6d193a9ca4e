/*
 * twampd - the TWAMP server daemon (RFC 5357, mixed mode RFC 5618), a
 * drop-in for perfSONAR owamp 5.2.3's twampd: the same options and files as
 * owampd under TWAMP's names (twamp-server.conf, .limits, .pfs, .pid, .info;
 * the manual's twampd.*), port 862, and on every control connection
 * TWAMP-Control with a Session-Reflector per session (libowamp
 * twamp_server.c, reflector.c). It is owampd's daemon (node/owampd) in its
 * TWAMP role: one process model, one policy broker, one set of limits.
 */
#include "owampd.h"

int main(int argc, char **argv) { return owampd_main(argc, argv, &owampd_role_twamp); }

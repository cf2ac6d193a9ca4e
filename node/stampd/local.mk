# node/stampd - the STAMP Session-Reflector daemon (RFC 8762): libowamp's
# stamp_reflector on the daemon conventions of daemon/.
sbin_PROGRAMS += node/stampd/stampd
node_stampd_stampd_SOURCES = node/stampd/stampd.c node/stampd/stampd_loop.c node/stampd/stampd.h
node_stampd_stampd_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_CPPFLAGS)
node_stampd_stampd_LDADD = $(LIBDAEMON) $(LIBOWAMP)

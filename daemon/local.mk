# daemon - what every daemon shares: logging, signals, leaving root and
# running as a service (libdaemon.la, for owampd and powstream too), and the
# event loop of the mesh daemons (libdaemonloop.la: czmq's zloop, so that
# only programs already on czmq link it).
noinst_LTLIBRARIES += daemon/libdaemon.la daemon/libdaemonloop.la
LIBDAEMON = daemon/libdaemon.la
LIBDAEMONLOOP = daemon/libdaemonloop.la
# The mesh daemons' default files: configure's sysconfdir and localstatedir.
DAEMON_CPPFLAGS = -iquote $(top_srcdir)/daemon \
	-DOWMESH_CONFDIR='"$(sysconfdir)/owmesh"' -DOWMESH_STATEDIR='"$(localstatedir)/lib/owmesh"'
daemon_libdaemon_la_SOURCES = daemon/daemon_log.c daemon/daemon_log.h \
	daemon/daemon_signals.c daemon/daemon_signals.h \
	daemon/daemon_privs.c daemon/daemon_privs.h \
	daemon/daemon_service.c daemon/daemon_service.h
daemon_libdaemon_la_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_CPPFLAGS)
daemon_libdaemon_la_LIBADD = $(LIBOWAMP)
daemon_libdaemonloop_la_SOURCES = daemon/daemon_loop.c daemon/daemon_loop.h
daemon_libdaemonloop_la_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_CPPFLAGS) $(CZMQ_CFLAGS)
daemon_libdaemonloop_la_LIBADD = $(LIBDAEMON) $(CZMQ_LIBS)

# daemon - what every daemon shares: logging and signals.
noinst_LTLIBRARIES += daemon/libdaemon.la
LIBDAEMON = daemon/libdaemon.la
DAEMON_CPPFLAGS = -iquote $(top_srcdir)/daemon
daemon_libdaemon_la_SOURCES = daemon/daemon_log.c daemon/daemon_log.h \
	daemon/daemon_signals.c daemon/daemon_signals.h
daemon_libdaemon_la_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_CPPFLAGS)
daemon_libdaemon_la_LIBADD = $(LIBOWAMP)

# node/owampd - the OWAMP server daemon: options and files, the policy broker,
# and the fork-per-connection process model. Everything but main() is in a
# convenience library, so the unit tests link the same broker the daemon runs.
noinst_LTLIBRARIES += node/owampd/libowampd.la
LIBOWAMPD = node/owampd/libowampd.la
OWAMPD_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_CPPFLAGS) -iquote $(top_srcdir)/node/owampd
node_owampd_libowampd_la_SOURCES = node/owampd/owampd.h node/owampd/owampd.c \
	node/owampd/owampd_config.c node/owampd/owampd_config.h \
	node/owampd/owampd_broker.c node/owampd/owampd_broker.h \
	node/owampd/owampd_process.c node/owampd/owampd_process.h
node_owampd_libowampd_la_CPPFLAGS = $(OWAMPD_CPPFLAGS)
node_owampd_libowampd_la_LIBADD = $(LIBDAEMON) $(LIBOWAMP)
sbin_PROGRAMS += node/owampd/owampd
node_owampd_owampd_SOURCES = node/owampd/owampd_main.c
node_owampd_owampd_CPPFLAGS = $(OWAMPD_CPPFLAGS)
node_owampd_owampd_LDADD = $(LIBOWAMPD)

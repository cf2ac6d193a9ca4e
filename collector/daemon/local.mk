# collector/daemon - owmesh-collector: one puller per node draining its spool into the store
# (puller.c: the protocol; puller_ingest.c: each file into the store; collector_share.c: dividing
# a mesh with the collectors of the same archive; collector_main.c: the daemon; collector_directory.c:
# following the coordinator's node directory).
noinst_LTLIBRARIES += collector/daemon/libcollector.la
LIBCOLLECTOR = collector/daemon/libcollector.la
COLLECTOR_CPPFLAGS = $(STORE_CPPFLAGS) $(DAEMON_CPPFLAGS) -iquote $(top_srcdir)/collector/daemon
collector_daemon_libcollector_la_SOURCES = collector/daemon/puller.c collector/daemon/puller.h \
	collector/daemon/puller_internal.h collector/daemon/puller_ingest.c \
	collector/daemon/collector_share.c collector/daemon/collector_share.h
collector_daemon_libcollector_la_CPPFLAGS = $(COLLECTOR_CPPFLAGS)
collector_daemon_libcollector_la_LIBADD = $(LIBDAEMON) $(LIBMESH)
sbin_PROGRAMS += collector/daemon/owmesh-collector
collector_daemon_owmesh_collector_SOURCES = collector/daemon/collector_main.c \
	collector/daemon/collector_directory.c collector/daemon/collector_internal.h
collector_daemon_owmesh_collector_CPPFLAGS = $(COLLECTOR_CPPFLAGS)
collector_daemon_owmesh_collector_LDADD = $(LIBCOLLECTOR) $(LIBDAEMONLOOP) $(LIBSTORE)

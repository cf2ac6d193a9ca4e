# node/owampd - the OWAMP server daemon: options and files, the policy broker,
# and the fork-per-connection process model.
sbin_PROGRAMS += node/owampd/owampd
node_owampd_owampd_SOURCES = node/owampd/owampd.c node/owampd/owampd.h \
	node/owampd/owampd_config.c node/owampd/owampd_config.h \
	node/owampd/owampd_broker.c node/owampd/owampd_broker.h \
	node/owampd/owampd_process.c node/owampd/owampd_process.h
node_owampd_owampd_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_CPPFLAGS)
node_owampd_owampd_LDADD = $(LIBDAEMON) $(LIBOWAMP)

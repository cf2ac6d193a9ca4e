# node/tools - the owamp client programs and the option code they share.
noinst_LTLIBRARIES += node/tools/libtools.la
node_tools_libtools_la_SOURCES = node/tools/client_opts.c node/tools/client_opts.h
TOOLS_LDADD = node/tools/libtools.la $(LIBOWAMP)
bin_PROGRAMS += node/tools/owping node/tools/owstats node/tools/owfetch node/tools/owup \
	node/tools/pfstore node/tools/powstream node/tools/twping
node_tools_owping_SOURCES = node/tools/owping.c
node_tools_owping_LDADD = $(TOOLS_LDADD)
node_tools_owstats_SOURCES = node/tools/owstats.c
node_tools_owstats_LDADD = $(TOOLS_LDADD)
node_tools_owfetch_SOURCES = node/tools/owfetch.c
node_tools_owfetch_LDADD = $(TOOLS_LDADD)
node_tools_owup_SOURCES = node/tools/owup.c
node_tools_owup_LDADD = $(TOOLS_LDADD)
node_tools_pfstore_SOURCES = node/tools/pfstore.c
node_tools_powstream_SOURCES = node/tools/powstream.c
node_tools_powstream_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_CPPFLAGS)
node_tools_powstream_LDADD = $(LIBDAEMON) $(TOOLS_LDADD)
node_tools_twping_SOURCES = node/tools/twping.c
node_tools_twping_LDADD = $(TOOLS_LDADD)
# stping: the STAMP Session-Sender (RFC 8762) in the twping family.
bin_PROGRAMS += node/tools/stping
node_tools_stping_SOURCES = node/tools/stping.c node/tools/stping_report.c \
	node/tools/stping_report.h
node_tools_stping_LDADD = $(TOOLS_LDADD)
# -F of twping and stping: the two-way file (libowamp twpfile.h), saved whole or not at all.
node_tools_libtools_la_SOURCES += node/tools/twsave.c node/tools/twsave.h

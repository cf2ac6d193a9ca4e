# node/agent - owmesh-node: the coordinator link, the reconciler, the stream
# engine, the spool and its data endpoint, owampd supervision, and the agent's
# loop and conversation with the coordinator (agent_loop.c; owmesh-node.c: options, start-up).
noinst_LTLIBRARIES += node/agent/libagent.la
LIBAGENT = node/agent/libagent.la
AGENT_CPPFLAGS = $(MESH_CPPFLAGS) $(DAEMON_CPPFLAGS) -iquote $(top_srcdir)/node/agent
node_agent_libagent_la_SOURCES = \
	node/agent/agent_link.c node/agent/agent_link.h \
	node/agent/agent_reconcile.c node/agent/agent_reconcile.h \
	node/agent/agent_streams.c node/agent/agent_streams.h \
	node/agent/agent_streams_unmeasured.c node/agent/agent_streams_status.c \
	node/agent/agent_streams_internal.h \
	node/agent/agent_store.c node/agent/agent_store.h \
	node/agent/agent_spool.c node/agent/agent_spool_queue.c node/agent/agent_spool.h \
	node/agent/agent_spool_internal.h \
	node/agent/agent_data.c node/agent/agent_data.h node/agent/agent_data_internal.h \
	node/agent/agent_data_index.c node/agent/agent_data_keys.c \
	node/agent/agent_owampd.c node/agent/agent_owampd.h \
	node/agent/agent_loop.c node/agent/agent_loop.h
node_agent_libagent_la_CPPFLAGS = $(AGENT_CPPFLAGS)
node_agent_libagent_la_LIBADD = $(LIBDAEMONLOOP) $(LIBDAEMON) $(LIBMESH)
sbin_PROGRAMS += node/agent/owmesh-node
node_agent_owmesh_node_SOURCES = node/agent/owmesh-node.c
node_agent_owmesh_node_CPPFLAGS = $(AGENT_CPPFLAGS)
node_agent_owmesh_node_LDADD = $(LIBAGENT)

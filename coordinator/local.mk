# coordinator - owmesh-coordinator: the planner (mesh -> schedules), the node
# registry, and the coordinator daemon (coord.c: loading, reloads, the loop;
# coord_messages.c: the conversation with nodes, collectors and analysts;
# access.c: who may send what; coord_health.c: PeerHealth and the health log;
# assign.c and coord_collectors.c: collectors sharing an archive divide the nodes).
noinst_LTLIBRARIES += coordinator/libcoord.la
LIBCOORD = coordinator/libcoord.la
COORD_CPPFLAGS = $(MESH_CPPFLAGS) $(DAEMON_CPPFLAGS) -iquote $(top_srcdir)/coordinator
coordinator_libcoord_la_SOURCES = coordinator/plan.c coordinator/plan.h \
	coordinator/registry.c coordinator/registry.h coordinator/coord.c coordinator/coord.h \
	coordinator/coord_internal.h coordinator/coord_messages.c coordinator/coord_health.c \
	coordinator/access.c coordinator/access.h coordinator/assign.c coordinator/assign.h \
	coordinator/coord_collectors.c
coordinator_libcoord_la_CPPFLAGS = $(COORD_CPPFLAGS)
coordinator_libcoord_la_LIBADD = $(LIBDAEMONLOOP) $(LIBDAEMON) $(LIBMESH)
sbin_PROGRAMS += coordinator/owmesh-coordinator
coordinator_owmesh_coordinator_SOURCES = coordinator/main.c
coordinator_owmesh_coordinator_CPPFLAGS = $(COORD_CPPFLAGS)
coordinator_owmesh_coordinator_LDADD = $(LIBCOORD)

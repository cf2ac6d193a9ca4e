# mesh - the library the mesh daemons and the owmesh CLI share: mesh
# definitions, mesh messages, CURVE keys and ZAP, node health, digests,
# unmeasured intervals and the coordinator client.
noinst_LTLIBRARIES += mesh/libowmesh.la
MESH_CPPFLAGS = $(AM_CPPFLAGS) -iquote $(top_srcdir)/mesh -iquote $(top_builddir)/proto \
	$(CZMQ_CFLAGS) $(PROTOBUF_C_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
LIBMESH = mesh/libowmesh.la
mesh_libowmesh_la_SOURCES = \
	mesh/meshconf.c mesh/meshconf.h mesh/meshconf_internal.h mesh/meshconf_jsonpath.c \
	mesh/meshconf_model.c mesh/meshconf_native.c mesh/meshconf_psconfig.c \
	mesh/meshmsg.c mesh/meshmsg.h mesh/meshmsg_check.c mesh/meshmsg_codec.c \
	mesh/meshmsg_internal.h \
	mesh/curve.c mesh/curve.h mesh/zap.c mesh/zap.h mesh/health.c mesh/health.h \
	mesh/unmeasured.c mesh/unmeasured.h mesh/digest.c mesh/digest.h \
	mesh/coordclient.c mesh/coordclient.h
nodist_mesh_libowmesh_la_SOURCES = $(PROTO_GEN)
mesh_libowmesh_la_CPPFLAGS = $(MESH_CPPFLAGS)
mesh_libowmesh_la_LIBADD = $(LIBOWAMP) $(CZMQ_LIBS) $(PROTOBUF_C_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS)

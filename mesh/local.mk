# mesh - the library the mesh daemons and the owmesh CLI share: mesh
# definitions, mesh messages, CURVE keys and ZAP, node health, digests,
# unmeasured intervals and the coordinator client.
#
# Only the codec (mesh/libmeshcodec.la: meshmsg_codec.c and the code protoc-c
# generates) sees proto/mesh.pb-c.h: everything else, in this library and in
# the programs, uses the mesh library's own types (mesh/meshtypes.h), so
# MESH_CPPFLAGS does not put proto/ on the include path. The generated header
# has casts that drop const: the codec is compiled without -Wcast-qual.
noinst_LTLIBRARIES += mesh/libmeshcodec.la mesh/libowmesh.la
MESH_CPPFLAGS = $(AM_CPPFLAGS) -iquote $(top_srcdir)/mesh \
	$(CZMQ_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
LIBMESH = mesh/libowmesh.la
mesh_libmeshcodec_la_SOURCES = mesh/meshmsg_codec.c
nodist_mesh_libmeshcodec_la_SOURCES = $(PROTO_GEN)
mesh_libmeshcodec_la_CPPFLAGS = $(MESH_CPPFLAGS) -iquote $(top_builddir)/proto $(PROTOBUF_C_CFLAGS)
mesh_libmeshcodec_la_CFLAGS = $(AM_CFLAGS) -Wno-cast-qual
mesh_libowmesh_la_SOURCES = \
	mesh/meshconf.c mesh/meshconf.h mesh/meshconf_internal.h mesh/meshconf_jsonpath.c \
	mesh/meshconf_model.c mesh/meshconf_native.c mesh/meshconf_psconfig.c \
	mesh/meshconf_clients.c \
	mesh/meshmsg.c mesh/meshmsg.h mesh/meshmsg_check.c mesh/meshmsg_internal.h \
	mesh/meshmsg_types.c mesh/meshtypes.h \
	mesh/curve.c mesh/curve.h mesh/zap.c mesh/zap.h mesh/health.c mesh/health.h \
	mesh/monitor.c mesh/monitor.h mesh/ratelimit.c mesh/ratelimit.h \
	mesh/unmeasured.c mesh/unmeasured.h mesh/digest.c mesh/digest.h \
	mesh/coordclient.c mesh/coordclient.h
mesh_libowmesh_la_CPPFLAGS = $(MESH_CPPFLAGS)
mesh_libowmesh_la_LIBADD = mesh/libmeshcodec.la $(LIBOWAMP) $(CZMQ_LIBS) $(PROTOBUF_C_LIBS) \
	$(JANSSON_LIBS) $(OPENSSL_LIBS)

# proto - the mesh's messages (protobuf), compiled by protoc-c into the build tree.
PROTO_GEN = proto/mesh.pb-c.c proto/mesh.pb-c.h
BUILT_SOURCES += $(PROTO_GEN)
CLEANFILES += $(PROTO_GEN)
EXTRA_DIST += proto/mesh.proto
proto/mesh.pb-c.c proto/mesh.pb-c.h: $(srcdir)/proto/mesh.proto
	$(AM_V_GEN)$(MKDIR_P) proto && $(PROTOC_C) --c_out=proto -I$(srcdir)/proto $(srcdir)/proto/mesh.proto

# fuzz - one libFuzzer target per parser (make fuzz, clang); not part of the default build.
FUZZ_TARGETS = control testpkt owpfile conf pfs fetch limits meshconf \
	meshmsg_envelope meshmsg_schedule meshmsg_status meshmsg_status_reply meshmsg_directory \
	meshmsg_file_list serve_request twamp_packet
# STAMP: the reflector's and the sender's packet paths, stampd's policy file.
FUZZ_TARGETS += stamp_packet stamp_policy
FUZZ_CC = clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined $(OWAMP_CPPFLAGS)
# Targets named serve* compile collector/serve (instrumented) and link the
# store, mesh and analyst libraries of this build (not instrumented).
FUZZ_SERVE = $(SERVE_CPPFLAGS) $(top_srcdir)/collector/serve/serve_[a-z]*.c \
	collector/serve/serve_assets.c collector/cli/.libs/libcli.a collector/store/.libs/libstore.a \
	mesh/.libs/libowmesh.a mesh/.libs/libmeshcodec.a \
	$(MHD_LIBS) $(JANSSON_LIBS) $(LMDB_LIBS) $(CURL_LIBS) $(CZMQ_LIBS) $(PROTOBUF_C_LIBS)
# Targets named mesh* also compile the mesh plane's code with its libraries.
FUZZ_MESH = -iquote $(top_srcdir)/mesh -iquote $(top_builddir)/proto $(top_srcdir)/mesh/*.c \
	proto/mesh.pb-c.c $(CZMQ_CFLAGS) $(PROTOBUF_C_CFLAGS) $(JANSSON_CFLAGS) \
	$(CZMQ_LIBS) $(PROTOBUF_C_LIBS) $(JANSSON_LIBS)
fuzz: $(lib_LTLIBRARIES) $(PROTO_GEN) $(LIBSERVE) collector/cli/libcli.la
	@mkdir -p fuzz/bin
	@for t in $(FUZZ_TARGETS); do \
	  echo "  FUZZ     fuzz/bin/fuzz_$$t"; \
	  case $$t in mesh*) mesh='$(FUZZ_MESH)';; serve*) mesh='$(FUZZ_SERVE)';; *) mesh=;; esac; \
	  $(FUZZ_CC) $(FUZZ_FLAGS) -o fuzz/bin/fuzz_$$t $(top_srcdir)/fuzz/fuzz_$$t.c -I$(top_srcdir)/fuzz \
	    $(top_srcdir)/libowamp/*.c $$mesh $(OPENSSL_LIBS) -lm -pthread || exit 1; \
	done
.PHONY: fuzz
FUZZ_TARGET_SRCS = fuzz/fuzz_control.c fuzz/fuzz_testpkt.c fuzz/fuzz_owpfile.c fuzz/fuzz_conf.c \
	fuzz/fuzz_pfs.c fuzz/fuzz_fetch.c fuzz/fuzz_limits.c fuzz/fuzz_meshconf.c \
	fuzz/fuzz_meshmsg_envelope.c fuzz/fuzz_meshmsg_schedule.c fuzz/fuzz_meshmsg_status.c \
	fuzz/fuzz_meshmsg_status_reply.c fuzz/fuzz_meshmsg_directory.c fuzz/fuzz_meshmsg_file_list.c \
	fuzz/fuzz_meshmsg.h fuzz/fuzz_serve_request.c fuzz/fuzz_twamp_packet.c
FUZZ_TARGET_SRCS += fuzz/fuzz_stamp_packet.c fuzz/fuzz_stamp_policy.c
# Two-way session files (twping -F): the reader and the statistics over its records.
FUZZ_TARGETS += twpfile
FUZZ_TARGET_SRCS += fuzz/fuzz_twpfile.c
EXTRA_DIST += fuzz/fuzz_textfile.h $(FUZZ_TARGET_SRCS)
clean-local: clean-fuzz-bin clean-screenshots
clean-fuzz-bin:
	rm -rf fuzz/bin
.PHONY: clean-fuzz-bin

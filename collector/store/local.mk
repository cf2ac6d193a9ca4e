# collector/store - the measurement store: one interface (store.h, store.c),
# two backends (LMDB: store_lmdb*; ClickHouse: store_ch*), the shared record
# loading, query engine and histograms, and which store path a mesh stream
# files under.
noinst_LTLIBRARIES += collector/store/libstore.la
LIBSTORE = collector/store/libstore.la
STORE_CPPFLAGS = $(MESH_CPPFLAGS) -iquote $(top_srcdir)/collector/store $(LMDB_CFLAGS) $(CURL_CFLAGS)
collector_store_libstore_la_SOURCES = collector/store/store.c collector/store/store.h \
	collector/store/store_backend.h collector/store/store_records.c \
	collector/store/store_query.c collector/store/store_unmeasured.c \
	collector/store/store_lmdb.c collector/store/store_lmdb.h \
	collector/store/store_lmdb_ingest.c collector/store/store_lmdb_query.c \
	collector/store/store_lmdb_unmeasured.c \
	collector/store/store_ch.c collector/store/store_ch.h \
	collector/store/store_ch_http.c collector/store/store_ch_http.h \
	collector/store/store_ch_url.c collector/store/store_ch_ingest.c \
	collector/store/store_ch_query.c collector/store/store_ch_unmeasured.c \
	collector/store/store_hist.c collector/store/store_hist.h \
	collector/store/store_unmeasured.h \
	collector/store/store_paths.c collector/store/store_paths.h
collector_store_libstore_la_CPPFLAGS = $(STORE_CPPFLAGS)
collector_store_libstore_la_LIBADD = $(LIBMESH) $(LMDB_LIBS) $(CURL_LIBS) -lm

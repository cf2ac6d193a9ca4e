# collector/serve - `owmesh serve`: the live dashboard and Prometheus metrics
# over the store (serve.h), on libmicrohttpd. The web assets under www/ are
# compiled into the binary (serve_embed.sh -> serve_assets.c).
noinst_LTLIBRARIES += collector/serve/libserve.la
LIBSERVE = collector/serve/libserve.la
SERVE_CPPFLAGS = $(CLI_CPPFLAGS) -iquote $(top_srcdir)/collector/serve $(MHD_CFLAGS)
SERVE_ASSETS = collector/serve/www/index.html collector/serve/www/pair.html \
	collector/serve/www/completeness.html collector/serve/www/owmesh.js \
	collector/serve/www/grid.js collector/serve/www/pair.js \
	collector/serve/www/completeness.js collector/serve/www/owmesh.css \
	collector/serve/www/status.html collector/serve/www/status.js
collector_serve_libserve_la_SOURCES = collector/serve/serve.h collector/serve/serve_route.c \
	collector/serve/serve_app.c collector/serve/serve_metrics.c collector/serve/serve_auth.c \
	collector/serve/serve_http.c collector/serve/serve_types.c
nodist_collector_serve_libserve_la_SOURCES = collector/serve/serve_assets.c
collector_serve_libserve_la_CPPFLAGS = $(SERVE_CPPFLAGS)
collector_serve_libserve_la_LIBADD = collector/cli/libcli.la $(MHD_LIBS)
BUILT_SOURCES += collector/serve/serve_assets.c
CLEANFILES += collector/serve/serve_assets.c
# The assets are found through VPATH; the script runs in the source tree.
collector/serve/serve_assets.c: collector/serve/serve_embed.sh $(SERVE_ASSETS)
	@mkdir -p collector/serve
	$(AM_V_GEN)cd $(top_srcdir) && $(SHELL) collector/serve/serve_embed.sh \
	  $(abs_top_builddir)/collector/serve/serve_assets.c $(SERVE_ASSETS)
EXTRA_DIST += collector/serve/serve_embed.sh $(SERVE_ASSETS)

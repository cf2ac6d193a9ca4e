# collector/cli - owmesh, the analysts' command: one file per command
# (cmd_*.c), the selection of paths and periods (analyst_*), the renderers.
noinst_LTLIBRARIES += collector/cli/libcli.la
CLI_CPPFLAGS = $(STORE_CPPFLAGS) -iquote $(top_srcdir)/collector/cli \
	-DOWMESH_STATEDIR='"$(localstatedir)/lib/owmesh"'
collector_cli_libcli_la_SOURCES = collector/cli/cli.c collector/cli/cli.h collector/cli/cmd_json.h \
	collector/cli/analyst.h collector/cli/analyst_args.c collector/cli/analyst_select.c \
	collector/cli/analyst_pairs.c \
	collector/cli/render.h collector/cli/render_table.c collector/cli/render_svg.c \
	collector/cli/render_grid.c collector/cli/nagios.h collector/cli/nagios.c \
	collector/cli/cmd_check.c collector/cli/cmd_keygen.c collector/cli/cmd_status.c \
	collector/cli/cmd_query.c collector/cli/cmd_grid.c collector/cli/cmd_plot.c \
	collector/cli/cmd_completeness.c collector/cli/cmd_export.c collector/cli/cmd_import.c
collector_cli_libcli_la_CPPFLAGS = $(CLI_CPPFLAGS)
collector_cli_libcli_la_LIBADD = $(LIBSTORE) $(LIBMESH) -lm
bin_PROGRAMS += collector/cli/owmesh
# serve is the one command built on libserve (collector/serve), which uses libcli.
collector_cli_owmesh_SOURCES = collector/cli/owmesh.c collector/cli/cmd_serve.c
collector_cli_owmesh_CPPFLAGS = $(SERVE_CPPFLAGS)
collector_cli_owmesh_LDADD = $(LIBSERVE) collector/cli/libcli.la

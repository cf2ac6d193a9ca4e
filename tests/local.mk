# tests - Check unit suites (tests/unit/check_MODULE.c, one per module or
# room) and end-to-end scripts that run the real binaries on loopback (tests/e2e).
noinst_LTLIBRARIES += tests/unit/libtestutil.la
tests_unit_libtestutil_la_SOURCES = tests/unit/testutil.c tests/unit/testutil.h \
	tests/unit/pcap.c tests/unit/pcap.h
tests_unit_libtestutil_la_CPPFLAGS = $(AM_CPPFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS) \
	-DVECTORS_DIR='"$(abs_top_srcdir)/tests/vectors"'
tests_unit_libtestutil_la_LIBADD = $(LIBOWAMP) $(CHECK_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) -lm
UNIT_CPPFLAGS = $(CHECK_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) \
	-DVECTORS_DIR='"$(abs_top_srcdir)/tests/vectors"'
UNIT_LDADD = tests/unit/libtestutil.la

# libowamp's modules: one suite each, the library's flags.
OWAMP_UNIT_TESTS = \
	tests/unit/check_error tests/unit/check_timestamp tests/unit/check_clock \
	tests/unit/check_sendsched tests/unit/check_crypto tests/unit/check_testpkt \
	tests/unit/check_wire tests/unit/check_channel tests/unit/check_owpfile \
	tests/unit/check_stats tests/unit/check_owdstat tests/unit/check_report \
	tests/unit/check_endpoint tests/unit/check_hostport tests/unit/check_options \
	tests/unit/check_pfs tests/unit/check_conf tests/unit/check_policy \
	tests/unit/check_stream tests/unit/check_client tests/unit/check_server \
	tests/unit/check_datadir tests/unit/check_twamp
tests_unit_check_twamp_LDADD = $(UNIT_LDADD)
# STAMP (RFC 8762/8972): the wire and TLVs; the policy and the reflector's decisions.
OWAMP_UNIT_TESTS += tests/unit/check_stamp tests/unit/check_stamp_reflector
tests_unit_check_stamp_LDADD = $(UNIT_LDADD)
tests_unit_check_stamp_reflector_LDADD = $(UNIT_LDADD)
tests_unit_check_error_LDADD = $(UNIT_LDADD)
tests_unit_check_timestamp_LDADD = $(UNIT_LDADD)
tests_unit_check_clock_LDADD = $(UNIT_LDADD)
tests_unit_check_sendsched_LDADD = $(UNIT_LDADD)
tests_unit_check_crypto_LDADD = $(UNIT_LDADD)
tests_unit_check_testpkt_LDADD = $(UNIT_LDADD)
tests_unit_check_wire_LDADD = $(UNIT_LDADD)
tests_unit_check_channel_LDADD = $(UNIT_LDADD)
tests_unit_check_owpfile_LDADD = $(UNIT_LDADD)
tests_unit_check_stats_LDADD = $(UNIT_LDADD)
tests_unit_check_owdstat_LDADD = $(UNIT_LDADD)
tests_unit_check_report_LDADD = $(UNIT_LDADD)
tests_unit_check_endpoint_LDADD = $(UNIT_LDADD)
tests_unit_check_hostport_LDADD = $(UNIT_LDADD)
tests_unit_check_options_LDADD = $(UNIT_LDADD)
tests_unit_check_pfs_LDADD = $(UNIT_LDADD)
tests_unit_check_conf_LDADD = $(UNIT_LDADD)
tests_unit_check_policy_LDADD = $(UNIT_LDADD)
tests_unit_check_stream_LDADD = $(UNIT_LDADD)
tests_unit_check_client_LDADD = $(UNIT_LDADD)
tests_unit_check_server_LDADD = $(UNIT_LDADD)
tests_unit_check_datadir_LDADD = $(UNIT_LDADD)
# owstats' fast paths (issue 15): fmt.h, the loss window, reports on synthesised sessions.
OWAMP_UNIT_TESTS += tests/unit/check_fmt tests/unit/check_losswin tests/unit/check_report_synth
tests_unit_check_fmt_LDADD = $(UNIT_LDADD)
tests_unit_check_losswin_LDADD = $(UNIT_LDADD)
tests_unit_check_report_synth_LDADD = $(UNIT_LDADD)
# Two-way session files (twping -F, owstats): twpfile.h.
OWAMP_UNIT_TESTS += tests/unit/check_twpfile
tests_unit_check_twpfile_LDADD = $(UNIT_LDADD)

# The daemons' rooms: each suite with its room's flags and library.
DAEMON_UNIT_TESTS = tests/unit/check_daemon_loop tests/unit/check_owampd_broker \
	tests/unit/check_agent_owampd tests/unit/check_daemon_privs tests/unit/check_daemon_service
tests_unit_check_daemon_privs_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_daemon_privs_LDADD = $(LIBDAEMON) $(UNIT_LDADD)
tests_unit_check_daemon_service_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_daemon_service_LDADD = $(LIBDAEMON) $(UNIT_LDADD)
tests_unit_check_daemon_loop_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_CPPFLAGS) $(CZMQ_CFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_daemon_loop_LDADD = $(LIBDAEMONLOOP) $(UNIT_LDADD)
tests_unit_check_owampd_broker_CPPFLAGS = $(OWAMPD_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_owampd_broker_LDADD = $(LIBOWAMPD) $(UNIT_LDADD)
tests_unit_check_agent_owampd_CPPFLAGS = $(AGENT_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_agent_owampd_LDADD = $(LIBAGENT) $(UNIT_LDADD)

# The mesh's rooms: each suite with its room's flags and library.
MESH_UNIT_TESTS = \
	tests/unit/check_meshconf tests/unit/check_meshconf_clients tests/unit/check_access \
	tests/unit/check_meshmsg tests/unit/check_meshmsg_check \
	tests/unit/check_meshmsg_builders tests/unit/check_zap \
	tests/unit/check_plan tests/unit/check_registry tests/unit/check_health \
	tests/unit/check_assign \
	tests/unit/check_curve tests/unit/check_agent_reconcile tests/unit/check_agent_store \
	tests/unit/check_agent_spool tests/unit/check_agent_streams tests/unit/check_agent_link \
	tests/unit/check_agent_data \
	tests/unit/check_store tests/unit/check_store_hist tests/unit/check_store_unmeasured \
	tests/unit/check_store_ch \
	tests/unit/check_collector tests/unit/check_puller tests/unit/check_analyst \
	tests/unit/check_nagios tests/unit/check_serve
# Fixtures several suites of a room share: one small library each, linked.
noinst_LTLIBRARIES += tests/unit/libmeshmsgtest.la tests/unit/libcoordtest.la \
	tests/unit/libagenttest.la tests/unit/libstoretest.la tests/unit/libcollectortest.la
tests_unit_libmeshmsgtest_la_SOURCES = tests/unit/meshmsg_testutil.c tests/unit/meshmsg_testutil.h
tests_unit_libmeshmsgtest_la_CPPFLAGS = $(MESH_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_libcoordtest_la_SOURCES = tests/unit/coord_testutil.c tests/unit/coord_testutil.h
tests_unit_libcoordtest_la_CPPFLAGS = $(COORD_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_libagenttest_la_SOURCES = tests/unit/agent_testutil.c tests/unit/agent_testutil.h
tests_unit_libagenttest_la_CPPFLAGS = $(AGENT_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_libstoretest_la_SOURCES = tests/unit/store_testutil.c tests/unit/store_testutil.h
tests_unit_libstoretest_la_CPPFLAGS = $(STORE_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_libcollectortest_la_SOURCES = tests/unit/collector_testutil.c \
	tests/unit/collector_testutil.h
tests_unit_libcollectortest_la_CPPFLAGS = $(COLLECTOR_CPPFLAGS) $(AGENT_CPPFLAGS) $(UNIT_CPPFLAGS)
LIBMESHMSGTEST = tests/unit/libmeshmsgtest.la
LIBCOORDTEST = tests/unit/libcoordtest.la
LIBAGENTTEST = tests/unit/libagenttest.la
LIBSTORETEST = tests/unit/libstoretest.la
LIBCOLLECTORTEST = tests/unit/libcollectortest.la
tests_unit_check_meshconf_CPPFLAGS = $(MESH_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_meshconf_LDADD = $(LIBMESH) $(UNIT_LDADD)
tests_unit_check_meshconf_clients_CPPFLAGS = $(MESH_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_meshconf_clients_LDADD = $(LIBMESH) $(UNIT_LDADD)
tests_unit_check_access_CPPFLAGS = $(COORD_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_access_LDADD = $(LIBCOORDTEST) $(LIBCOORD) $(UNIT_LDADD)
tests_unit_check_meshmsg_CPPFLAGS = $(MESH_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_meshmsg_LDADD = $(LIBMESHMSGTEST) $(LIBMESH) $(UNIT_LDADD)
tests_unit_check_meshmsg_check_CPPFLAGS = $(MESH_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_meshmsg_check_LDADD = $(LIBMESHMSGTEST) $(LIBMESH) $(UNIT_LDADD)
tests_unit_check_meshmsg_builders_CPPFLAGS = $(MESH_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_meshmsg_builders_LDADD = $(LIBMESHMSGTEST) $(LIBMESH) $(UNIT_LDADD)
tests_unit_check_zap_CPPFLAGS = $(MESH_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_zap_LDADD = $(LIBMESH) $(UNIT_LDADD)
tests_unit_check_plan_CPPFLAGS = $(COORD_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_plan_LDADD = $(LIBCOORDTEST) $(LIBCOORD) $(UNIT_LDADD)
tests_unit_check_assign_CPPFLAGS = $(COORD_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_assign_LDADD = $(LIBCOORDTEST) $(LIBCOORD) $(UNIT_LDADD)
tests_unit_check_registry_CPPFLAGS = $(COORD_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_registry_LDADD = $(LIBCOORDTEST) $(LIBCOORD) $(UNIT_LDADD)
tests_unit_check_health_CPPFLAGS = $(COORD_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_health_LDADD = $(LIBCOORD) $(UNIT_LDADD)
tests_unit_check_curve_CPPFLAGS = $(COORD_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_curve_LDADD = $(LIBCOORD) $(UNIT_LDADD)
tests_unit_check_agent_reconcile_CPPFLAGS = $(AGENT_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_agent_reconcile_LDADD = $(LIBAGENTTEST) $(LIBAGENT) $(UNIT_LDADD)
tests_unit_check_agent_store_CPPFLAGS = $(AGENT_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_agent_store_LDADD = $(LIBAGENTTEST) $(LIBAGENT) $(UNIT_LDADD)
tests_unit_check_agent_spool_CPPFLAGS = $(AGENT_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_agent_spool_LDADD = $(LIBAGENTTEST) $(LIBAGENT) $(UNIT_LDADD)
tests_unit_check_agent_streams_CPPFLAGS = $(AGENT_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_agent_streams_LDADD = $(LIBAGENTTEST) $(LIBAGENT) $(UNIT_LDADD)
tests_unit_check_agent_link_CPPFLAGS = $(AGENT_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_agent_link_LDADD = $(LIBAGENTTEST) $(LIBAGENT) $(UNIT_LDADD)
tests_unit_check_agent_data_CPPFLAGS = $(AGENT_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_agent_data_LDADD = $(LIBAGENTTEST) $(LIBAGENT) $(UNIT_LDADD)
tests_unit_check_store_CPPFLAGS = $(STORE_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_store_LDADD = $(LIBSTORETEST) $(LIBSTORE) $(UNIT_LDADD)
tests_unit_check_store_hist_CPPFLAGS = $(STORE_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_store_hist_LDADD = $(LIBSTORETEST) $(LIBSTORE) $(UNIT_LDADD)
tests_unit_check_store_unmeasured_CPPFLAGS = $(STORE_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_store_unmeasured_LDADD = $(LIBSTORETEST) $(LIBSTORE) $(UNIT_LDADD)
tests_unit_check_store_ch_CPPFLAGS = $(STORE_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_store_ch_LDADD = $(LIBSTORE) $(UNIT_LDADD)
tests_unit_check_collector_CPPFLAGS = $(COLLECTOR_CPPFLAGS) $(AGENT_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_collector_LDADD = $(LIBCOLLECTORTEST) $(LIBCOLLECTOR) $(LIBAGENT) $(LIBSTORE) \
	$(UNIT_LDADD)
tests_unit_check_puller_CPPFLAGS = $(COLLECTOR_CPPFLAGS) $(AGENT_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_puller_LDADD = $(LIBCOLLECTORTEST) $(LIBCOLLECTOR) $(LIBAGENT) $(LIBSTORE) \
	$(UNIT_LDADD)
tests_unit_check_analyst_CPPFLAGS = $(CLI_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_analyst_LDADD = collector/cli/libcli.la $(UNIT_LDADD)
tests_unit_check_nagios_CPPFLAGS = $(CLI_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_nagios_LDADD = collector/cli/libcli.la $(UNIT_LDADD)
tests_unit_check_serve_CPPFLAGS = $(SERVE_CPPFLAGS) $(UNIT_CPPFLAGS)
tests_unit_check_serve_LDADD = $(LIBSERVE) collector/cli/libcli.la $(UNIT_LDADD)

# node/tools' shared option code (client_opts.c).
TOOLS_UNIT_TESTS = tests/unit/check_tools_opts
tests_unit_check_tools_opts_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/node/tools $(UNIT_CPPFLAGS)
tests_unit_check_tools_opts_LDADD = node/tools/libtools.la $(UNIT_LDADD)

UNIT_TESTS = $(OWAMP_UNIT_TESTS) $(DAEMON_UNIT_TESTS) $(MESH_UNIT_TESTS) $(TOOLS_UNIT_TESTS)
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

E2E_TESTS = \
	tests/e2e/owstats_vectors.sh \
	tests/e2e/owstats_query_agree.sh \
	tests/e2e/owampd_basic.sh \
	tests/e2e/owampd_limits.sh \
	tests/e2e/owampd_hardening.sh \
	tests/e2e/owampd_concurrent.sh \
	tests/e2e/owping_modes.sh \
	tests/e2e/owping_options.sh \
	tests/e2e/twamp_modes.sh \
	tests/e2e/pfstore.sh \
	tests/e2e/tools_conventions.sh \
	tests/e2e/owfetch_owup.sh \
	tests/e2e/powstream_stream.sh \
	tests/e2e/powstream_faults.sh \
	tests/e2e/mesh_4node.sh \
	tests/e2e/mesh_verdicts.sh \
	tests/e2e/mesh_collect.sh \
	tests/e2e/mesh_data_endpoint.sh \
	tests/e2e/mesh_collect_chaos.sh \
	tests/e2e/mesh_collect_chaos_ch.sh \
	tests/e2e/mesh_shared_collectors.sh \
	tests/e2e/mesh_shared_cluster.sh \
	tests/e2e/stamp_modes.sh \
	tests/e2e/stamp_interop.sh \
	tests/e2e/mesh_outage.sh \
	tests/e2e/mesh_security.sh \
	tests/e2e/owmesh_cli.sh \
	tests/e2e/owmesh_query.sh \
	tests/e2e/owmesh_roundtrip.sh \
	tests/e2e/install.sh \
	tests/e2e/daemons_conventions.sh \
	tests/e2e/man_examples.sh \
	tests/e2e/clickhouse_private.sh \
	tests/e2e/store_matrix.sh \
	tests/e2e/store_clickhouse.sh \
	tests/e2e/serve_api.sh \
	tests/e2e/serve_dashboard.sh \
	tests/e2e/serve_status.sh
# owstats -R as a process, against a printf oracle (issue 15).
E2E_TESTS += tests/e2e/owstats_raw.sh
EXTRA_DIST += tests/e2e/owstats_raw.py
TESTS += $(E2E_TESTS)
# The store API on any location, for store_clickhouse.sh (LMDB vs ClickHouse).
check_PROGRAMS += tests/e2e/store_clickhouse_tool
tests_e2e_store_clickhouse_tool_SOURCES = tests/e2e/store_clickhouse_tool.c
tests_e2e_store_clickhouse_tool_CPPFLAGS = $(STORE_CPPFLAGS)
tests_e2e_store_clickhouse_tool_LDADD = $(LIBSTORE)
dist_check_SCRIPTS = $(E2E_TESTS)
EXTRA_DIST += tests/vectors tests/tsan.supp tests/e2e/lib.sh tests/e2e/exact_percentiles.py tests/e2e/query_rows.py \
	tests/e2e/man_examples.py tests/e2e/lib_clickhouse.sh tests/e2e/serve_lib.sh \
	tests/e2e/serve_browser.py tests/e2e/serve_prometheus.py
# STAMP: the e2e scripts' shared part and the independent peer (Python, from the RFCs).
EXTRA_DIST += tests/e2e/stamp_lib.sh tests/stamp_peer.py
# Two-way files (twping -F, stping -F, owstats): TWAMP's shared e2e part, the truth of the
# figures printed.
E2E_TESTS += tests/e2e/twping_file.sh
EXTRA_DIST += tests/e2e/twamp_lib.sh tests/e2e/tw_exact_percentiles.py
# The browser tests' screenshots, kept for a person to look at (tests/e2e/serve_*.sh).
clean-screenshots:
	rm -rf tests/screenshots
.PHONY: clean-screenshots
AM_TESTS_ENVIRONMENT = \
	top_builddir='$(abs_top_builddir)'; top_srcdir='$(abs_top_srcdir)'; \
	export top_builddir top_srcdir;

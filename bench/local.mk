# bench - benchmarks: each prints its figures next to a limit or peer measured in the same run.
noinst_LTLIBRARIES += bench/libsynth.la
bench_libsynth_la_SOURCES = bench/synth_owp.c bench/synth_owp.h
noinst_PROGRAMS += bench/bench_loopback bench/bench_owstats bench/bench_streams \
	bench/bench_store bench/bench_drain bench/bench_coordinator bench/owp_synth \
	bench/bench_archive bench/bench_serve bench/bench_twping
bench_bench_twping_SOURCES = bench/bench_twping.c
# stampd's reflections a second on one core, next to a bare UDP echo.
noinst_PROGRAMS += bench/bench_stampd
bench_bench_stampd_SOURCES = bench/bench_stampd.c
bench_bench_serve_SOURCES = bench/bench_serve.c
bench_bench_serve_CPPFLAGS = $(SERVE_CPPFLAGS)
bench_bench_serve_LDADD = bench/libsynth.la $(LIBSERVE) collector/cli/libcli.la
bench_bench_archive_SOURCES = bench/bench_archive.c
bench_bench_archive_CPPFLAGS = $(STORE_CPPFLAGS)
bench_bench_archive_LDADD = bench/libsynth.la $(LIBSTORE)
bench_owp_synth_SOURCES = bench/owp_synth.c
bench_owp_synth_LDADD = bench/libsynth.la $(LDADD)
bench_bench_loopback_SOURCES = bench/bench_loopback.c
bench_bench_owstats_SOURCES = bench/bench_owstats.c
bench_bench_owstats_SOURCES += bench/owstats_limits.c bench/owstats_limits.h
bench_bench_streams_SOURCES = bench/bench_streams.c
bench_bench_store_SOURCES = bench/bench_store.c
bench_bench_store_CPPFLAGS = $(STORE_CPPFLAGS)
bench_bench_store_LDADD = bench/libsynth.la $(LIBSTORE)
bench_bench_drain_SOURCES = bench/bench_drain.c
bench_bench_drain_CPPFLAGS = $(COLLECTOR_CPPFLAGS) $(AGENT_CPPFLAGS)
bench_bench_drain_LDADD = bench/libsynth.la $(LIBCOLLECTOR) $(LIBAGENT) $(LIBSTORE)
bench_bench_coordinator_SOURCES = bench/bench_coordinator.c
bench_bench_coordinator_CPPFLAGS = $(COORD_CPPFLAGS)
bench_bench_coordinator_LDADD = $(LIBCOORD)
EXTRA_DIST += bench/bench_concurrent.sh bench/bench_archive.sh

# libowamp - the OWAMP protocol library (RFC 4656), installed with its headers.
lib_LTLIBRARIES = libowamp/libowamp.la
LIBOWAMP = libowamp/libowamp.la
# config.h (configure's results: _GNU_SOURCE, versions) comes first in every
# compilation unit, so no file can forget it.
OWAMP_CPPFLAGS = -include $(top_builddir)/config.h -iquote $(top_srcdir)/libowamp
OWAMP_PUBLIC_H = \
	libowamp/owamp.h libowamp/error.h libowamp/bytes.h libowamp/grow.h libowamp/timestamp.h libowamp/clock.h \
	libowamp/sendsched.h libowamp/crypto.h libowamp/testpkt.h libowamp/wire.h \
	libowamp/channel.h libowamp/owpfile.h libowamp/stats.h libowamp/owdstat.h libowamp/report.h \
	libowamp/endpoint.h libowamp/hostport.h libowamp/options.h libowamp/pfs.h \
	libowamp/textfile.h libowamp/conf.h libowamp/policy.h libowamp/client.h libowamp/server.h \
	libowamp/stream.h libowamp/datadir.h \
	libowamp/twamp_wire.h libowamp/reflector.h libowamp/twamp_client.h libowamp/twstats.h \
	libowamp/stamp_wire.h libowamp/stamp_tlv.h libowamp/stamp_policy.h libowamp/stamp_reflector.h \
	libowamp/stamp_client.h
libowamp_libowamp_la_SOURCES = $(OWAMP_PUBLIC_H) \
	libowamp/error.c libowamp/grow.c libowamp/timestamp.c libowamp/clock.c \
	libowamp/sendsched.c libowamp/crypto.c libowamp/testpkt.c libowamp/wire.c \
	libowamp/channel.c libowamp/owpfile.c libowamp/stats.c libowamp/owdstat.c libowamp/report.c \
	libowamp/endpoint.c libowamp/endpoint_internal.h libowamp/endpoint_send.c \
	libowamp/endpoint_recv.c libowamp/pacer.c libowamp/pacer.h \
	libowamp/hostport.c libowamp/options.c libowamp/pfs.c \
	libowamp/textfile.c libowamp/conf.c \
	libowamp/policy.c libowamp/policy_internal.h libowamp/policy_parse.c libowamp/policy_ledger.c \
	libowamp/client.c libowamp/client_internal.h libowamp/client_session.c \
	libowamp/client_stop.c libowamp/client_fetch.c \
	libowamp/stream.c libowamp/stream_internal.h libowamp/stream_files.c \
	libowamp/stream_unmeasured.c \
	libowamp/server.c libowamp/server_internal.h libowamp/server_session.c \
	libowamp/server_stop.c libowamp/server_fetch.c \
	libowamp/datadir.c \
	libowamp/twamp_wire.c libowamp/reflector.c libowamp/twamp_server.c \
	libowamp/twamp_client.c libowamp/twstats.c libowamp/twreport.c \
	libowamp/stamp_wire.c libowamp/stamp_tlv.c libowamp/stamp_tlv_answer.c \
	libowamp/stamp_table.c libowamp/stamp_table.h libowamp/stamp_policy.c \
	libowamp/stamp_reflector.c libowamp/stamp_reflector_io.c libowamp/stamp_reflector_internal.h \
	libowamp/stamp_client.c
# Fast text for the per-record outputs (owstats -R); the statistics' loss window and sparse maps.
libowamp_libowamp_la_SOURCES += libowamp/fmt.c libowamp/fmt.h libowamp/losswin.c libowamp/losswin.h \
	libowamp/u32map.c libowamp/u32map.h
libowamp_libowamp_la_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
libowamp_libowamp_la_LIBADD = $(OPENSSL_LIBS) -lm
libowamp_libowamp_la_LDFLAGS = -version-info 0:0:0
# Installed as <owamp/NAME.h> (libowamp.pc's Cflags is -I$(includedir)), so
# that a consumer's <error.h> is still the C library's; the headers include
# each other with quotes, found next to the includer.
owampincludedir = $(includedir)/owamp
owampinclude_HEADERS = $(OWAMP_PUBLIC_H)
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = libowamp/libowamp.pc
# Two-way session files (twping -F, owstats): the .owp layout's version 0x83.
OWAMP_PUBLIC_H += libowamp/twpfile.h
libowamp_libowamp_la_SOURCES += libowamp/twpfile.c libowamp/owpfile_internal.h

# node/twampd - the TWAMP server daemon: owampd's daemon (libowampd) in its
# TWAMP role.
sbin_PROGRAMS += node/twampd/twampd
node_twampd_twampd_SOURCES = node/twampd/twampd.c
node_twampd_twampd_CPPFLAGS = $(OWAMPD_CPPFLAGS)
node_twampd_twampd_LDADD = $(LIBOWAMPD)

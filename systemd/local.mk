# systemd - a unit per daemon (owampd and the three mesh daemons), made from
# systemd/NAME.service.in with configure's directories and installed into
# systemdsystemunitdir (--with-systemdsystemunitdir; default
# $(prefix)/lib/systemd/system). Type=simple: every daemon stays in the
# foreground under systemd.
systemdsystemunit_DATA = systemd/owampd.service systemd/owmesh-coordinator.service \
	systemd/owmesh-node.service systemd/owmesh-collector.service systemd/twampd.service \
	systemd/stampd.service
EXTRA_DIST += systemd/stampd.service.in
EXTRA_DIST += systemd/twampd.service.in systemd/owampd.service.in systemd/owmesh-coordinator.service.in \
	systemd/owmesh-node.service.in systemd/owmesh-collector.service.in
CLEANFILES += $(systemdsystemunit_DATA)
# Made at make time, not by configure: $(sbindir) and friends are only
# fully expanded here (and follow a `make prefix=...`).
OWMESH_EDIT_PATHS = sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g'
OWMESH_EDIT = $(AM_V_GEN)$(MKDIR_P) $(@D) && rm -f $@ $@.tmp && \
	$(OWMESH_EDIT_PATHS) $< >$@.tmp && mv $@.tmp $@
# One suffix rule per kind of file made from a .in (units, options files, the
# example mesh), each rebuilt when the Makefile (the directories) changes.
SUFFIXES += .service.in .service .conf.in .conf .example.in .example
.service.in.service:
	$(OWMESH_EDIT)
.conf.in.conf:
	$(OWMESH_EDIT)
.example.in.example:
	$(OWMESH_EDIT)
$(systemdsystemunit_DATA) $(owmeshconf_DATA): Makefile

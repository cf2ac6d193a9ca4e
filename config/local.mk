# config - the default configuration, installed into $(sysconfdir)/owmesh: a
# commented options file per daemon (its systemd unit's EnvironmentFile) and
# an example mesh. The keys directory is made private (0700); the state
# directory $(localstatedir)/lib/owmesh is made 0755 (the daemons hand their
# own subdirectories to the user they run as). Nothing is world-writable.
owmeshconfdir = $(sysconfdir)/owmesh
owmeshconf_DATA = config/owmesh-coordinator.conf config/owmesh-node.conf \
	config/owmesh-collector.conf config/owampd.conf config/mesh.json.example \
	config/twampd.conf config/stampd.conf
OWMESH_CONF_INPUTS = config/owmesh-coordinator.conf.in config/owmesh-node.conf.in \
	config/owmesh-collector.conf.in config/owampd.conf.in config/mesh.json.example.in \
	config/twampd.conf.in config/stampd.conf.in
EXTRA_DIST += $(OWMESH_CONF_INPUTS)
# stampd's default policy: nothing to substitute, installed as it is.
dist_owmeshconf_DATA = config/stampd.policy
CLEANFILES += $(owmeshconf_DATA)
install-data-local: install-owmesh-dirs
install-owmesh-dirs:
	$(INSTALL) -d -m 0755 "$(DESTDIR)$(localstatedir)/lib/owmesh"
	$(INSTALL) -d -m 0755 "$(DESTDIR)$(owmeshconfdir)"
	$(INSTALL) -d -m 0700 "$(DESTDIR)$(owmeshconfdir)/keys"
.PHONY: install-owmesh-dirs

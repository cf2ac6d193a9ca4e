#!/usr/bin/env python3
"""man_examples.py - run the EXAMPLE(S) section of every man page in doc/.

An example in a man page is a promise to an operator who types it in. This
test reads each page's EXAMPLE or EXAMPLES section, takes its .nf/.fi blocks
(and `.TP` + `.B command` items) and runs them on loopback:

  - Command blocks: lines after a `$ ` or `# ` prompt, or, in a block with no
    prompt, every line, are commands (a trailing backslash continues one).
    They run in /bin/sh in a scratch directory, one after another; each must
    exit 0 unless the page states its exit status in a trailing comment
    (`# exit 2 ...`). Lines after a prompted command are its documented
    output: compared line by line with digits and hex strings masked (times,
    ports and SIDs differ from run to run; the shape, words and order may not).
  - File blocks (configuration files in section 5 pages, mesh definitions) are
    written where the page's fixture says and used by the program that reads
    them; the fixture checks the program accepted them.
  - Daemons (owampd, owmesh-*) started by an example are stopped at the end.

What may be changed, and nothing else:
  - Addresses and host names the page itself says to replace, in a sentence
    of its EXAMPLES section of the form "X replaced by Y" (each pair).
  - Absolute paths under /etc, /var, /run and /srv, and ~, which are taken
    inside the scratch directory (a test may not write the system's).
  - Port numbers, which are mapped one to one to free loopback ports so that
    tests can run side by side.

Each page that has examples needs a fixture below: the state its examples
presuppose (a server holding a session, a pass-phrase file, a running
coordinator) and what shows that a file block was accepted. A page whose
examples gain a new presupposition fails here until its fixture says how to
provide it; a page with an EXAMPLES section and no fixture fails too.

Usage: man_examples.py SRCDIR BUILDDIR WORKDIR [PAGE...]
Prints PASS:/FAIL: lines and "man_examples: N passed, M failed".
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

SRC, BUILD, WORK = sys.argv[1:4]
ONLY = set(sys.argv[4:])

PROGRAMS = {
    "owampd": "node/owampd/owampd",
    "owping": "node/tools/owping",
    "owstats": "node/tools/owstats",
    "owfetch": "node/tools/owfetch",
    "owup": "node/tools/owup",
    "pfstore": "node/tools/pfstore",
    "powstream": "node/tools/powstream",
    "twampd": "node/twampd/twampd",
    "twping": "node/tools/twping",
    "stampd": "node/stampd/stampd",
    "stping": "node/tools/stping",
    "owmesh": "collector/cli/owmesh",
    "owmesh-node": "node/agent/owmesh-node",
    "owmesh-coordinator": "coordinator/owmesh-coordinator",
    "owmesh-collector": "collector/daemon/owmesh-collector",
}
MARK = "OWMESH_MAN_EXAMPLE"   # in every process's environment, to find them

passed = failed = 0


def report(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("PASS: " + what)
    else:
        failed += 1
        print("FAIL: " + what)
        for line in detail.rstrip().splitlines()[-25:]:
            print("    " + line)


# ------------------------------------------------------------ reading pages

ROFF_ESCAPES = [
    ("\\(aq", "'"), ("\\(dq", '"'), ("\\(lq", '"'), ("\\(rq", '"'),
    ("\\(en", "-"), ("\\(em", "--"), ("\\(mu", "x"), ("\\&", ""),
    ("\\-", "-"), ("\\ ", " "), ("\\e", "\\"), ("\\~", " "),
]


def unroff(text):
    text = re.sub(r"\\f[BIRP]", "", text)
    text = re.sub(r"\\f\(..", "", text)
    for escape, plain in ROFF_ESCAPES:
        text = text.replace(escape, plain)
    return text


def prose_line(line):
    """A text line of roff as a reader sees it ('' for layout requests)."""
    if line.startswith(".\\\""):
        return ""
    m = re.match(r"\.(B|I|BR|IR|RB|RI|BI|IB)\s+(.*)", line)
    if m:
        words = [w.strip('"') for w in re.findall(r'"[^"]*"|\S+', m.group(2))]
        joint = " " if m.group(1) in ("B", "I") else ""   # the others alternate fonts
        return unroff(joint.join(words))
    if line.startswith("."):
        return ""
    return unroff(line)


class Block:
    def __init__(self, lines, kind):
        self.lines = lines          # unroffed text lines
        self.kind = kind            # "nf" (a display) or "tp" (a .TP item)


def examples_section(path):
    """(prose, [Block]) of the page's EXAMPLE(S) section, or None."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    start = None
    for i, line in enumerate(lines):
        if re.match(r'\.SH\s+"?EXAMPLES?"?\s*$', line):
            start = i + 1
            break
    if start is None:
        return None
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(".SH")),
               len(lines))
    prose, blocks, i = [], [], start
    while i < end:
        line = lines[i]
        if line.startswith(".nf"):
            j = i + 1
            while j < end and not lines[j].startswith(".fi"):
                j += 1
            blocks.append(Block([unroff(x) for x in lines[i + 1:j]], "nf"))
            i = j + 1
            continue
        if line.startswith(".TP") and i + 1 < end and lines[i + 1].startswith(".B "):
            blocks.append(Block([prose_line(lines[i + 1])], "tp"))
            i += 2
            continue
        prose.append(prose_line(line))
        i += 1
    return " ".join(p for p in prose if p), blocks


def stated_rewrites(prose):
    """The page's own "X replaced by Y" pairs."""
    pairs = re.findall(r"(\S+) replaced by (\S+)", prose)
    return [(a.strip(",;"), b.rstrip(".,;:)")) for a, b in pairs]


PROMPT = re.compile(r"^(\$|#) (.*)$")


def incomplete(command):
    """Whether the shell needs more lines (a backslash, a pipe, an open loop or quote)."""
    if command.endswith("\\"):
        return True
    r = subprocess.run(["/bin/sh", "-n", "-c", command], capture_output=True, text=True)
    return "end of file unexpected" in r.stderr


def commands_and_outputs(block):
    """[(command, [expected output lines])] of a command block."""
    prompted = any(PROMPT.match(x) for x in block.lines)
    result, i = [], 0
    while i < len(block.lines):
        line = block.lines[i]
        m = PROMPT.match(line) if prompted else None
        if prompted and not m:
            if result:
                result[-1][1].append(line)
            i += 1
            continue
        command = m.group(2) if m else line
        while incomplete(command) and i + 1 < len(block.lines):
            i += 1
            command = command + "\n" + block.lines[i]
        if command.strip():
            result.append((command, []))
        i += 1
    return result


# ------------------------------------------------------------ the scratch world

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class World:
    """One page's scratch directory, rewrites, environment and daemons."""

    def __init__(self, page, rewrites):
        self.page = page
        self.root = os.path.join(WORK, re.sub(r"\W", "_", page))
        shutil.rmtree(self.root, ignore_errors=True)
        self.home = self.path("~")
        self.cwd = os.path.join(self.root, "cwd")
        for d in (self.home, self.cwd):
            os.makedirs(d)
        self.rewrites = rewrites
        self.ports = {}
        bindir = os.path.join(self.root, "bin")
        os.makedirs(bindir)
        for name, rel in PROGRAMS.items():
            target = os.path.join(BUILD, rel)
            if os.path.exists(target):
                os.symlink(target, os.path.join(bindir, name))
        self.env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"],
                        HOME=self.home, **{MARK: self.root})

    def path(self, p):
        """Where an absolute system path (or ~) of an example lives here."""
        if p.startswith("~"):
            return os.path.join(self.root, "home") + p[1:]
        return self.root + p

    def port(self, number):
        number = str(number)
        if number not in self.ports:
            self.ports[number] = str(free_port())
        return self.ports[number]

    def rewrite(self, text):
        for old, new in self.rewrites:
            text = re.sub(r"(?<![\w.])%s(?![\w])" % re.escape(old), new, text)
        text = re.sub(r"(?<![\w/.~-])(/(?:etc|var|run|srv)/)",
                      lambda m: self.root + m.group(1), text)
        text = re.sub(r"(?<![\w/])~/", lambda m: self.home + "/", text)
        return re.sub(r"((?:127\.\d+\.\d+\.\d+|\[::1\]|localhost):)(\d+)\b",
                      lambda m: m.group(1) + self.port(m.group(2)), text)

    def run(self, command, timeout=30):
        return subprocess.run(["/bin/sh", "-c", command], cwd=self.cwd, env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, text=True, errors="replace")

    def start(self, command):
        """Start a daemon's command; it may stay in the foreground or fork."""
        log = open(os.path.join(self.root, "daemon.log"), "a")
        subprocess.Popen(["/bin/sh", "-c", command], cwd=self.cwd, env=self.env,
                         stdout=log, stderr=log, start_new_session=True)

    def processes(self):
        mine = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open("/proc/%s/environ" % pid, "rb") as f:
                    if (MARK + "=" + self.root).encode() in f.read().split(b"\0"):
                        mine.append(int(pid))
            except OSError:
                pass
        return mine

    def stop(self):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.processes()
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            deadline = time.time() + 5
            while self.processes() and time.time() < deadline:
                time.sleep(0.05)

    def daemon_log(self):
        try:
            with open(os.path.join(self.root, "daemon.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def wait_for(predicate, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def mask(line):
    """A line with what varies from run to run masked, and blanks made one space."""
    line = re.sub(r"[0-9a-f]{16,}", "<hex>", line)
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", line)).strip()


# Said on standard error by every program on a machine without NTP.
UNSYNC_WARNING = "clock is not synchronized"


def stated_status(command):
    m = re.search(r"#\s*exit (\d+)", command)
    return int(m.group(1)) if m else 0


def run_command(world, label, command, expected):
    actual = world.rewrite(command)
    try:
        # A daemon detaches and exits 0 once it is up (1 if it could not start).
        r = world.run(actual)
    except subprocess.TimeoutExpired:
        report(False, label, "timed out: " + actual)
        return None
    want = stated_status(command)
    detail = "$ %s\nexit %d (expected %d)\n%s%s" % (actual, r.returncode, want, r.stdout,
                                                    r.stderr)
    if r.returncode != want:
        report(False, label, detail)
        return r
    if expected:
        got = [mask(x) for x in (r.stdout + r.stderr).splitlines()
               if UNSYNC_WARNING not in x]
        promised = [mask(x) for x in expected]
        while promised and not promised[-1]:
            promised.pop()
        if got[:len(promised)] != promised:
            report(False, label + ": output as documented",
                   detail + "\ndocumented (masked):\n" + "\n".join(promised) +
                   "\nprinted (masked):\n" + "\n".join(got))
            return r
    report(True, label)
    return r


def run_commands(world, page, index, block, after=None):
    """Run a block's commands; after[n] (1-based), if given, is the fixture's
    step that follows command n (what the page tells the operator to do)."""
    for n, (command, expected) in enumerate(commands_and_outputs(block)):
        first = command.splitlines()[0]
        run_command(world, "%s example %d.%d: %s" % (page, index, n + 1, first[:60]),
                    command, expected)
        if after and n + 1 in after:
            after[n + 1]()


# ------------------------------------------------------------ owampd for examples

VECTORS = os.path.join(SRC, "tests", "vectors")
PASSPHRASE = "correct horse"        # the pass-phrase owampd.pfs(5) stores


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def pfs_line(identity, phrase=PASSPHRASE):
    return "%s\t%s\n" % (identity, phrase.encode().hex())


def run_as_root_user():
    """owampd's user/group lines when the test runs as root (it will not keep root)."""
    return "user nobody\ngroup nogroup\n" if os.getuid() == 0 else ""


def store_session(world, vector, sid, dest):
    """A copy of a vector session file that carries the SID an example names
    (owfetch checks that the server sent the session it asked for)."""
    with open(os.path.join(VECTORS, vector), "rb") as f:
        data = f.read()
    r = world.run("owstats -M %s" % os.path.join(VECTORS, vector))
    old = re.search(r"^SID\s+([0-9a-f]{32})", r.stdout, re.M).group(1)
    assert data.count(bytes.fromhex(old)) == 1, vector
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "wb") as f:
        f.write(data.replace(bytes.fromhex(old), bytes.fromhex(sid)))


def prepare_dirs(world, *paths):
    """Make the system directories an example's daemon writes to, as an
    operator would: owned by the user the daemon runs as."""
    for p in paths:
        os.makedirs(world.path(p), exist_ok=True)
        if os.getuid() == 0:
            shutil.chown(world.path(p), "nobody", "nogroup")


def owampd_serving(world, address, stored=(), authmode="AEO", pfs=None, daemon="owampd"):
    """Start an owampd (or twampd: daemon) listening on address (host:port,
    already rewritten) holding stored = [(sid, vector file)] in its catalog;
    wait until it answers."""
    server = "twamp-server" if daemon == "twampd" else "owamp-server"
    conf = os.path.join(world.root, "fixture-%s-%s" % (daemon, re.sub(r"\W", "_", address)))
    data = os.path.join(conf, "data")
    for sid, vector in stored:
        # Without a limits file every client is in class "default".
        store_session(world, vector, sid,
                      os.path.join(data, "hierarchy", "default", sid + ".owp"))
    write(os.path.join(conf, server + ".conf"),
          "srcnode %s\ndatadir %s\nvardir %s\nauthmode %s\n%s" %
          (address, data, conf, authmode, run_as_root_user()))
    if pfs:
        write(os.path.join(conf, server + ".pfs"), pfs, 0o600)
    os.system("chmod -R a+rwX %s" % conf)
    world.start("%s -Z -c %s" % (daemon, conf))
    host, port = address.rsplit(":", 1)
    return wait_for(lambda: listening(host.strip("[]"), int(port)))


def listening(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def loopback_of(world, text):
    """The address an example's host name or address is rewritten to."""
    return world.rewrite(text)


# ------------------------------------------------------------ the pages

def page_owfetch(world, blocks):
    stored = [("7f000001eeae6a02739ce8d969dfd161", "owp/owfetch.owp"),
              ("0a000005eeae70c2b1a3de5c9f2e4a10", "owp/open-to.owp"),
              ("0a000005eeae70d0c4f17a1b2c3d4e5f", "owp/auth-to.owp")]
    write(world.path("~/.owamp.pfs"), pfs_line("alice"), 0o600)
    ok = owampd_serving(world, world.rewrite("127.0.0.1:8861"), stored,
                        pfs=pfs_line("alice"))
    report(ok, "owfetch.1: the server the examples fetch from is up", world.daemon_log())
    for i, block in enumerate(blocks):
        run_commands(world, "owfetch.1", i + 1, block)
    for name in ("s1.owp", "a.owp", "b.owp", "s.owp", "s.sum"):
        path = os.path.join(world.cwd, name)
        report(os.path.exists(path) and os.path.getsize(path) > 0,
               "owfetch.1: the examples fetched " + name)


def page_owup(world, blocks):
    write(world.path("~/.owamp.pfs"), pfs_line("alice"), 0o600)
    ok = owampd_serving(world, world.rewrite("127.0.0.1:8861"), pfs=pfs_line("alice"))
    report(ok, "owup.1: the server is up", world.daemon_log())
    for i, block in enumerate(blocks):
        run_commands(world, "owup.1", i + 1, block)


def page_owping(world, blocks):
    pfs = pfs_line("alice")
    write(world.path("/etc/owamp/owping.pfs"), pfs, 0o600)
    v4 = world.rewrite("192.0.2.7")
    v6 = world.rewrite("[2001:db8::7]:8861")
    ok = owampd_serving(world, v4, pfs=pfs)
    report(ok, "owping.1: the IPv4 server is up", world.daemon_log())
    ok = owampd_serving(world, v6, pfs=pfs)
    report(ok, "owping.1: the IPv6 server is up", world.daemon_log())
    for i, block in enumerate(blocks):
        run_commands(world, "owping.1", i + 1, block)


def page_twping(world, blocks):
    pfs = pfs_line("alice")
    write(world.path("/etc/twamp/twping.pfs"), pfs, 0o600)
    for text, label in ((world.rewrite("192.0.2.7"), "IPv4"),
                        (world.rewrite("[2001:db8::7]:862"), "IPv6")):
        ok = owampd_serving(world, text, authmode="AEMO", pfs=pfs, daemon="twampd")
        report(ok, "twping.1: the %s twampd is up" % label, world.daemon_log())
    for i, block in enumerate(blocks):
        run_commands(world, "twping.1", i + 1, block)


# ------------------------------------------------------------ STAMP's pages

STAMP_KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"


def stamp_keys(world):
    """alice's key where the pages keep it (the line stampd(8) shows)."""
    write(world.path("/etc/owmesh/stamp.keys"), "alice %s\n" % STAMP_KEY)


def stampd_serving(world, address, options=""):
    """A stampd in the foreground on address (host:port, rewritten)."""
    world.start("stampd -Z -i 0 -S %s %s" % (address, options))
    return wait_for(lambda: "listening on %s " % address in world.daemon_log())


def page_stampd(world, blocks):
    stamp_keys(world)
    write(world.path("/etc/owmesh/stampd.policy"), world.rewrite("\n".join(blocks[0].lines) + "\n"))
    run_commands(world, "stampd.8", 2, blocks[1])
    r = world.run("stping -c 5 -i 0.01 -L 0.5 %s" % world.rewrite("192.0.2.7:862"))
    report(r.returncode == 0 and "5 sent, 0 lost" in r.stdout,
           "stampd.8: the example's policy answers the loopback prefix", r.stdout + r.stderr)


def page_stping(world, blocks):
    stamp_keys(world)
    for address, options, label in (
            (world.rewrite("192.0.2.7:862"), "", "IPv4"),
            (world.rewrite("[2001:db8::7]:862"),
             "-A A -k %s -u alice" % world.path("/etc/owmesh/stamp.keys"), "IPv6 authenticated")):
        report(stampd_serving(world, address, options), "stping.1: the %s stampd is up" % label,
               world.daemon_log())
    for i, block in enumerate(blocks):
        run_commands(world, "stping.1", i + 1, block)


def page_owstats(world, blocks):
    shutil.copy(os.path.join(VECTORS, "owp", "loss-dup-from.owp"), world.cwd)
    shutil.copy(os.path.join(VECTORS, "owp", "clean100-from.owp"),
                os.path.join(world.cwd, "session.owp"))
    os.makedirs(world.path("/var/tmp/sums"))
    for i, block in enumerate(blocks):
        run_commands(world, "owstats.1", i + 1, block)


def page_pfstore(world, blocks):
    os.makedirs(world.path("/etc/owamp-server"))
    world.env["OWMESH_MAN_STDIN"] = PASSPHRASE
    for i, block in enumerate(blocks):
        command = block.lines[0]
        # pfstore -n prompts for the pass-phrase: the operator types it.
        if "printf" not in command:
            command = "printf '%s\\n' | %s" % (PASSPHRASE, command)
        run_command(world, "pfstore.1 example %d: %s" % (i + 1, block.lines[0][:60]),
                    command, [])


def owampd_accepts(world, label, conf_text, extra=None):
    """Start owampd on conf_text (with its srcnode) and see it answer owup."""
    confdir = os.path.join(world.root, "conf-" + re.sub(r"\W", "_", label))
    conf_text = conf_text.replace("@DATADIR@", os.path.join(confdir, "data"))
    write(os.path.join(confdir, "owamp-server.conf"), conf_text)
    for name, text in (extra or {}).items():
        write(os.path.join(confdir, name), text, 0o600)
    os.system("chmod -R a+rwX %s" % confdir)
    address = re.search(r"^srcnode\s+(\S+)", conf_text, re.M).group(1)
    world.start("owampd -Z -c %s" % confdir)
    host, port = address.rsplit(":", 1)
    ok = wait_for(lambda: listening(host.strip("[]"), int(port)))
    report(ok, label, world.daemon_log())
    return ok


def page_owampd_conf(world, blocks):
    full = world.rewrite("\n".join(blocks[0].lines) + "\n")
    prepare_dirs(world, "/var/lib/owamp", "/run/owamp", "/srv/measurements/owamp")
    user = re.search(r"^user\s+(\S+)", full, re.M).group(1)
    if os.getuid() == 0 and subprocess.run(["id", user], capture_output=True).returncode:
        report(True, "owampd.conf.5: (the example's user %s does not exist here: skipped "
               "running it as root)" % user)
        full = re.sub(r"^(user|group)\s.*\n", "", full, flags=re.M) + run_as_root_user()
    elif os.getuid() != 0:
        full = re.sub(r"^(user|group)\s.*\n", "", full, flags=re.M)
    conf = world.path("/etc/owamp-server/owamp-server.conf")
    write(conf, full)
    run_commands(world, "owampd.conf.5", 2, blocks[1])
    address = re.search(r"^srcnode\s+(\S+)", full, re.M).group(1)
    host, port = address.rsplit(":", 1)
    report(wait_for(lambda: listening(host, int(port))),
           "owampd.conf.5 example 1: owampd serves on the configured srcnode",
           world.daemon_log())
    world.stop()
    base = re.sub(r"^(user|group|facility)\s.*\n", "", full, flags=re.M) + run_as_root_user()
    for i, block in enumerate(blocks[2:], start=3):
        fragment = world.rewrite("\n".join(block.lines) + "\n")
        owampd_accepts(world, "owampd.conf.5 example %d: owampd runs with it" % i,
                       base + fragment)
        world.stop()
    report(os.path.isdir(world.path("/srv/measurements/owamp/data")),
           "owampd.conf.5: the continued datadir line names the data directory")


def page_owampd_limits(world, blocks):
    limits = "\n".join(blocks[0].lines) + "\n"
    conf = ("srcnode 127.0.0.1:%s\ndatadir @DATADIR@\n" %
            world.port(8861) + run_as_root_user())
    # The example assigns alice a class: she is in the server's pass-phrase file.
    if owampd_accepts(world, "owampd.limits.5: owampd runs with the example",
                      conf, {"owamp-server.limits": limits,
                             "owamp-server.pfs": pfs_line("alice")}):
        r = world.run("owping -c 3 -i 0.01 127.0.0.1:%s" % world.port(8861))
        report(r.returncode == 0, "owampd.limits.5: a default-class client measures",
               r.stdout + r.stderr)


def page_owampd_pfs(world, blocks):
    pfs = "\n".join(blocks[0].lines) + "\n"
    phrase = re.search(r'pass-phrase "([^"]+)"', pfs).group(1)
    conf = ("srcnode 127.0.0.1:%s\ndatadir @DATADIR@\nauthmode A\n" %
            world.port(8861) + run_as_root_user())
    if owampd_accepts(world, "owampd.pfs.5: owampd runs with the example",
                      conf, {"owamp-server.pfs": pfs}):
        keyfile = os.path.join(world.root, "alice.pfs")
        write(keyfile, pfs_line("alice", phrase), 0o600)
        r = world.run("owping -A A -u alice -k %s -c 3 -i 0.01 127.0.0.1:%s" %
                      (keyfile, world.port(8861)))
        report(r.returncode == 0, "owampd.pfs.5: alice authenticates with the commented "
               "pass-phrase", r.stdout + r.stderr)



# ------------------------------------------------------------ the mesh's pages

def public_key(cert):
    with open(cert) as f:
        return re.search(r'public-key = "([^"]+)"', f.read()).group(1)


def coordinator_keys(world):
    """The coordinator's key pair, made in a directory of its own; only its
    public certificate is copied where the pages say: /etc/owmesh/keys."""
    keydir = os.path.join(world.root, "coordinator")
    os.makedirs(keydir)
    os.makedirs(world.path("/etc/owmesh/keys"), 0o700, exist_ok=True)
    r = world.run("owmesh keygen %s/coordinator" % keydir)
    assert r.returncode == 0, r.stderr
    shutil.copy(os.path.join(keydir, "coordinator"), world.path("/etc/owmesh/keys/coordinator"))
    return keydir


def write_mesh(path, nodes, collectors=None, analysts=None):
    """A mesh of nodes {name: (address, public key or None)}, every pair
    measured, with the collectors and analysts {name: public key} it trusts."""
    import json
    mesh = {"nodes": {}, "groups": {"all": {"type": "mesh", "nodes": sorted(nodes)}},
            "tests": {"owd": {"type": "latencybg", "packet-interval": 0.1,
                              "packet-count": 100}},
            "tasks": {"all-owd": {"group": "all", "test": "owd"}}}
    for name, (address, key) in nodes.items():
        mesh["nodes"][name] = {"address": address}
        if key:
            mesh["nodes"][name]["public-key"] = key
    for role, members in (("collectors", collectors), ("analysts", analysts)):
        if members:
            mesh[role] = {name: {"public-key": key} for name, key in members.items()}
    write(path, json.dumps(mesh, indent=2) + "\n")


def start_coordinator(world, mesh, keydir):
    """The coordinator the pages' programs talk to, on 127.0.0.1 (the pages'
    coord.example.net), in the foreground with its log in daemon.log."""
    port = world.port(8620)
    world.start("owmesh-coordinator -Z -v -c %s -k %s/coordinator_secret -B tcp://127.0.0.1:%s"
                % (mesh, keydir, port))
    ok = wait_for(lambda: listening("127.0.0.1", int(port)))
    report(ok, "%s: the coordinator is up" % world.page, world.daemon_log())


def logged(world, pattern, seconds=20):
    return wait_for(lambda: re.search(pattern, world.daemon_log()), seconds)


def page_owmesh_mesh(world, blocks):
    write(os.path.join(world.cwd, "mesh.json"), "\n".join(blocks[0].lines) + "\n")
    r = world.run("owmesh check mesh.json")
    streams = [x for x in r.stdout.splitlines() if "->" in x]
    report(r.returncode == 0 and len(streams) == 6,
           "owmesh-mesh.5: owmesh check accepts the example: six streams",
           r.stdout + r.stderr)


def page_owmesh_coordinator(world, blocks):
    os.makedirs(world.path("/etc/owmesh/keys"), 0o700)
    shutil.copy(os.path.join(SRC, "mesh-configs", "demo-3node.json"),
                world.path("/etc/owmesh/mesh.json"))
    run_commands(world, "owmesh-coordinator.8", 1, blocks[0])


def page_owmesh_node(world, blocks):
    keydir = coordinator_keys(world)
    os.makedirs(world.path("/etc/owamp-server"))
    os.makedirs(world.path("/var/lib/owmesh"))     # as make install leaves it
    mesh = os.path.join(keydir, "mesh.json")
    chi = world.rewrite("192.0.2.7")

    def list_node_and_start_coordinator():
        key = public_key(world.path("/etc/owmesh/keys/node"))
        write_mesh(mesh, {"chi": (chi, key), "nyc": ("127.0.0.3:8610", None)})
        start_coordinator(world, mesh, keydir)

    run_commands(world, "owmesh-node.8", 1, blocks[0], {1: list_node_and_start_coordinator})
    report(logged(world, r"node chi \([^)]*\): hello"),
           "owmesh-node.8: the node says hello to the coordinator", world.daemon_log())


def page_owmesh_collector(world, blocks):
    keydir = coordinator_keys(world)
    mesh = world.path("/etc/owmesh/mesh.json")

    def list_collector_and_start_coordinator():
        key = public_key(world.path("/etc/owmesh/keys/collector"))
        write_mesh(mesh, {"chi": ("127.0.0.2:8610", None), "nyc": ("127.0.0.3:8610", None)},
                   collectors={"archive": key})
        start_coordinator(world, mesh, keydir)

    os.makedirs(world.path("/var/lib/owmesh"))     # as make install leaves it
    run_commands(world, "owmesh-collector.8", 1, blocks[0],
                 {1: list_collector_and_start_coordinator})
    report(logged(world, r"collector archive[^:]*: directory request answered"),
           "owmesh-collector.8: the coordinator hears from collector archive",
           world.daemon_log())


def recent_sessions(world, directory, src, dst):
    """Sessions measured just now from src to dst, as a powstream keeps them."""
    os.makedirs(directory)
    port = str(free_port())
    if not owampd_serving(world, "%s:%s" % (dst, port)):
        return False
    for i in range(2):
        r = world.run("owping -S %s -c 20 -i 0.01 -T %s/s%d.owp %s:%s"
                      % (src, directory, i, dst, port))
        if r.returncode:
            return False
    return True


def page_owmesh(world, blocks):
    keydir = coordinator_keys(world)
    nyc, chi = "127.0.0.2", "127.0.0.3"
    world.env["OWMESH_STORE"] = world.path("/var/lib/owmesh/store")  # the default store
    os.makedirs(world.path("/var/lib/owmesh"))     # as make install leaves it
    os.makedirs(world.path("/var/www"))
    report(recent_sessions(world, world.path("/var/lib/powstream/chi"), nyc, chi),
           "owmesh.1: sessions from nyc to chi measured for the import", world.daemon_log())

    def list_analyst_and_start_coordinator():
        key = public_key(world.path("~/.owmesh/analyst"))
        write_mesh(os.path.join(world.cwd, "mesh.json"),
                   {"nyc": (nyc, None), "chi": (chi, None)}, analysts={"noc": key})
        start_coordinator(world, os.path.join(world.cwd, "mesh.json"), keydir)

    run_commands(world, "owmesh.1", 1, blocks[0], {1: list_analyst_and_start_coordinator})
    run_commands(world, "owmesh.1", 2, blocks[1])
    for made in ("/var/www/mesh.html", "nyc-chi.svg", "out"):
        path = world.path(made) if made.startswith("/") else os.path.join(world.cwd, made)
        report(os.path.exists(path), "owmesh.1: the examples wrote " + made)
    exported = os.listdir(os.path.join(world.cwd, "out")) if os.path.isdir(
        os.path.join(world.cwd, "out")) else []
    report(any(x.endswith(".owp") for x in exported),
           "owmesh.1: export wrote the imported sessions back", " ".join(exported))


FIXTURES = {
    "owfetch.1": page_owfetch,
    "owup.1": page_owup,
    "owping.1": page_owping,
    "twping.1": page_twping,
    "stampd.8": page_stampd,
    "stping.1": page_stping,
    "owstats.1": page_owstats,
    "pfstore.1": page_pfstore,
    "owampd.conf.5": page_owampd_conf,
    "owampd.limits.5": page_owampd_limits,
    "owampd.pfs.5": page_owampd_pfs,
    "owmesh-mesh.5": page_owmesh_mesh,
    "owmesh-coordinator.8": page_owmesh_coordinator,
    "owmesh-node.8": page_owmesh_node,
    "owmesh-collector.8": page_owmesh_collector,
    "owmesh.1": page_owmesh,
}


def main():
    docdir = os.path.join(SRC, "doc")
    for page in sorted(os.listdir(docdir)):
        if not re.search(r"\.[158]$", page) or (ONLY and page not in ONLY):
            continue
        section = examples_section(os.path.join(docdir, page))
        if section is None:
            continue
        prose, blocks = section
        fixture = FIXTURES.get(page)
        if not fixture:
            report(False, "%s: has examples but no fixture in %s" % (page, __file__))
            continue
        world = World(page, stated_rewrites(prose))
        try:
            fixture(world, blocks)
        except Exception as e:  # a broken fixture is a failure, not a crash
            report(False, "%s: fixture raised %r" % (page, e), world.daemon_log())
        finally:
            world.stop()
    print("man_examples: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


sys.exit(main())

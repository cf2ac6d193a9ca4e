/* agent_owampd.c - supervise the owampd child (see agent_owampd.h). */
#include "agent_owampd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon_log.h"

#define OWAMPD_PATH_MAX 4096
#define BACKOFF_MIN 1.0
#define BACKOFF_MAX 60.0
#define STABLE_RUN 60.0 /* a child that lived this long resets the back-off */
#define STOP_GRACE 5.0

struct agent_owampd {
    char program[OWAMPD_PATH_MAX];
    char node[128];
    char listen[300];
    char confdir[OWAMPD_PATH_MAX];
    char datadir[OWAMPD_PATH_MAX];
    char vardir[OWAMPD_PATH_MAX];
    char testports[32];
    char authmode[8];
    char run_user[64];
    char run_group[64];
    int copy_stderr;
    pid_t pid;
    double started_at;
    double next_start; /* monotonic time of the next attempt */
    double hold_until; /* no first start before (agent_owampd_hold) */
    double backoff;
    unsigned starts;
};

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

int agent_owampd_default_program(char *buf, size_t len)
{
    char exe[OWAMPD_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    /* A libtool build tree runs the real binary from .libs/: its wrapper
     * scripts (owampd among them) sit one level up. */
    size_t dl = strlen(exe);
    if (dl >= 6 && strcmp(exe + dl - 6, "/.libs") == 0)
        exe[dl - 6] = '\0';
    int w = snprintf(buf, len, "%s/owampd", exe);
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

agent_owampd *agent_owampd_new(const agent_owampd_config *c, owp_err *err)
{
    if (!c || !c->program || !c->listen || !c->datadir || !c->vardir) {
        owp_err_set(err, OWP_ERR_INVALID, "owampd: program, listen, datadir and vardir needed");
        return NULL;
    }
    agent_owampd *self = calloc(1, sizeof *self);
    if (!self) {
        owp_err_set(err, OWP_ERR_NOMEM, "owampd: out of memory");
        return NULL;
    }
    copy(self->program, sizeof self->program, c->program);
    copy(self->node, sizeof self->node, c->node);
    copy(self->listen, sizeof self->listen, c->listen);
    copy(self->confdir, sizeof self->confdir, c->confdir);
    copy(self->datadir, sizeof self->datadir, c->datadir);
    copy(self->vardir, sizeof self->vardir, c->vardir);
    copy(self->testports, sizeof self->testports, c->testports);
    copy(self->authmode, sizeof self->authmode, c->authmode);
    copy(self->run_user, sizeof self->run_user, c->run_user);
    copy(self->run_group, sizeof self->run_group, c->run_group);
    self->copy_stderr = c->copy_stderr;
    self->backoff = BACKOFF_MIN;
    self->next_start = 0;
    return self;
}

static int ensure_dir(const agent_owampd *self, const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return 0;
    log_err("node %s: owampd: mkdir %s: %s", self->node, dir, strerror(errno));
    return -1;
}

/* The previous child's pid and info files: an owampd started while the
 * node was root wrote them as root, and one started after the node's drop
 * could not open them again. The child is reaped, the files are stale. */
static void remove_stale_files(const agent_owampd *self)
{
    const char *names[] = {"owamp-server.pid", "owamp-server.info"};
    char path[OWAMPD_PATH_MAX + 32];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", self->vardir, names[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            log_warn("node %s: owampd: %s: %s", self->node, path, strerror(errno));
    }
}

static void spawn(agent_owampd *self, double now)
{
    if (ensure_dir(self, self->datadir) != 0 || ensure_dir(self, self->vardir) != 0) {
        self->next_start = now + self->backoff;
        return;
    }
    remove_stale_files(self);
    if (access(self->program, X_OK) != 0) {
        log_err("node %s: owampd: cannot run %s: %s (retry in %g s)", self->node, self->program,
                strerror(errno), self->backoff);
        self->next_start = now + self->backoff;
        self->backoff = self->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : self->backoff * 2;
        return;
    }
    const char *argv[24];
    int n = 0;
    argv[n++] = self->program;
    argv[n++] = "-Z";
    /* owampd uses them only when started as root (before the node dropped
     * to the same user); later starts run as that user already. */
    if (self->run_user[0]) {
        argv[n++] = "-U";
        argv[n++] = self->run_user;
    }
    if (self->run_group[0]) {
        argv[n++] = "-G";
        argv[n++] = self->run_group;
    }
    argv[n++] = "-S";
    argv[n++] = self->listen;
    argv[n++] = "-d";
    argv[n++] = self->datadir;
    argv[n++] = "-R";
    argv[n++] = self->vardir;
    if (self->confdir[0]) {
        argv[n++] = "-c";
        argv[n++] = self->confdir;
    }
    if (self->testports[0]) {
        argv[n++] = "-P";
        argv[n++] = self->testports;
    }
    if (self->authmode[0]) {
        argv[n++] = "-a";
        argv[n++] = self->authmode;
    }
    argv[n] = NULL;

    /* Everything the child needs is ready before fork: between fork and exec
     * only async-signal-safe calls (the agent has threads). */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    sigset_t none, old;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        /* Default dispositions for what the agent catches; nothing blocked. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            sigaction(sigs[i], &dfl, NULL);
        /* An agent killed without a chance to stop its server takes it along. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (devnull >= 0) {
            dup2(devnull, 0);
            if (!self->copy_stderr)
                dup2(devnull, 2);
        }
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* execv's argv is char *const[] for historical reasons; it never writes. */
        execv(self->program, (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    int rc = pid < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (devnull >= 0)
        close(devnull);
    if (rc != 0) {
        log_err("node %s: owampd: cannot run %s: %s (retry in %g s)", self->node, self->program,
                strerror(rc), self->backoff);
        self->next_start = now + self->backoff;
        self->backoff = self->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : self->backoff * 2;
        return;
    }
    self->pid = pid;
    self->started_at = now;
    self->starts++;
    log_info("node %s: owampd started (pid %d) on %s%s%s", self->node, (int)pid, self->listen,
             self->testports[0] ? ", test ports " : "", self->testports);
}

static void describe_exit(const agent_owampd *self, int status, char *buf, size_t len)
{
    (void)self;
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "ended (status 0x%x)", status);
}

void agent_owampd_tick(agent_owampd *self, double now)
{
    if (self->pid > 0) {
        int status;
        pid_t r = waitpid(self->pid, &status, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR))
            return;
        char how[64];
        describe_exit(self, status, how, sizeof how);
        if (now - self->started_at >= STABLE_RUN)
            self->backoff = BACKOFF_MIN;
        log_warn("node %s: owampd (pid %d) %s: restarting in %g s", self->node, (int)self->pid,
                 how, self->backoff);
        self->pid = 0;
        self->next_start = now + self->backoff;
        self->backoff = self->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : self->backoff * 2;
        return;
    }
    if (now < self->next_start || now < self->hold_until)
        return;
    if (self->hold_until) {
        log_info("node %s: no schedule yet: starting owampd with the command line's settings",
                 self->node);
        self->hold_until = 0;
    }
    spawn(self, now);
}

void agent_owampd_hold(agent_owampd *self, double until)
{
    self->hold_until = until;
}

void agent_owampd_release(agent_owampd *self)
{
    self->hold_until = 0;
}

/* SIGTERM, wait up to STOP_GRACE, then SIGKILL. */
static void stop_child(agent_owampd *self)
{
    if (self->pid <= 0)
        return;
    kill(self->pid, SIGTERM);
    double deadline = owp_clock_monotonic() + STOP_GRACE;
    int status;
    for (;;) {
        pid_t r = waitpid(self->pid, &status, WNOHANG);
        if (r == self->pid || (r < 0 && errno != EINTR))
            break;
        if (owp_clock_monotonic() >= deadline) {
            log_warn("node %s: owampd (pid %d) still running %g s after SIGTERM: SIGKILL",
                     self->node, (int)self->pid, STOP_GRACE);
            kill(self->pid, SIGKILL);
            waitpid(self->pid, &status, 0);
            break;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    log_info("node %s: owampd (pid %d) stopped", self->node, (int)self->pid);
    self->pid = 0;
}

int agent_owampd_reconfigure(agent_owampd *self, const char *listen, const char *testports,
                             const char *authmode)
{
    int differs = (listen && strcmp(listen, self->listen) != 0) ||
                  (testports && strcmp(testports, self->testports) != 0) ||
                  (authmode && strcmp(authmode, self->authmode) != 0);
    if (!differs)
        return 0;
    if (listen)
        copy(self->listen, sizeof self->listen, listen);
    if (testports)
        copy(self->testports, sizeof self->testports, testports);
    if (authmode)
        copy(self->authmode, sizeof self->authmode, authmode);
    if (self->pid > 0)
        log_info("node %s: owampd settings changed by the schedule: restarting it", self->node);
    stop_child(self);
    self->backoff = BACKOFF_MIN;
    self->next_start = 0;
    return 1;
}

pid_t agent_owampd_pid(const agent_owampd *self)
{
    return self->pid;
}

unsigned agent_owampd_starts(const agent_owampd *self)
{
    return self->starts;
}

void agent_owampd_destroy(agent_owampd **self_p)
{
    if (!self_p || !*self_p)
        return;
    stop_child(*self_p);
    free(*self_p);
    *self_p = NULL;
}

/*
 * PID 1 of the otel-os-events test VM (built with `gcc -static` by
 * build-kernel.sh, placed at /init in the initramfs by run.sh).
 *
 * It mounts the pseudo filesystems, brings the loopback interface up (the
 * kernel then gives it 127.0.0.1; tests run a collector and an agent that
 * talk over it), reads the command to run from
 * CMD_FILE, runs it, and reports how it ended:
 *   - on the console, as the exact line  "OTEL_OS_EVENTS_VM_EXIT=<n>"
 *     (n = exit code, or 128 + signal number if the command was killed);
 *   - through qemu's isa-debug-exit device at port 0xf4 (qemu then exits
 *     with (n << 1) | 1; only the low 7 bits of n survive);
 * then powers the machine off.
 *
 * CMD_FILE is a sequence of NUL-terminated records, each tagged by its
 * first two bytes:
 *   "C=<dir>"        working directory (created if missing)
 *   "E=<NAME=VALUE>" one environment variable
 *   "A=<arg>"        one argument; the first one is the program (absolute path)
 * A file with no "A=" records is a boot probe: nothing runs, status 0.
 *
 * Before starting the command it prints START_MARKER on its own line so
 * run.sh can drop everything the firmware and kernel printed before it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define CMD_FILE "/otel-os-events-vm.cmd"
#define START_MARKER "OTEL_OS_EVENTS_VM_START"
#define EXIT_MARKER "OTEL_OS_EVENTS_VM_EXIT="
#define DEBUG_EXIT_PORT 0xf4
#define MAX_RECORDS 4096

/* Status used when init itself cannot run the command. */
#define STATUS_INIT_FAILED 125

/* fmt takes exactly two %s. */
static void msg(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "vm-init: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
}

static void mount_one(const char *source, const char *target, const char *type)
{
    mkdir(target, 0755);
    if (mount(source, target, type, 0, NULL) != 0 && errno != EBUSY)
        fprintf(stderr, "vm-init: mount %s on %s: %s\n", type, target, strerror(errno));
}

/* `ip link set lo up`: SIOCSIFFLAGS with IFF_UP on "lo". A kernel without
 * IPv4 (socket() fails with EAFNOSUPPORT) has nothing to bring up. */
static void loopback_up(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (errno != EAFNOSUPPORT)
            fprintf(stderr, "vm-init: socket: %s\n", strerror(errno));
        return;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
        fprintf(stderr, "vm-init: SIOCGIFFLAGS lo: %s\n", strerror(errno));
    } else {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
            fprintf(stderr, "vm-init: SIOCSIFFLAGS lo: %s\n", strerror(errno));
    }
    close(fd);
}

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 1;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    }
    closedir(d);
    return empty;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Make the console fds 0, 1, 2. The kernel only opens /dev/console for us
 * if the initramfs carries that device node; ours does not (building it
 * would need mknod), so open it here once devtmpfs is mounted. */
static void setup_console(void)
{
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0)
        return; /* nothing we can print to anyway */
    for (int i = 0; i < 3; i++)
        if (fd != i)
            dup2(fd, i);
    if (fd > 2)
        close(fd);

    /* Pass output through byte for byte: no "\n" -> "\r\n" translation. */
    struct termios t;
    if (tcgetattr(1, &t) == 0) {
        t.c_oflag &= ~(tcflag_t)OPOST;
        t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        tcsetattr(1, TCSANOW, &t);
    }
}

static char *read_file(const char *path, size_t *len_out)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

/* Never returns. */
static void report_and_power_off(int status)
{
    fflush(stdout);
    fprintf(stdout, EXIT_MARKER "%d\n", status);
    fflush(stdout);
    /* Wait until the serial port has sent everything, or the last lines
     * (the status line above all) would be lost at power-off. */
    tcdrain(1);

    if (ioperm(DEBUG_EXIT_PORT, 4, 1) == 0)
        outl((unsigned int)status, DEBUG_EXIT_PORT); /* qemu exits here */
    else
        perror("vm-init: ioperm");

    sync();
    reboot(RB_POWER_OFF); /* with qemu -no-reboot this also ends qemu */
    for (;;)
        pause();
}

int main(void)
{
    static char *args[MAX_RECORDS + 1];
    static char *envs[MAX_RECORDS + 2];
    size_t nargs = 0, nenvs = 0;
    const char *cwd = "/";

    mount_one("devtmpfs", "/dev", "devtmpfs");
    setup_console();
    mount_one("proc", "/proc", "proc");
    mount_one("sysfs", "/sys", "sysfs");
    mount_one("tracefs", "/sys/kernel/tracing", "tracefs");
    /* run.sh puts files at their host paths; if some live under /tmp
     * (a CARGO_TARGET_DIR there, say), a tmpfs on /tmp would hide them.
     * The initramfs root is writable anyway, so then /tmp stays as is. */
    if (dir_is_empty("/tmp"))
        mount_one("tmpfs", "/tmp", "tmpfs");
    mount_one("tmpfs", "/dev/shm", "tmpfs");
    loopback_up();

    size_t len;
    char *cmd = read_file(CMD_FILE, &len);
    if (!cmd) {
        msg("cannot read %s%s", CMD_FILE, "");
        report_and_power_off(STATUS_INIT_FAILED);
    }
    for (size_t off = 0; off < len;) {
        char *rec = cmd + off;
        size_t rlen = strlen(rec);
        off += rlen + 1;
        if (rlen < 2 || rec[1] != '=') {
            msg("bad record in %s: %s", CMD_FILE, rec);
            report_and_power_off(STATUS_INIT_FAILED);
        }
        if (nargs >= MAX_RECORDS || nenvs >= MAX_RECORDS) {
            msg("too many records in %s%s", CMD_FILE, "");
            report_and_power_off(STATUS_INIT_FAILED);
        }
        switch (rec[0]) {
        case 'C': cwd = rec + 2; break;
        case 'E': envs[nenvs++] = rec + 2; break;
        case 'A': args[nargs++] = rec + 2; break;
        default:
            msg("bad record in %s: %s", CMD_FILE, rec);
            report_and_power_off(STATUS_INIT_FAILED);
        }
    }
    args[nargs] = NULL;
    envs[nenvs] = NULL;

    if (nargs == 0) /* boot probe */
        report_and_power_off(0);

    if (make_dirs(cwd) != 0 || chdir(cwd) != 0) {
        msg("cannot create/enter working directory %s: %s", cwd, strerror(errno));
        report_and_power_off(STATUS_INIT_FAILED);
    }

    printf("%s\n", START_MARKER);
    fflush(stdout);

    pid_t child = fork();
    if (child < 0) {
        perror("vm-init: fork");
        report_and_power_off(STATUS_INIT_FAILED);
    }
    if (child == 0) {
        execve(args[0], args, envs);
        msg("cannot execute %s: %s", args[0], strerror(errno));
        _exit(127);
    }

    /* As PID 1 we also inherit orphans: reap everything, stop at ours. */
    int wstatus = 0;
    for (;;) {
        pid_t pid = waitpid(-1, &wstatus, 0);
        if (pid == child)
            break;
        if (pid < 0 && errno != EINTR) {
            perror("vm-init: waitpid");
            report_and_power_off(STATUS_INIT_FAILED);
        }
    }

    int status;
    if (WIFEXITED(wstatus))
        status = WEXITSTATUS(wstatus);
    else if (WIFSIGNALED(wstatus))
        status = 128 + WTERMSIG(wstatus);
    else
        status = STATUS_INIT_FAILED;
    report_and_power_off(status);
}

/* New-TCP-connection load generator for bench/netfilter.py (built with cc at bench time).
 *
 *   netfilter_load serve ADDR PORT WORKERS      accept() + close() in WORKERS processes
 *                                               (SO_REUSEPORT); prints "ready"; runs until killed
 *   netfilter_load connect ADDR PORT PROCS SECONDS
 *                                               PROCS processes, each connect() + close() with
 *                                               SO_LINGER 0 (RST, no TIME_WAIT) in a tight loop;
 *                                               prints total connections per second
 *
 * One Python process tops out near the rate being measured, so it adds its own noise; this
 * does the same work (one new conntrack flow per connection) without an interpreter.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int serve(struct sockaddr_in *addr, int workers) {
    for (int i = 0; i < workers; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (bind(s, (struct sockaddr *)addr, sizeof *addr) || listen(s, 4096)) {
            perror("bind/listen");
            return 1;
        }
        if (fork() == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* die with the parent the bench kills */
            for (;;) {
                int c = accept(s, NULL, NULL);
                if (c >= 0) close(c);
            }
        }
        close(s);
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}

static int connect_loop(struct sockaddr_in *addr, int procs, double seconds) {
    int fds[2];
    if (pipe(fds)) return 1;
    double start = now();
    for (int i = 0; i < procs; i++) {
        if (fork() == 0) {
            struct linger lg = {1, 0};
            long done = 0, failed = 0;
            double end = start + seconds;
            while (now() < end) {
                for (int k = 0; k < 64; k++) {
                    int s = socket(AF_INET, SOCK_STREAM, 0);
                    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                    if (connect(s, (struct sockaddr *)addr, sizeof *addr) == 0) done++;
                    else failed++;
                    close(s);
                }
            }
            long out[2] = {done, failed};
            if (write(fds[1], out, sizeof out) != sizeof out) _exit(1);
            _exit(0);
        }
    }
    close(fds[1]);
    long total = 0, failed = 0, got[2];
    while (read(fds[0], got, sizeof got) == sizeof got) {
        total += got[0];
        failed += got[1];
    }
    while (wait(NULL) > 0) {}
    double elapsed = now() - start;
    printf("%.1f %ld %ld\n", total / elapsed, total, failed);
    return failed ? 2 : 0;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s serve ADDR PORT WORKERS | connect ADDR PORT PROCS SECONDS\n",
                argv[0]);
        return 64;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    if (inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1) return 64;
    if (strcmp(argv[1], "serve") == 0) return serve(&addr, atoi(argv[4]));
    if (strcmp(argv[1], "connect") == 0 && argc >= 6)
        return connect_loop(&addr, atoi(argv[4]), atof(argv[5]));
    return 64;
}

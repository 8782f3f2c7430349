/*
 * The C baseline of a process backend's start-up (issue #18, goal 4): what
 * fork-pipe does at its barest, in the same process as the bench. For each
 * of `workers` children: pipe, fork; the child writes one 64-byte record
 * (the size of piscale's worker outcome) and _exits; the parent reads every
 * record and reaps every child. No pinning, no signal resets, no death
 * signal, no sentinel: piscale's extra work is measured against this.
 *
 * Compiled by benches/build.rs with the system C compiler when there is one
 * (the `start/c-fork-pipe/<P>` bench runs it through FFI).
 *
 * Returns 0, or -1 if a system call failed.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define RECORD 64

int piscale_fork_baseline(int workers) {
    pid_t pids[MAX_WORKERS];
    int fds[MAX_WORKERS];
    char record[RECORD] = {0};
    if (workers < 1 || workers > MAX_WORKERS) return -1;
    for (int w = 0; w < workers; w++) {
        int p[2];
        if (pipe(p) != 0) return -1;
        pid_t pid = fork();
        if (pid < 0) return -1;
        if (pid == 0) {
            close(p[0]);
            record[0] = (char)w;
            ssize_t n = write(p[1], record, RECORD);
            _exit(n == RECORD ? 0 : 1);
        }
        close(p[1]);
        pids[w] = pid;
        fds[w] = p[0];
    }
    int failed = 0;
    for (int w = 0; w < workers; w++) {
        char got[RECORD];
        ssize_t n = 0;
        while (n < RECORD) {
            ssize_t r = read(fds[w], got + n, RECORD - n);
            if (r <= 0) break;
            n += r;
        }
        close(fds[w]);
        int status;
        if (waitpid(pids[w], &status, 0) != pids[w] || n != RECORD) failed = 1;
    }
    return failed ? -1 : 0;
}

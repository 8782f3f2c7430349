/* Midpoint-rule estimate of pi with OpenMP (the course's C example).
 *
 *     gcc -O2 -fopenmp -o pi_omp pi_omp.c
 *     OMP_NUM_THREADS=4 ./pi_omp 100000000
 *
 * pi is the integral of 4 / (1 + x^2) from 0 to 1: cut [0, 1] into N steps
 * of width h = 1/N and add up the function at the middle of each step, times
 * h. `parallel for` splits the steps into one contiguous range per thread
 * (schedule(static)) and `reduction(+:sum)` adds the threads' partial sums.
 *
 * Prints the steps and threads, then its own compute time (omp_get_wtime
 * around the parallel loop only: the team's start and the loop, not the
 * program's start-up) as `compute time: 0.123456 s`, then the estimate on
 * the last line as `pi = 3.141592653589793`, so that `piscale sweep` finds
 * it with the `estimate` pattern or as the last number with a decimal point.
 * Exits 2 with a message on a bad argument.
 */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s N   (N: steps, a whole number >= 1)\n", argv[0]);
        return 2;
    }
    char *end;
    errno = 0;
    long long n = strtoll(argv[1], &end, 10);
    if (errno != 0 || end == argv[1] || *end != '\0' || n < 1) {
        fprintf(stderr, "%s: N must be a whole number >= 1, not '%s'\n", argv[0], argv[1]);
        return 2;
    }

    const double h = 1.0 / (double)n;
    double sum = 0.0;
    int threads = omp_get_max_threads(); /* the team the loop will get */

    double start = omp_get_wtime();
#pragma omp parallel for schedule(static) reduction(+:sum)
    for (long long i = 0; i < n; i++) {
        double x = ((double)i + 0.5) * h;
        sum += 4.0 / (1.0 + x * x);
    }
    double seconds = omp_get_wtime() - start;

    printf("samples=%lld threads=%d\n", n, threads);
    printf("compute time: %.6f s\n", seconds);
    printf("pi = %.15f\n", sum * h);
    return 0;
}

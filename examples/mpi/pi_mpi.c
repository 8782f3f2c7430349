/* Midpoint-rule estimate of pi with MPI (the course's C example).
 *
 *     mpicc -O2 -o pi_mpi pi_mpi.c
 *     mpirun -n 4 ./pi_mpi 100000000
 *
 * pi is the integral of 4 / (1 + x^2) from 0 to 1: cut [0, 1] into N steps
 * of width h = 1/N and add up the function at the middle of each step, times
 * h. Each rank sums one contiguous range of the steps (as even as possible)
 * and MPI_Reduce adds the partial sums on rank 0. Deterministic: the same N
 * gives the same estimate at any rank count, up to the rounding of the sums.
 *
 * Rank 0 prints the steps and ranks, then the compute time (MPI_Wtime from a
 * barrier before the loop to the end of the reduce, so the slowest rank
 * counts; not mpirun's launch nor MPI_Init) as `compute time: 0.123456 s`,
 * then the estimate on the last line as `pi = 3.141592653589793`, so that
 * `piscale sweep` finds it with the `estimate` pattern or as the last number
 * with a decimal point. Exits 2 with a message on a bad argument.
 */
#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    /* Every rank reads N the same way, so every rank agrees to stop. */
    long long n = 0;
    char *end = NULL;
    if (argc == 2) {
        errno = 0;
        n = strtoll(argv[1], &end, 10);
        if (errno != 0 || end == argv[1] || *end != '\0')
            n = 0;
    }
    if (n < 1) {
        if (rank == 0)
            fprintf(stderr, "usage: %s N   (N: steps, a whole number >= 1; got %s)\n",
                    argv[0], argc == 2 ? argv[1] : "no N");
        MPI_Finalize();
        return 2;
    }

    /* This rank's contiguous range of steps: the first n % size ranks get one more. */
    long long base = n / size, extra = n % size;
    long long start = rank * base + (rank < extra ? rank : extra);
    long long stop = start + base + (rank < extra ? 1 : 0);

    const double h = 1.0 / (double)n;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    double part = 0.0;
    for (long long i = start; i < stop; i++) {
        double x = ((double)i + 0.5) * h;
        part += 4.0 / (1.0 + x * x);
    }
    double sum = 0.0;
    MPI_Reduce(&part, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    double seconds = MPI_Wtime() - t0;

    if (rank == 0) {
        printf("samples=%lld ranks=%d\n", n, size);
        printf("compute time: %.6f s\n", seconds);
        printf("pi = %.15f\n", sum * h);
    }
    MPI_Finalize();
    return 0;
}

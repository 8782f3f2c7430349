/*
 * C references for the kernels (issue #18): the best plain C we could write
 * for each method, compiled by benches/build.rs with -O3 -march=native
 * -ffast-math -fopenmp-simd when a C compiler is present, and timed by the
 * `c-ref` bench group beside piscale's kernels on the same work.
 *
 * - piscale_c_midpoint: the midpoint rule as a C programmer writes it for
 *   speed: `omp simd` reduction, a double loop counter so that the loop
 *   vectorises without an int64 -> double conversion, one division a step.
 * - piscale_c_midpoint_pairs: the same with two steps per division,
 *   4(b1 + b2)/(b1 b2), the algebra piscale's kernel uses.
 * - piscale_c_mc: xoshiro256++ in eight interleaved lanes and piscale's hit
 *   test (x = r >> 32, y = r & 0xffffffff, a hit when x^2 + y^2 does not
 *   carry out of 64 bits), written so that gcc vectorises it.
 */
#include <stdint.h>

double piscale_c_midpoint(int64_t steps, int64_t start, int64_t len) {
    const double h = 1.0 / (double)steps;
    double sum = 0.0;
    double t = (double)start + 0.5;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < len; i++) {
        double x = (t + (double)i) * h;
        sum += 4.0 / (1.0 + x * x);
    }
    return sum;
}

double piscale_c_midpoint_pairs(int64_t steps, int64_t start, int64_t len) {
    const double h = 1.0 / (double)steps;
    double sum = 0.0;
    double t = (double)start + 0.5;
    int64_t half = len / 2;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < half; i++) {
        double x1 = (t + (double)(2 * i)) * h, x2 = (t + (double)(2 * i + 1)) * h;
        double b1 = 1.0 + x1 * x1, b2 = 1.0 + x2 * x2;
        sum += (b1 + b2) / (b1 * b2);
    }
    sum *= 4.0;
    if (len & 1) {
        double x = (t + (double)(len - 1)) * h;
        sum += 4.0 / (1.0 + x * x);
    }
    return sum;
}

#define LANES 8

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix(uint64_t *z) {
    uint64_t r = (*z += 0x9e3779b97f4a7c15ULL);
    r = (r ^ (r >> 30)) * 0xbf58476d1ce4e5b9ULL;
    r = (r ^ (r >> 27)) * 0x94d049bb133111ebULL;
    return r ^ (r >> 31);
}

uint64_t piscale_c_mc(uint64_t seed, uint64_t samples) {
    uint64_t s0[LANES], s1[LANES], s2[LANES], s3[LANES];
    uint64_t z = seed;
    for (int l = 0; l < LANES; l++) {
        s0[l] = splitmix(&z);
        s1[l] = splitmix(&z);
        s2[l] = splitmix(&z);
        s3[l] = splitmix(&z);
    }
    uint64_t misses[LANES] = {0};
    uint64_t rounds = samples / LANES;
    for (uint64_t r = 0; r < rounds; r++) {
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
            uint64_t out = rotl(s0[l] + s3[l], 23) + s0[l];
            uint64_t t = s1[l] << 17;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = rotl(s3[l], 45);
            uint64_t x = out >> 32, y = out & 0xffffffffULL;
            uint64_t x2 = x * x, sum = x2 + y * y;
            misses[l] += sum < x2; /* carried: outside the circle */
        }
    }
    uint64_t m = 0;
    for (int l = 0; l < LANES; l++) m += misses[l];
    return rounds * LANES - m;
}

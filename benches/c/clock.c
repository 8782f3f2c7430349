/*
 * The clock of the core this runs on, for benches that turn times into
 * cycles: a chain of dependent `add`s takes exactly one cycle each on every
 * x86-64 core, whatever its turbo or its VM host says. The caller times
 * piscale_c_add_chain(n) (8·n cycles) with its own monotonic clock.
 * Compiled by benches/build.rs (x86-64 only) and included by port_probe.c.
 */
#include <stdint.h>

void piscale_c_add_chain(long n) {
    uint64_t x = 0;
    __asm__ volatile(
        "1:\n"
        "add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n"
        "add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n"
        "dec %1\n jnz 1b\n"
        : "+r"(x), "+r"(n));
}

/* What the vector pipes of this core can do, measured: the clock (a chain of
 * dependent `add`s, one cycle each), then the throughput of every
 * instruction the mc kernels use, in instructions per cycle, each from 12
 * independent chains so that latency cannot bind. docs/performance.md turns
 * these into the port limit of each kernel ("Port limits, measured").
 *
 *   scripts/port-probe.sh            # builds this with gcc and runs it
 *
 * x86-64 only; the AVX-512 rows run only where the CPU has AVX-512F. Every
 * figure is the best of 7 runs of ~20 ms (a VM's vCPU is sometimes taken
 * away; the best run is the one it was not).
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ITERS 200000L
#define RUNS 7

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* 8 dependent adds per iteration: 8 cycles, whatever the core. */
#include "clock.c"
#define add_chain piscale_c_add_chain

/* Twelve copies of one instruction on registers 0..11 (each its own chain).
 * R is the register prefix: "ymm" or "zmm". */
#define X12(I, R)                                                           \
    I(R, 0) I(R, 1) I(R, 2) I(R, 3) I(R, 4) I(R, 5) I(R, 6) I(R, 7) I(R, 8) \
        I(R, 9) I(R, 10) I(R, 11)

#define STR2(x) #x
#define STR(x) STR2(x)
#define PADD(R, i) "vpaddq %%" #R "15, %%" #R STR(i) ", %%" #R STR(i) "\n"
#define PXOR(R, i) "vpxor" SUFFIX_##R " %%" #R "15, %%" #R STR(i) ", %%" #R STR(i) "\n"
#define SUFFIX_ymm ""
#define SUFFIX_zmm "q"
#define PTERN(R, i) "vpternlogq $0x96, %%" #R "14, %%" #R "15, %%" #R STR(i) "\n"
#define PSLL(R, i) "vpsllq $17, %%" #R STR(i) ", %%" #R STR(i) "\n"
#define PSRL(R, i) "vpsrlq $32, %%" #R STR(i) ", %%" #R STR(i) "\n"
#define PROL(R, i) "vprolq $23, %%" #R STR(i) ", %%" #R STR(i) "\n"
#define PMUL(R, i) "vpmuludq %%" #R "15, %%" #R STR(i) ", %%" #R STR(i) "\n"
#define PSHUF(R, i) "vpshufd $0xb1, %%" #R STR(i) ", %%" #R STR(i) "\n"
#define PCMPGT(R, i) "vpcmpgtq %%" #R "15, %%" #R STR(i) ", %%" #R STR(i) "\n"
/* Compare into a mask register: k1..k6 in turn (nothing reads them). */
#define PCMPK(R, i) "vpcmpnleuq %%" #R "15, %%" #R STR(i) ", %%k" STR(KREG(i)) "\n"
#define KREG(i) KREG_##i
#define KREG_0 1
#define KREG_1 2
#define KREG_2 3
#define KREG_3 4
#define KREG_4 5
#define KREG_5 6
#define KREG_6 1
#define KREG_7 2
#define KREG_8 3
#define KREG_9 4
#define KREG_10 5
#define KREG_11 6
/* A merge-masked subtract under k1, as the kernel counts its misses. */
#define PSUBK(R, i) "vpsubq %%" #R "15, %%" #R STR(i) ", %%" #R STR(i) "%{%%k7%}\n"

#define CLOBBER_V                                                           \
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
        "xmm9", "xmm10", "xmm11", "xmm14", "xmm15"

#define PROBE(NAME, I, R)                                                    \
    __attribute__((target("avx2,avx512f,avx512vl"))) static void NAME(long n) { \
        __asm__ volatile("1:\n" X12(I, R) "dec %0\n jnz 1b\n"                \
                         : "+r"(n)                                           \
                         :                                                   \
                         : CLOBBER_V, "k1", "k2", "k3", "k4", "k5", "k6");   \
    }

PROBE(ymm_add, PADD, ymm)
PROBE(ymm_xor, PXOR, ymm)
PROBE(ymm_sll, PSLL, ymm)
PROBE(ymm_srl, PSRL, ymm)
PROBE(ymm_mul, PMUL, ymm)
PROBE(ymm_shuf, PSHUF, ymm)
PROBE(ymm_cmpgt, PCMPGT, ymm)
PROBE(zmm_add, PADD, zmm)
PROBE(zmm_xor, PXOR, zmm)
PROBE(zmm_tern, PTERN, zmm)
PROBE(zmm_sll, PSLL, zmm)
PROBE(zmm_srl, PSRL, zmm)
PROBE(zmm_rol, PROL, zmm)
PROBE(zmm_mul, PMUL, zmm)
PROBE(zmm_shuf, PSHUF, zmm)
PROBE(zmm_cmpk, PCMPK, zmm)
PROBE(zmm_subk, PSUBK, zmm)

/* Two instructions of different kinds in turn, six of each, to tell whether
 * they share pipes: alone each runs at 1 a cycle (zmm); if they share
 * their pipes, together they still run 1 a cycle, if not, 2. */
#define PAIR(A, B, R)                                                        \
    A(R, 0) B(R, 1) A(R, 2) B(R, 3) A(R, 4) B(R, 5) A(R, 6) B(R, 7) A(R, 8) \
        B(R, 9) A(R, 10) B(R, 11)
#define PROBE2(NAME, A, B, R)                                                \
    __attribute__((target("avx2,avx512f,avx512vl"))) static void NAME(long n) { \
        __asm__ volatile("1:\n" PAIR(A, B, R) "dec %0\n jnz 1b\n"          \
                         : "+r"(n)                                           \
                         :                                                   \
                         : CLOBBER_V, "k1", "k2", "k3", "k4", "k5", "k6");   \
    }
PROBE2(zmm_sll_mul, PSLL, PMUL, zmm)
PROBE2(zmm_sll_cmpk, PSLL, PCMPK, zmm)
PROBE2(zmm_mul_cmpk, PMUL, PCMPK, zmm)
PROBE2(zmm_sll_add, PSLL, PADD, zmm)
PROBE2(ymm_sll_mul, PSLL, PMUL, ymm)
PROBE2(ymm_sll_cmpgt, PSLL, PCMPGT, ymm)
PROBE2(ymm_mul_cmpgt, PMUL, PCMPGT, ymm)

/* The AVX-512 mc kernel's loop body as rustc compiles it (16 vector
 * instructions per 8 samples), one round per iteration: its own
 * dependencies, as in the kernel. */
#define ROUND512(S0, S1, S2, S3, R, X, M, K)                          \
    "vpaddq %%" S3 ", %%" S0 ", %%" R "\n"                            \
    "vprolq $23, %%" R ", %%" R "\n"                                  \
    "vpaddq %%" S0 ", %%" R ", %%" R "\n"                             \
    "vpsllq $17, %%" S1 ", %%" X "\n"                                 \
    "vpxorq %%" S0 ", %%" S2 ", %%" S2 "\n"                           \
    "vpxorq %%" S3 ", %%" S1 ", %%" S3 "\n"                           \
    "vpxorq %%" S1 ", %%" S2 ", %%" S1 "\n"                           \
    "vpxorq %%" S0 ", %%" S3 ", %%" S0 "\n"                           \
    "vpxorq %%" X ", %%" S2 ", %%" S2 "\n"                            \
    "vprolq $45, %%" S3 ", %%" S3 "\n"                                \
    "vpsrlq $32, %%" R ", %%" X "\n"                                  \
    "vpmuludq %%" X ", %%" X ", %%" X "\n"                            \
    "vpmuludq %%" R ", %%" R ", %%" R "\n"                            \
    "vpternlogq $15, %%" X ", %%" X ", %%" X "\n"                     \
    "vpcmpnleuq %%" X ", %%" R ", %%" K "\n"                          \
    "vpsubq %%zmm31, %%" M ", %%" M "%{%%" K "%}\n"

__attribute__((target("avx512f"))) static void kernel512_one(long n) {
    __asm__ volatile("vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n"
                     "1:\n" ROUND512("zmm1", "zmm0", "zmm3", "zmm2", "zmm6", "zmm7", "zmm4", "k1")
                     "dec %0\n jnz 1b\n"
                     : "+r"(n)
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm6", "xmm7", "xmm31", "k1");
}

/* The same body split in two: the draw and the state update of round k
 * (A), and the hit test of round k - 1's draw (B), whose long chain
 * (add, rotate, add, shift, multiply, compare) then overlaps the next
 * draw. Two rounds per iteration, the draw alternating between two
 * registers, so nothing is moved. */
#define DRAW512(S0, S1, S2, S3, R, T)                                 \
    "vpaddq %%" S3 ", %%" S0 ", %%" R "\n"                            \
    "vprolq $23, %%" R ", %%" R "\n"                                  \
    "vpaddq %%" S0 ", %%" R ", %%" R "\n"                             \
    "vpsllq $17, %%" S1 ", %%" T "\n"                                 \
    "vpxorq %%" S0 ", %%" S2 ", %%" S2 "\n"                           \
    "vpxorq %%" S3 ", %%" S1 ", %%" S3 "\n"                           \
    "vpxorq %%" S1 ", %%" S2 ", %%" S1 "\n"                           \
    "vpxorq %%" S0 ", %%" S3 ", %%" S0 "\n"                           \
    "vpxorq %%" T ", %%" S2 ", %%" S2 "\n"                            \
    "vprolq $45, %%" S3 ", %%" S3 "\n"
#define TEST512(R, X, M, K)                                           \
    "vpsrlq $32, %%" R ", %%" X "\n"                                  \
    "vpmuludq %%" X ", %%" X ", %%" X "\n"                            \
    "vpmuludq %%" R ", %%" R ", %%" R "\n"                            \
    "vpternlogq $15, %%" X ", %%" X ", %%" X "\n"                     \
    "vpcmpnleuq %%" X ", %%" R ", %%" K "\n"                          \
    "vpsubq %%zmm31, %%" M ", %%" M "%{%%" K "%}\n"

__attribute__((target("avx512f"))) static void kernel512_pipelined(long n) {
    __asm__ volatile("vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n"
                     "1:\n" DRAW512("zmm1", "zmm0", "zmm3", "zmm2", "zmm6", "zmm7")
                     TEST512("zmm8", "zmm9", "zmm4", "k1")
                     DRAW512("zmm1", "zmm0", "zmm3", "zmm2", "zmm8", "zmm7")
                     TEST512("zmm6", "zmm10", "zmm4", "k2")
                     "dec %0\n jnz 1b\n"
                     : "+r"(n)
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm31", "k1", "k2");
}

/* The draw with the five xors as three three-way xors and one xor
 * (vpternlogq 0x96): 15 instructions a round instead of 16. */
#define DRAW512T(S0, S1, S2, S3, R, T)                                \
    "vpaddq %%" S3 ", %%" S0 ", %%" R "\n"                            \
    "vprolq $23, %%" R ", %%" R "\n"                                  \
    "vpaddq %%" S0 ", %%" R ", %%" R "\n"                             \
    "vpsllq $17, %%" S1 ", %%" T "\n"                                 \
    "vpxorq %%" S3 ", %%" S1 ", %%" S3 "\n"                           \
    "vpternlogq $0x96, %%" S0 ", %%" S2 ", %%" S1 "\n"                \
    "vpternlogq $0x96, %%" S0 ", %%" T ", %%" S2 "\n"                 \
    "vpxorq %%" S3 ", %%" S0 ", %%" S0 "\n"                           \
    "vprolq $45, %%" S3 ", %%" S3 "\n"

__attribute__((target("avx512f"))) static void kernel512_tern(long n) {
    __asm__ volatile("vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n"
                     "1:\n" DRAW512T("zmm1", "zmm0", "zmm3", "zmm2", "zmm6", "zmm7")
                     TEST512("zmm8", "zmm9", "zmm4", "k1")
                     DRAW512T("zmm1", "zmm0", "zmm3", "zmm2", "zmm8", "zmm7")
                     TEST512("zmm6", "zmm10", "zmm4", "k2")
                     "dec %0\n jnz 1b\n"
                     : "+r"(n)
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm31", "k1", "k2");
}

/* Two blocks side by side, each with its test one round behind. */
__attribute__((target("avx512f"))) static void kernel512_two_pipelined(long n) {
    __asm__ volatile("vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n"
                     "1:\n" DRAW512("zmm1", "zmm0", "zmm3", "zmm2", "zmm6", "zmm7")
                     DRAW512("zmm17", "zmm16", "zmm19", "zmm18", "zmm20", "zmm21")
                     TEST512("zmm8", "zmm9", "zmm4", "k1")
                     TEST512("zmm23", "zmm24", "zmm22", "k3")
                     DRAW512("zmm1", "zmm0", "zmm3", "zmm2", "zmm8", "zmm7")
                     DRAW512("zmm17", "zmm16", "zmm19", "zmm18", "zmm23", "zmm21")
                     TEST512("zmm6", "zmm10", "zmm4", "k2")
                     TEST512("zmm20", "zmm25", "zmm22", "k4")
                     "dec %0\n jnz 1b\n"
                     : "+r"(n)
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
                       "xmm23", "xmm24", "xmm25", "xmm31", "k1", "k2", "k3", "k4");
}

/* The AVX2 kernel: four lanes per ymm, so a round is two halves of 21
 * instructions (no 64-bit rotate: shift, shift, or; no unsigned compare: the
 * square biased by 2^63, then a signed compare). */
#define DRAW256(S0, S1, S2, S3, R, T)                                 \
    "vpaddq %%" S0 ", %%" S3 ", %%" R "\n"                            \
    "vpsrlq $41, %%" R ", %%" T "\n"                                  \
    "vpsllq $23, %%" R ", %%" R "\n"                                  \
    "vpor %%" T ", %%" R ", %%" R "\n"                                \
    "vpaddq %%" S0 ", %%" R ", %%" R "\n"                             \
    "vpsllq $17, %%" S1 ", %%" T "\n"                                 \
    "vpxor %%" S0 ", %%" S2 ", %%" S2 "\n"                            \
    "vpxor %%" S1 ", %%" S3 ", %%" S3 "\n"                            \
    "vpxor %%" S2 ", %%" S1 ", %%" S1 "\n"                            \
    "vpxor %%" S3 ", %%" S0 ", %%" S0 "\n"                            \
    "vpxor %%" T ", %%" S2 ", %%" S2 "\n"                             \
    "vpsrlq $19, %%" S3 ", %%" T "\n"                                 \
    "vpsllq $45, %%" S3 ", %%" S3 "\n"                                \
    "vpor %%" T ", %%" S3 ", %%" S3 "\n"
#define TEST256(R, X, M)                                              \
    "vpsrlq $32, %%" R ", %%" X "\n"                                  \
    "vpmuludq %%" X ", %%" X ", %%" X "\n"                            \
    "vpmuludq %%" R ", %%" R ", %%" R "\n"                            \
    "vpxor %%ymm9, %%" X ", %%" X "\n"                                \
    "vpaddq %%" R ", %%" X ", %%" R "\n"                              \
    "vpcmpgtq %%" R ", %%" X ", %%" R "\n"                            \
    "vpsubq %%" R ", %%" M ", %%" M "\n"

#define AVX2_CLOBBERS                                                       \
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

/* As rustc compiles it: both halves drawn, then both tested. */
__attribute__((target("avx2"))) static void kernel256_one(long n) {
    __asm__ volatile("vpcmpeqq %%ymm9, %%ymm9, %%ymm9\n vpsllq $63, %%ymm9, %%ymm9\n"
                     "1:\n" DRAW256("ymm0", "ymm1", "ymm4", "ymm5", "ymm11", "ymm13")
                     DRAW256("ymm2", "ymm3", "ymm6", "ymm7", "ymm12", "ymm14")
                     TEST256("ymm11", "ymm13", "ymm8") TEST256("ymm12", "ymm14", "ymm10")
                     "dec %0\n jnz 1b\n"
                     : "+r"(n)
                     :
                     : AVX2_CLOBBERS);
}

/* Each half's test one round behind its draw, two rounds per iteration. */
__attribute__((target("avx2"))) static void kernel256_pipelined(long n) {
    __asm__ volatile("vpcmpeqq %%ymm9, %%ymm9, %%ymm9\n vpsllq $63, %%ymm9, %%ymm9\n"
                     "1:\n" DRAW256("ymm0", "ymm1", "ymm4", "ymm5", "ymm11", "ymm15")
                     TEST256("ymm13", "ymm15", "ymm8")
                     DRAW256("ymm2", "ymm3", "ymm6", "ymm7", "ymm12", "ymm15")
                     TEST256("ymm14", "ymm15", "ymm10")
                     DRAW256("ymm0", "ymm1", "ymm4", "ymm5", "ymm13", "ymm15")
                     TEST256("ymm11", "ymm15", "ymm8")
                     DRAW256("ymm2", "ymm3", "ymm6", "ymm7", "ymm14", "ymm15")
                     TEST256("ymm12", "ymm15", "ymm10")
                     "dec %0\n jnz 1b\n"
                     : "+r"(n)
                     :
                     : AVX2_CLOBBERS);
}

/* AVX-512VL on ymm: the AVX-512 instructions four lanes at a time, a
 * round as two independent halves (as the AVX2 layout), single-pumped on
 * Zen 4. */
#define TESTVL(R, X, M, K)                                            \
    "vpsrlq $32, %%" R ", %%" X "\n"                                  \
    "vpmuludq %%" X ", %%" X ", %%" X "\n"                            \
    "vpmuludq %%" R ", %%" R ", %%" R "\n"                            \
    "vpternlogq $15, %%" X ", %%" X ", %%" X "\n"                     \
    "vpcmpnleuq %%" X ", %%" R ", %%" K "\n"                          \
    "vpsubq %%ymm31, %%" M ", %%" M "%{%%" K "%}\n"

__attribute__((target("avx512f,avx512vl"))) static void kernelvl_two_halves(long n) {
    __asm__ volatile("vpternlogd $0xff, %%ymm31, %%ymm31, %%ymm31\n"
                     "1:\n" DRAW512("ymm1", "ymm0", "ymm3", "ymm2", "ymm6", "ymm7")
                     DRAW512("ymm17", "ymm16", "ymm19", "ymm18", "ymm20", "ymm21")
                     TESTVL("ymm6", "ymm7", "ymm4", "k1")
                     TESTVL("ymm20", "ymm21", "ymm22", "k2")
                     "dec %0\n jnz 1b\n"
                     : "+r"(n)
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm6", "xmm7", "xmm16", "xmm17",
                       "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm31", "k1", "k2");
}

/* Two independent rounds per iteration (two blocks' lanes side by side). */
__attribute__((target("avx512f"))) static void kernel512_two(long n) {
    __asm__ volatile("vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n"
                     "1:\n" ROUND512("zmm1", "zmm0", "zmm3", "zmm2", "zmm6", "zmm7", "zmm4", "k1")
                     ROUND512("zmm17", "zmm16", "zmm19", "zmm18", "zmm20", "zmm21", "zmm22", "k2")
                     "dec %0\n jnz 1b\n"
                     : "+r"(n)
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm6", "xmm7", "xmm16", "xmm17",
                       "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm31", "k1", "k2");
}

/* The general registers: twelve chains of one instruction each. */
#define G12(OP)                                                               \
    OP("r8") OP("r9") OP("r10") OP("r11") OP("r12") OP("r13") OP("r14")       \
        OP("r15") OP("rsi") OP("rdi") OP("rcx") OP("rdx")
#define GADD(r) "add $3, %%" r "\n"
#define GXOR(r) "xor %%rax, %%" r "\n"
#define GROL(r) "rol $23, %%" r "\n"
#define GSHL(r) "shl $17, %%" r "\n"
#define GIMUL(r) "imul %%" r ", %%" r "\n"
#define GPROBE(NAME, OP)                                                      \
    static void NAME(long n) {                                                \
        __asm__ volatile("1:\n" G12(OP) "dec %0\n jnz 1b\n"                  \
                         : "+b"(n)                                            \
                         :                                                    \
                         : "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", \
                           "rsi", "rdi", "rcx", "rdx");                       \
    }
GPROBE(gpr_add, GADD)
GPROBE(gpr_xor, GXOR)
GPROBE(gpr_rol, GROL)
GPROBE(gpr_shl, GSHL)
GPROBE(gpr_imul, GIMUL)
/* imul beside another kind: six of each. */
#define G6PAIR(A, B)                                                          \
    A("r8") B("r9") A("r10") B("r11") A("r12") B("r13") A("r14") B("r15")     \
        A("rsi") B("rdi") A("rcx") B("rdx")
#define GPROBE2(NAME, A, B)                                                   \
    static void NAME(long n) {                                                \
        __asm__ volatile("1:\n" G6PAIR(A, B) "dec %0\n jnz 1b\n"             \
                         : "+b"(n)                                            \
                         :                                                    \
                         : "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", \
                           "rsi", "rdi", "rcx", "rdx");                       \
    }
GPROBE2(gpr_imul_rol, GIMUL, GROL)
GPROBE2(gpr_imul_add, GIMUL, GADD)

/* The scalar mc loop as rustc compiles it (lanes two at a time): two
 * draws and their tests per iteration. */
static void kernel_scalar_two_lanes(long n) {
    __asm__ volatile(
        "1:\n"
        "lea (%%r15,%%rbx,1),%%r8\n rol $0x17,%%r8\n add %%rbx,%%r8\n"
        "mov %%r12,%%r9\n shl $0x11,%%r9\n"
        "xor %%rbx,%%rbp\n xor %%r12,%%r15\n xor %%rbp,%%r12\n xor %%r15,%%rbx\n"
        "xor %%r9,%%rbp\n rol $0x2d,%%r15\n"
        "lea (%%r14,%%r13,1),%%r9\n rol $0x17,%%r9\n add %%r14,%%r9\n"
        "mov %%r11,%%rcx\n shl $0x11,%%rcx\n"
        "xor %%r14,%%rdx\n xor %%r11,%%r13\n xor %%rdx,%%r11\n xor %%r13,%%r14\n"
        "rol $0x2d,%%r13\n xor %%rcx,%%rdx\n"
        "mov %%r8d,%%ecx\n shr $0x20,%%r8\n imul %%r8,%%r8\n imul %%rcx,%%rcx\n not %%r8\n"
        "mov %%r9d,%%r10d\n shr $0x20,%%r9\n imul %%r9,%%r9\n imul %%r10,%%r10\n"
        "cmp %%rcx,%%r8\n not %%r9\n sbb $-1,%%rax\n cmp %%r10,%%r9\n sbb $-1,%%rax\n"
        "dec %%rdi\n jne 1b\n"
        : "+D"(n)
        :
        : "rax", "rbx", "rcx", "rdx", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
          "r15", "cc");
}

/* The same with the squares and the carry test in SSE2, as rustc compiles
 * the scalar path on x86-64. */
static void kernel_scalar_sse2(long n) {
    __asm__ volatile(
        "pxor %%xmm0, %%xmm0\n"
        "1:\n"
        "lea (%%r14,%%r12,1),%%r8\n mov %%r9,%%rbp\n shl $0x11,%%rbp\n"
        "xor %%r14,%%r10\n xor %%r9,%%r12\n movq %%r14,%%xmm1\n xor %%r12,%%r14\n"
        "rol $0x2d,%%r12\n xor %%r10,%%r9\n lea (%%r15,%%r13,1),%%rbx\n rol $0x17,%%rbx\n"
        "xor %%rbp,%%r10\n rol $0x17,%%r8\n movq %%rbx,%%xmm2\n movq %%r8,%%xmm3\n"
        "punpcklqdq %%xmm2,%%xmm3\n movq %%r15,%%xmm2\n punpcklqdq %%xmm2,%%xmm1\n"
        "paddq %%xmm3,%%xmm1\n mov %%rcx,%%r8\n shl $0x11,%%r8\n xor %%r15,%%rdx\n"
        "xor %%rcx,%%r13\n xor %%rdx,%%rcx\n xor %%r13,%%r15\n xor %%r8,%%rdx\n"
        "rol $0x2d,%%r13\n movdqa %%xmm1,%%xmm2\n psrlq $0x20,%%xmm2\n"
        "pmuludq %%xmm2,%%xmm2\n pmuludq %%xmm1,%%xmm1\n movdqa %%xmm2,%%xmm3\n"
        "paddq %%xmm1,%%xmm3\n movdqa %%xmm2,%%xmm4\n pand %%xmm1,%%xmm4\n"
        "por %%xmm2,%%xmm1\n pandn %%xmm1,%%xmm3\n por %%xmm4,%%xmm3\n"
        "psrlq $0x3f,%%xmm3\n paddq %%xmm3,%%xmm0\n"
        "dec %%rdi\n jne 1b\n"
        : "+D"(n)
        :
        : "rbx", "rcx", "rdx", "rbp", "r8", "r9", "r10", "r12", "r13", "r14", "r15", "xmm0",
          "xmm1", "xmm2", "xmm3", "xmm4", "cc");
}

/* Seconds of the best of RUNS runs of f(ITERS). */
static double best(void (*f)(long)) {
    double b = 1e30;
    f(ITERS / 10);
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_s();
        f(ITERS);
        double t = now_s() - t0;
        if (t < b) b = t;
    }
    return b;
}

static int has_avx512f(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 16) & 1;
}

int main(void) {
    /* The clock: 8 dependent adds per iteration, ITERS * 50 iterations. */
    double clock_best = 1e30;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_s();
        add_chain(ITERS * 50);
        double t = now_s() - t0;
        if (t < clock_best) clock_best = t;
    }
    double ghz = 8.0 * ITERS * 50 / clock_best / 1e9;
    printf("clock %.3f GHz (dependent add chain)\n", ghz);
    struct {
        const char *name;
        void (*f)(long);
        int avx512;
    } probes[] = {
        {"ymm vpaddq", ymm_add, 0},       {"ymm vpxor", ymm_xor, 0},
        {"ymm vpsllq", ymm_sll, 0},       {"ymm vpsrlq", ymm_srl, 0},
        {"ymm vpmuludq", ymm_mul, 0},     {"ymm vpshufd", ymm_shuf, 0},
        {"ymm vpcmpgtq", ymm_cmpgt, 0},   {"zmm vpaddq", zmm_add, 1},
        {"zmm vpxorq", zmm_xor, 1},       {"zmm vpternlogq", zmm_tern, 1},
        {"zmm vpsllq", zmm_sll, 1},       {"zmm vpsrlq", zmm_srl, 1},
        {"zmm vprolq", zmm_rol, 1},       {"zmm vpmuludq", zmm_mul, 1},
        {"zmm vpshufd", zmm_shuf, 1},     {"zmm vpcmpnleuq->k", zmm_cmpk, 1},
        {"zmm vpsubq{k}", zmm_subk, 1},
    };
    struct {
        const char *name;
        void (*f)(long);
    } gprs[] = {
        {"r64 add", gpr_add}, {"r64 xor", gpr_xor}, {"r64 rol", gpr_rol},
        {"r64 shl", gpr_shl}, {"r64 imul", gpr_imul},
        {"r64 imul+rol (6 + 6)", gpr_imul_rol}, {"r64 imul+add (6 + 6)", gpr_imul_add},
    };
    for (size_t i = 0; i < sizeof gprs / sizeof gprs[0]; i++) {
        double t = best(gprs[i].f);
        printf("%-24s %.2f per cycle\n", gprs[i].name, 12.0 * ITERS / (t * ghz * 1e9));
    }
    {
        double c = best(kernel_scalar_two_lanes) * ghz * 1e9 / ITERS / 2;
        printf("mc scalar loop, two lanes                %.2f cycles per sample\n", c);
        double v = best(kernel_scalar_sse2) * ghz * 1e9 / ITERS / 2;
        printf("mc scalar loop, test in SSE2             %.2f cycles per sample\n", v);
    }
    int avx512 = has_avx512f();
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        if (probes[i].avx512 && !avx512) continue;
        double t = best(probes[i].f);
        double cycles = t * ghz * 1e9;
        printf("%-24s %.2f per cycle\n", probes[i].name, 12.0 * ITERS / cycles);
    }
    struct {
        const char *name;
        void (*f)(long);
        int avx512;
    } pairs[] = {
        {"ymm vpsllq+vpmuludq", ymm_sll_mul, 0},   {"ymm vpsllq+vpcmpgtq", ymm_sll_cmpgt, 0},
        {"ymm vpmuludq+vpcmpgtq", ymm_mul_cmpgt, 0}, {"zmm vpsllq+vpmuludq", zmm_sll_mul, 1},
        {"zmm vpsllq+vpcmpuq->k", zmm_sll_cmpk, 1}, {"zmm vpmuludq+vpcmpuq->k", zmm_mul_cmpk, 1},
        {"zmm vpsllq+vpaddq", zmm_sll_add, 1},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (pairs[i].avx512 && !avx512) continue;
        double t = best(pairs[i].f);
        double cycles = t * ghz * 1e9;
        printf("%-24s %.2f per cycle (pair, 6 + 6)\n", pairs[i].name, 12.0 * ITERS / cycles);
    }
    {
        double one = best(kernel256_one) * ghz * 1e9 / ITERS;
        printf("mc avx2 loop body, as compiled             %.2f cycles per round (8 samples)\n", one);
        double piped = best(kernel256_pipelined) * ghz * 1e9 / ITERS / 2;
        printf("mc avx2 loop body, test one round behind   %.2f cycles per round\n", piped);
    }
    if (avx512) {
        double one = best(kernel512_one) * ghz * 1e9 / ITERS;
        double two = best(kernel512_two) * ghz * 1e9 / ITERS / 2;
        printf("mc avx512 loop body, one round at a time   %.2f cycles per round (8 samples)\n", one);
        printf("mc avx512 loop body, two rounds side by side %.2f cycles per round\n", two);
        double piped = best(kernel512_pipelined) * ghz * 1e9 / ITERS / 2;
        printf("mc avx512 loop body, test one round behind   %.2f cycles per round\n", piped);
        double vl = best(kernelvl_two_halves) * ghz * 1e9 / ITERS;
        printf("mc avx512vl ymm, two halves a round        %.2f cycles per round\n", vl);
        double tern = best(kernel512_tern) * ghz * 1e9 / ITERS / 2;
        printf("mc avx512 15 instructions, test one behind   %.2f cycles per round\n", tern);
        double two_piped = best(kernel512_two_pipelined) * ghz * 1e9 / ITERS / 4;
        printf("mc avx512 two blocks, test one behind       %.2f cycles per round\n", two_piped);
    }
    return 0;
}

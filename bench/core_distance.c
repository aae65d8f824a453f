/* How far apart the machine has put two threads: the round trip of one
 * cache line between them (thread 0 writes, thread 1 answers), the
 * median of 9 runs of 100000 trips. About 80 ns where the two cores
 * share a cache; several hundred where the line must cross between
 * chiplets or sockets, which slows any code whose threads exchange
 * data row by row (the stereo sweeps do). A virtual machine's cores can
 * move between the two from one minute to the next.
 *
 * usage: bench_core_distance      prints {"round_trip_ns": N} */
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static _Alignas(64) _Atomic long g_turn;

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(void) {
  enum { TRIPS = 100000, RUNS = 9 };
  double ns[RUNS];
  for (int run = 0; run < RUNS; run++) {
    atomic_store(&g_turn, 0);
    double t = 0;
#pragma omp parallel num_threads(2)
    {
      long me = omp_get_thread_num();
      if (omp_get_num_threads() != 2) {
        fprintf(stderr, "bench_core_distance: 2 threads needed\n");
        exit(1);
      }
#pragma omp barrier
      double t0 = omp_get_wtime();
      for (long i = 0; i < TRIPS; i++) {
        while (atomic_load_explicit(&g_turn, memory_order_acquire) != 2 * i + me) {
        }
        atomic_store_explicit(&g_turn, 2 * i + me + 1, memory_order_release);
      }
      if (me == 0) t = omp_get_wtime() - t0;
    }
    ns[run] = t / TRIPS * 1e9;
  }
  qsort(ns, RUNS, sizeof ns[0], cmp);
  printf("{\"round_trip_ns\": %.0f}\n", ns[RUNS / 2]);
  return 0;
}

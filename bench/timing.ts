/**
 * Timing shared by the one-core throughput benchmarks (repackaging, CMAF and TS encryption):
 * the median of `rounds` timed runs of `fn` after five untimed ones, as MB/s of `bytes` and ms.
 */
export async function medianRate(bytes: number, rounds: number, fn: () => unknown): Promise<{ mbps: number; ms: number }> {
  for (let i = 0; i < 5; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)]!;
  return { mbps: bytes / 1e6 / (ms / 1000), ms };
}

/**
 * @module
 * One `redis-benchmark` run against 127.0.0.1 (`-r 100000 -d 16 --csv`), parsed.
 */

export interface BenchmarkRun {
  port: number;
  /** redis-benchmark's test name, upper case as in its CSV (SET, GET). */
  test: string;
  clients: number;
  pipeline: number;
  requests: number;
}

export interface BenchmarkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

export async function redisBenchmark(run: BenchmarkRun): Promise<BenchmarkResult> {
  const out = await new Deno.Command("redis-benchmark", {
    args: [
      ...["-h", "127.0.0.1", "-p", String(run.port), "-c", String(run.clients)],
      ...["-n", String(run.requests), "-P", String(run.pipeline), "-t", run.test.toLowerCase()],
      ...["-r", "100000", "-d", "16", "--csv"],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const line = text.split("\n").find((l) => l.startsWith(`"${run.test}"`));
  if (!line) throw new Error(`redis-benchmark gave no ${run.test} line:\n${text}`);
  const fields = line.split(",").map((f) => Number(f.replaceAll('"', "")));
  return { rps: fields[1], p50Ms: fields[4], p99Ms: fields[6] };
}

/**
 * Generator and HDF5 throughput on one core: background events per second from the default
 * toy detector (median of 5 runs of 200,000 events, after a warm-up), then a 1,000,000-event
 * HDF5 file (gzip level 4, chunks of 1024 events) written to a temporary folder and read
 * back streamed in chunks of 8192 events by a separate process, so that its peak memory shows
 * what streaming costs. Prints JSON lines.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultGeneratorConfig, generateChunks, openEvents, writeChunks } from "../../src/data/index.js";

const config = defaultGeneratorConfig();
const machine = cpus()[0]?.model ?? "unknown";
const print = (metric: string, value: number, unit: string, context: Record<string, unknown>) =>
  console.log(
    JSON.stringify({
      bench: "generate",
      metric,
      value: Math.round(value),
      unit,
      ...context,
      machine,
      node: process.version,
    }),
  );

/** The read phase, run as `generate.ts --read FILE` in its own process. */
async function readPhase(file: string): Promise<void> {
  const t0 = process.hrtime.bigint();
  const src = await openEvents(file);
  let n = 0;
  let peak = 0;
  let first = 0;
  for await (const chunk of src.chunks(8192)) {
    n += chunk.count;
    const rss = process.memoryUsage().rss;
    first ||= rss;
    peak = Math.max(peak, rss);
  }
  src.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  print("h5_read_events_per_s", n / seconds, "events/s", {
    events: n,
    bytes: statSync(file).size,
    chunk: 8192,
    compression: "gzip 4",
    // Under tsx, loading h5wasm's 4 MB glue file alone takes ~600 MB (600 MB less from dist/);
    // the growth after the first chunk is what reading the file costs.
    reader_peak_rss_mb: Math.round(peak / 2 ** 20),
    reader_rss_growth_after_first_chunk_mb: Math.round((peak - first) / 2 ** 20),
  });
}

async function main(): Promise<void> {
  const perRun = 200_000;
  for (const _ of generateChunks(config, "background", 50_000, 99));
  const runs: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = process.hrtime.bigint();
    for (const _ of generateChunks(config, "background", perRun, k + 1));
    runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  runs.sort((a, b) => a - b);
  print("generate_events_per_s", perRun / runs[2], "events/s", {
    sample: "background",
    events: perRun,
    runs: runs.map((s) => Math.round(perRun / s)),
  });

  const events = 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), "distill-bench-"));
  try {
    const file = join(dir, "background.h5");
    const t0 = process.hrtime.bigint();
    await writeChunks(file, generateChunks(config, "background", events, 7, 8192), { compression: 4 });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    print("h5_write_events_per_s", events / seconds, "events/s", {
      events,
      bytes: statSync(file).size,
      includes: "generation",
    });
    const child = spawnSync(
      process.execPath,
      ["--import", "tsx", fileURLToPath(import.meta.url), "--read", file],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    process.stdout.write(child.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const readAt = process.argv.indexOf("--read");
await (readAt > 0 ? readPhase(process.argv[readAt + 1]) : main());

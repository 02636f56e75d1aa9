import { fileURLToPath } from "node:url";
import { deriveSeed, rng } from "../../util/rng.js";
import { Dataset } from "../dataset.js";
import { N_REGIONS } from "../geometry.js";
import { type GeneratorConfig, readGeneratorConfig } from "./config.js";
import { Detector } from "./detector.js";
import { addSample, applyReadoutFault, SAMPLES, type SampleName } from "./samples.js";

export * from "./config.js";
export { SAMPLES, type SampleName } from "./samples.js";

/** The default toy detector, `configs/generator.json` (same relative path from src/ and dist/). */
export const DEFAULT_GENERATOR_CONFIG = fileURLToPath(
  new URL("../../../configs/generator.json", import.meta.url),
);

export function defaultGeneratorConfig(): GeneratorConfig {
  return readGeneratorConfig(DEFAULT_GENERATOR_CONFIG);
}

/** Metadata fields every generated dataset carries (see README, "Synthetic generator"). */
const REGIONS = N_REGIONS; // a local binding for the hot loop (see detector.ts)

export const GENERATED_META = ["nPV", "htGeV", "leadingJetEtGeV", "metGeV"] as const;

/**
 * Events of one sample in chunks of `chunkSize`. Each sample draws from its own stream,
 * seeded from (seed, sample), so the events do not depend on the chunk size or on which other
 * samples are generated alongside.
 */
export function* generateChunks(
  config: GeneratorConfig,
  sample: SampleName,
  count: number,
  seed: number,
  chunkSize = 65536,
): Generator<Dataset> {
  const label = SAMPLES.indexOf(sample);
  if (label < 0) throw new RangeError(`unknown sample "${sample}", expected one of ${SAMPLES.join(", ")}`);
  const r = rng(deriveSeed(seed, label));
  const fill = addSample[sample];
  const d = new Detector(config, r);
  for (let start = 0; start < count; start += chunkSize) {
    const n = Math.min(chunkSize, count - start);
    const et = new Uint16Array(n * REGIONS);
    const meta = Object.fromEntries(GENERATED_META.map((k) => [k, new Float32Array(n)])) as Record<
      (typeof GENERATED_META)[number],
      Float32Array
    >;
    for (let i = 0; i < n; i++) {
      d.reset();
      meta.nPV[i] = d.addPileup();
      d.addNoise();
      fill(d, r);
      d.quantize(et, i * REGIONS);
      applyReadoutFault(sample, d, et, i * REGIONS);
      meta.htGeV[i] = d.truth.htGeV;
      meta.leadingJetEtGeV[i] = d.truth.leadingJetEtGeV;
      meta.metGeV[i] = d.truth.metGeV;
    }
    yield new Dataset({
      et,
      labels: new Int32Array(n).fill(label),
      labelNames: SAMPLES,
      meta,
      source: `distill generator, sample ${sample}, seed ${seed}`,
    });
  }
}

/** `count` events of each listed sample, back to back, labelled by sample. */
export function generate(
  config: GeneratorConfig,
  samples: readonly SampleName[],
  count: number,
  seed: number,
): Dataset {
  const parts = samples.flatMap((s) => [...generateChunks(config, s, count, seed, Math.max(1, count))]);
  return Dataset.concat(parts, `distill generator, samples ${samples.join(",")}, seed ${seed}`);
}

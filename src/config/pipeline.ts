import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { SAMPLES } from "../data/generator/samples.js";
import { ConfigError, readJsonConfig } from "./load.js";

/**
 * The whole chain in one file (`distill run`): where the events come from, which teacher and
 * students to train, the FPGA target and the latency budget. Paths are relative to the file.
 */
const generated = z.strictObject({
  /** Zero-bias events the teacher and students train on. */
  trainEvents: z.number().int().min(100),
  /** Zero-bias events of the test set (rates and thresholds are measured on them). */
  testBackgroundEvents: z.number().int().min(100),
  /** Events of each signal or fault sample in the test set. */
  testSignalEvents: z.number().int().min(10),
  signals: z.array(z.enum(SAMPLES.filter((s) => s !== "background") as [string, ...string[]])).min(1),
  /**
   * Zero-bias events used neither for training nor for thresholds: the teacher scores them, and
   * students with `select` keep the start that follows its tail best.
   */
  selectionEvents: z.number().int().min(2).optional(),
  seed: z.number().int().nonnegative().default(1),
});

const files = z.strictObject({
  /** Zero-bias training events. */
  train: z.string(),
  /** Labelled test events: background plus signals (CICADA-layout HDF5 or any supported format). */
  test: z.string(),
  /** Held-out zero-bias events for choosing among a student's starts (see selectionEvents). */
  select: z.string().optional(),
  /** HDF5 dataset name (default CaloRegions). */
  dataset: z.string().optional(),
});

export const pipelineSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, "a name of letters, digits, _ . -"),
  seed: z.number().int().nonnegative(),
  data: z.union([z.strictObject({ generate: generated }), z.strictObject({ files })]),
  teacher: z.strictObject({
    config: z.string(),
    /** Overrides the teacher config's epoch count (a shorter default run). */
    epochs: z.number().int().positive().optional(),
  }),
  students: z
    .array(
      z.strictObject({
        config: z.string(),
        epochs: z.number().int().positive().optional(),
        /** Overrides the student config's batch size. */
        batchSize: z.number().int().positive().optional(),
        mode: z.enum(["qat", "ptq"]).default("qat"),
        /**
         * Train `starts` students from different initial weights and keep the one whose score
         * rises most steeply across the `tail` events of the held-out zero-bias set that the
         * teacher scores highest.
         */
        select: z
          .strictObject({
            starts: z.number().int().min(2).max(64),
            tail: z.number().int().min(2).default(1000),
          })
          .optional(),
      }),
    )
    .min(1),
  /** The student put into firmware (its config name); the first student when absent. */
  deploy: z.string().optional(),
  hardware: z
    .strictObject({
      target: z.string().default("virtex7-2"),
      clockMhz: z.number().positive().optional(),
      latencyBudgetBx: z.number().positive().default(8),
      /** "auto" uses Vivado when it is on PATH, else Yosys. */
      synth: z.enum(["yosys", "vivado", "auto"]).default("auto"),
    })
    .prefault({}),
  evaluation: z
    .strictObject({
      ratesKhz: z.array(z.number().positive()).min(1).default([1, 3, 10]),
      zeroBiasRateMhz: z.number().positive().default(28.61),
    })
    .prefault({}),
  backend: z.enum(["tensorflow-gpu", "tensorflow", "wasm", "cpu"]).optional(),
  workers: z.number().int().nonnegative().optional(),
});
export type PipelineConfig = z.infer<typeof pipelineSchema>;

/** Reads a pipeline config and makes its paths absolute (relative to the config's folder). */
export function loadPipelineConfig(file: string): PipelineConfig {
  const c = readJsonConfig(file, pipelineSchema);
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dirname(file), p));
  const names = new Set<string>();
  c.students.forEach((s, i) => {
    if (names.has(s.config))
      throw new ConfigError(`${file}: students[${i}].config: ${s.config} is listed twice`);
    names.add(s.config);
    if (!s.select) return;
    const held =
      "files" in c.data ? c.data.files.select !== undefined : c.data.generate.selectionEvents !== undefined;
    if (!held) {
      throw new ConfigError(
        `${file}: students[${i}].select: choosing among starts needs held-out zero-bias events; set ${"files" in c.data ? "data.files.select" : "data.generate.selectionEvents (e.g. 500000)"}`,
      );
    }
    const n = "generate" in c.data ? c.data.generate.selectionEvents : undefined;
    if (n !== undefined && s.select.tail > n) {
      throw new ConfigError(
        `${file}: students[${i}].select.tail: found ${s.select.tail}, expected at most data.generate.selectionEvents (${n})`,
      );
    }
  });
  return {
    ...c,
    data:
      "files" in c.data
        ? {
            files: {
              ...c.data.files,
              train: at(c.data.files.train),
              test: at(c.data.files.test),
              ...(c.data.files.select !== undefined ? { select: at(c.data.files.select) } : {}),
            },
          }
        : c.data,
    teacher: { ...c.teacher, config: at(c.teacher.config) },
    students: c.students.map((s) => ({ ...s, config: at(s.config) })),
  };
}

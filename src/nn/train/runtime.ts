import type { StudentConfig } from "../../config/student.js";
import type { TeacherConfig } from "../../config/teacher.js";
import type { Shard } from "./data.js";

/**
 * What a training thread needs to rebuild a model by itself: plain data, sent to workers.
 * New model kinds (students) add a variant here and a case in `createRuntime`.
 */
export type ModelSpec =
  | { readonly kind: "teacher"; readonly config: TeacherConfig; readonly seed: number }
  | {
      readonly kind: "student";
      readonly config: StudentConfig;
      readonly seed: number;
      /** Quantizers in the training graph (QAT); false trains the float model for PTQ. */
      readonly quantize: boolean;
    };

/** A model living on one thread's TensorFlow.js backend. */
export interface Runtime {
  readonly paramCount: number;
  /** The initial parameters (from the seeded initializers). */
  initialParams(): Float32Array;
  setParams(params: Float32Array): void;
  /** Mean loss over the batch; its gradient is written into `grads`. */
  gradients(batch: Shard, grads: Float32Array): number;
  /** Loss of each event of the batch. */
  losses(batch: Shard): Float32Array;
  dispose(): void;
}

export async function createRuntime(spec: ModelSpec): Promise<Runtime> {
  switch (spec.kind) {
    case "teacher": {
      const { teacherRuntime } = await import("../teacher/runtime.js");
      return teacherRuntime(spec.config, spec.seed);
    }
    case "student": {
      const { studentRuntime } = await import("../student/runtime.js");
      return studentRuntime(spec.config, spec.seed, spec.quantize);
    }
  }
}

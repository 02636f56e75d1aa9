import type { TeacherConfig } from "../../../src/config/teacher.js";
import { teacherSchema } from "../../../src/config/teacher.js";

/** A teacher small enough to train in a second on the CPU backend, with the default's layer kinds. */
export function tinyTeacher(training: Partial<TeacherConfig["training"]> = {}): TeacherConfig {
  return teacherSchema.parse({
    name: "tiny",
    input: { scale: 0.125 },
    layers: [
      { type: "conv2d", filters: 2, kernel: [3, 3], padding: "same", activation: "relu" },
      { type: "avgpool2d", pool: [2, 2] },
      { type: "flatten" },
      { type: "dense", units: 8, activation: "relu" },
      { type: "dense", units: 126 },
      { type: "reshape", shape: [9, 7, 2] },
      { type: "upsample2d", size: [2, 2] },
      { type: "conv2d", filters: 1, kernel: [3, 3], padding: "same", activation: "relu" },
    ],
    training: {
      optimizer: { type: "adam", learningRate: 0.01 },
      batchSize: 64,
      epochs: 3,
      validationFraction: 0.25,
      ...training,
    },
    target: { type: "ap_ufixed<16,8,AP_RND_CONV,AP_SAT>" },
  });
}

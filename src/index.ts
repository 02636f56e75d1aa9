export * as data from "./data/index.js";
export * as fixed from "./fixed/index.js";
export * as ir from "./ir/index.js";
export * as onnx from "./nn/onnx/index.js";
export * as teacherScoring from "./nn/teacher/scoring.js";
export * as sim from "./sim/index.js";
export * as synth from "./synth/index.js";

export * as data from "./data/index.js";
export * as evaluation from "./eval/index.js";
export * as fixed from "./fixed/index.js";
export * as ir from "./ir/index.js";
export * as report from "./report/index.js";
export * as sim from "./sim/index.js";
export * as synth from "./synth/index.js";

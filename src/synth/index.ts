export * from "./counts.js";
export * from "./run.js";
export * from "./vivado.js";
export * from "./yosys.js";

export * from "./cosim.js";
export * from "./harness.js";
export * from "./records.js";
export * from "./verilator.js";

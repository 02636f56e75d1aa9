export * from "./dataset.js";
export * from "./errors.js";
export * from "./fingerprint.js";
export * from "./generator/index.js";
export * from "./geometry.js";
export * from "./io/index.js";
export * from "./scores.js";
export * from "./stats.js";

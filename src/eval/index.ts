export * from "./agreement.js";
export * from "./bootstrap.js";
export * from "./file.js";
export * from "./metrics.js";
export * from "./rate.js";
export * from "./regions.js";
export * from "./roc.js";

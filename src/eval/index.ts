export * from "./agreement.js";
export * from "./file.js";
export * from "./metrics.js";
export * from "./rate.js";
export * from "./regions.js";
export * from "./roc.js";

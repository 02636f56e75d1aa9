export * from "./exact.js";
export * from "./export.js";
export * from "./model.js";
export * from "./prune.js";
export * from "./scan.js";
export * from "./starts.js";
export * from "./tfjs.js";
export * from "./train.js";

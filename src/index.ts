export * as data from "./data/index.js";
export * as fixed from "./fixed/index.js";
export * as ir from "./ir/index.js";

export * as fixed from "./fixed/index.js";
export * as ir from "./ir/index.js";

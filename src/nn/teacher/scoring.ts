/** Teacher scoring as one import: the engines, the scorer and the target cast. */
export * from "./open.js";
export * from "./score.js";

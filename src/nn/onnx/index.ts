export * from "./export.js";
export { ortInference } from "./score.js";

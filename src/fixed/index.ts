export * from "./format.js";
export * from "./qkeras.js";
export * from "./quantize.js";
export * from "./types.js";

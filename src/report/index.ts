export * from "./parts.js";
export * from "./pipeline.js";
export * from "./plots.js";
export * from "./raster.js";
export * from "./report.js";
export * from "./scale.js";
export * from "./svg.js";

import { existsSync, statSync } from "node:fs";
import { extname } from "node:path";
import { Dataset } from "../dataset.js";
import { DataError } from "../errors.js";
import { createH5, openH5 } from "./h5.js";
import { createLinks, openLinks } from "./links.js";
import { createNpy, openNpy } from "./npy.js";
import { createPng, openPng } from "./png.js";
import {
  DEFAULT_CHUNK,
  type EventSink,
  type EventSource,
  type Format,
  type ReadOptions,
  type WriteOptions,
} from "./source.js";

export { LINKS_PER_EVENT, linkRegion, linkWord, REGIONS_PER_LINK, regionLink } from "./links.js";
export * from "./source.js";

export const FORMATS: readonly Format[] = ["h5", "npy", "png", "links"];

const EXTENSIONS: Record<string, Format> = {
  ".h5": "h5",
  ".hdf5": "h5",
  ".hdf": "h5",
  ".npy": "npy",
  ".png": "png",
  ".txt": "links",
  ".links": "links",
};

/** The format of a path from its extension; a folder (or a path without extension) is PNG images. */
export function detectFormat(path: string): Format {
  const known = EXTENSIONS[extname(path).toLowerCase()];
  if (known) return known;
  if ((existsSync(path) && statSync(path).isDirectory()) || extname(path) === "") return "png";
  throw new DataError(
    { file: path },
    `extension "${extname(path)}"`,
    `one of ${Object.keys(EXTENSIONS).join(" ")} or a folder of PNG images (or give the format)`,
  );
}

export async function openEvents(path: string, opts: ReadOptions = {}): Promise<EventSource> {
  switch (opts.format ?? detectFormat(path)) {
    case "h5":
      return openH5(path, opts);
    case "npy":
      return openNpy(path, opts);
    case "png":
      return openPng(path, opts);
    case "links":
      return openLinks(path, opts);
  }
}

export async function createEvents(path: string, opts: WriteOptions = {}): Promise<EventSink> {
  switch (opts.format ?? detectFormat(path)) {
    case "h5":
      return createH5(path, opts);
    case "npy":
      return createNpy(path);
    case "png":
      return createPng(path);
    case "links":
      return createLinks(path);
  }
}

/** Every event of a file in one dataset (for files that fit in memory). */
export async function readEvents(path: string, opts: ReadOptions = {}): Promise<Dataset> {
  const src = await openEvents(path, opts);
  try {
    return await collectChunks(src.chunks(Math.max(1, src.count)), path);
  } finally {
    src.close();
  }
}

/** Chunks of events joined into one dataset (the chunk itself when there is only one). */
export async function collectChunks(chunks: AsyncIterable<Dataset>, source?: string): Promise<Dataset> {
  const parts: Dataset[] = [];
  for await (const c of chunks) parts.push(c);
  return parts.length === 1 ? parts[0] : Dataset.concat(parts, source);
}

/** Streams chunks into a new file; on any error the partial file is removed. */
export async function writeChunks(
  path: string,
  chunks: Iterable<Dataset> | AsyncIterable<Dataset>,
  opts: WriteOptions = {},
): Promise<number> {
  const sink = await createEvents(path, opts);
  let count = 0;
  try {
    for await (const c of chunks) {
      await sink.write(c);
      count += c.count;
    }
    await sink.close();
  } catch (e) {
    sink.abort();
    throw e;
  }
  return count;
}

export function writeEvents(path: string, data: Dataset, opts: WriteOptions = {}): Promise<number> {
  return writeChunks(path, [data], opts);
}

/** Copies events between any two formats chunk by chunk; returns the count and clipped values. */
export async function convertEvents(
  input: string,
  output: string,
  opts: { read?: ReadOptions; write?: WriteOptions; chunk?: number } = {},
): Promise<{ count: number; clipped: number }> {
  const src = await openEvents(input, opts.read);
  try {
    const count = await writeChunks(output, src.chunks(opts.chunk ?? DEFAULT_CHUNK), opts.write);
    return { count, clipped: src.clipped };
  } finally {
    src.close();
  }
}

import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import sharp, { type Metadata } from "sharp";
import { writeFileAtomic } from "../../util/atomic.js";
import { Dataset } from "../dataset.js";
import { DataError } from "../errors.js";
import { N_ETA, N_PHI, N_REGIONS } from "../geometry.js";
import {
  DEFAULT_CHUNK,
  type EventSink,
  type EventSource,
  type ReadOptions,
  tempName,
  toCounts,
} from "./source.js";

/**
 * PNG images, one event each: greyscale, 14 wide by 18 high (rows are phi, columns eta: the
 * event's own row-major order) or 18 wide by 14 high (rows are eta), 16- or 8-bit. A path
 * ending in `.png` is one event; any other path is a folder of `*.png` read in name order.
 * Written images are 16-bit, 14 x 18.
 */
export const isPngFile = (path: string) => path.toLowerCase().endsWith(".png");

function listImages(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new DataError(
      { file: dir },
      (e as NodeJS.ErrnoException).code ?? String(e),
      "a folder of PNG images",
    );
  }
  const files = names.filter(isPngFile).sort();
  if (files.length === 0) throw new DataError({ file: dir }, "no *.png files", "a folder of PNG images");
  return files.map((f) => join(dir, f));
}

async function readImage(file: string): Promise<Float64Array> {
  let meta: Metadata;
  try {
    meta = await sharp(file).metadata();
  } catch (e) {
    throw new DataError({ file }, `an unreadable image (${(e as Error).message})`, "a PNG image");
  }
  const transposed = meta.width === N_PHI && meta.height === N_ETA;
  if (!(transposed || (meta.width === N_ETA && meta.height === N_PHI))) {
    throw new DataError({ file }, `${meta.width} x ${meta.height} pixels`, "14 x 18 (eta by phi) or 18 x 14");
  }
  if (meta.channels !== 1) {
    throw new DataError(
      { file },
      `${meta.channels} channels (${meta.space})`,
      "a single-channel greyscale image",
    );
  }
  const wide = meta.depth === "ushort";
  const { data } = await sharp(file)
    .toColourspace(wide ? "grey16" : "b-w")
    .raw({ depth: wide ? "ushort" : "uchar" })
    .toBuffer({ resolveWithObject: true });
  const px = wide ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data;
  const out = new Float64Array(N_REGIONS);
  for (let phi = 0; phi < N_PHI; phi++) {
    for (let eta = 0; eta < N_ETA; eta++) {
      out[phi * N_ETA + eta] = transposed ? px[eta * N_PHI + phi] : px[phi * N_ETA + eta];
    }
  }
  return out;
}

export function openPng(path: string, opts: ReadOptions = {}): EventSource {
  const single = isPngFile(path);
  if (single && !existsSync(path)) throw new DataError({ file: path }, "no such file", "a PNG image");
  const files = single ? [path] : listImages(path);
  let clipped = 0;
  return {
    file: path,
    format: "png",
    count: files.length,
    description: single ? "PNG image" : `folder of ${files.length} PNG images`,
    get clipped() {
      return clipped;
    },
    async *chunks(size = DEFAULT_CHUNK) {
      for (let start = 0; start < files.length; start += size) {
        const part = files.slice(start, start + size);
        const et = new Uint16Array(part.length * N_REGIONS);
        for (let k = 0; k < part.length; k++) {
          const values = await readImage(part[k]);
          // Each image is its own file, so errors name it and count events from 0 within it.
          clipped += toCounts(
            values,
            et.subarray(k * N_REGIONS, (k + 1) * N_REGIONS),
            { file: part[k], firstEvent: 0 },
            opts.saturate ?? false,
          );
        }
        yield new Dataset({ et, source: path });
      }
    },
    close() {},
  };
}

export function encodePng(event: Uint16Array): Promise<Buffer> {
  return sharp(event, { raw: { width: N_ETA, height: N_PHI, channels: 1 } })
    .toColourspace("grey16")
    .png()
    .toBuffer();
}

/** One `.png` (exactly one event), or a folder `event-00000000.png`, ... built aside and renamed into place. */
export function createPng(path: string): EventSink {
  if (isPngFile(path)) {
    let event: Uint16Array | undefined;
    let count = 0;
    return {
      async write(chunk) {
        count += chunk.count;
        if (count === 1 && chunk.count === 1) event = chunk.event(0).slice();
      },
      async close() {
        if (count !== 1 || !event) {
          throw new DataError(
            { file: path },
            `${count} events`,
            "exactly one event for a .png file (write a folder for more)",
          );
        }
        writeFileAtomic(path, await encodePng(event));
      },
      abort() {},
    };
  }
  if (existsSync(path) && (!statSync(path).isDirectory() || readdirSync(path).length > 0)) {
    throw new DataError(
      { file: path },
      "an existing file or non-empty folder",
      "a new folder for PNG images",
    );
  }
  const tmp = tempName(path);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  let count = 0;
  return {
    async write(chunk) {
      for (let i = 0; i < chunk.count; i++, count++) {
        writeFileSync(
          join(tmp, `event-${String(count).padStart(8, "0")}.png`),
          await encodePng(chunk.event(i)),
        );
      }
    },
    async close() {
      if (existsSync(path)) rmdirSync(path);
      renameSync(tmp, path);
    },
    abort() {
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

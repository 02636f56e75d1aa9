import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as h5 from "h5wasm/node";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import {
  convertEvents,
  DataError,
  Dataset,
  defaultGeneratorConfig,
  type Format,
  generate,
  linkRegion,
  openEvents,
  readEvents,
  regionLink,
  writeChunks,
  writeEvents,
} from "../../src/data/index.js";

const dir = () => mkdtempSync(join(tmpdir(), "distill-data-"));
const events = generate(defaultGeneratorConfig(), ["background", "llp", "dijetResonance"], 12, 9);
const PATHS: Record<Format, string> = { h5: "e.h5", npy: "e.npy", png: "pngs", links: "e.txt" };

/** A .npy file written by hand (independently of the reader under test). */
function npy(descr: string, shape: number[], bytes: Uint8Array): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")},), }`;
  header += `${" ".repeat(63 - ((10 + header.length) % 64))}\n`;
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, "latin1"), bytes]);
}
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

async function rejects(p: Promise<unknown>, message: RegExp) {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DataError);
  expect((e as Error).message).toMatch(message);
}
const readAll = (file: string, opts = {}) => readEvents(file, opts);

beforeAll(async () => {
  await h5.ready;
});

describe("round trips between all formats", () => {
  const formats: Format[] = ["h5", "npy", "links", "png"];
  for (const from of formats) {
    it(`${from} -> every format -> the same events`, async () => {
      const d = dir();
      const src = join(d, `src-${PATHS[from]}`);
      await writeEvents(src, events);
      for (const to of formats) {
        const out = join(d, `out-${to}-${PATHS[to]}`);
        const r = await convertEvents(src, out, { chunk: 5 });
        expect(r.count).toBe(events.count);
        expect((await readAll(out)).et).toEqual(events.et);
      }
    });
  }

  it("HDF5 keeps labels, their names, metadata, vetoes and the source", async () => {
    const file = join(dir(), "full.h5");
    const eg = new Uint8Array(events.et.length).map((_, i) => (i % 7 === 0 ? 1 : 0));
    const tau = new Uint8Array(events.et.length).map((_, i) => (i % 5 === 0 ? 1 : 0));
    const full = new Dataset({ ...events, egVeto: eg, tauVeto: tau, source: "test events" });
    await writeChunks(file, [full.slice(0, 5), full.slice(5)]);
    const back = await readAll(file);
    expect(back.labels).toEqual(events.labels);
    expect(back.labelNames).toEqual(events.labelNames);
    for (const k of Object.keys(events.meta)) expect(back.meta[k]).toEqual(events.meta[k]);
    expect(back.egVeto).toEqual(eg);
    expect(back.tauVeto).toEqual(tau);
    expect(back.source).toBe("test events");
  });

  it("link words keep the e/gamma and tau veto bits", async () => {
    const file = join(dir(), "v.txt");
    const eg = new Uint8Array(events.et.length).map((_, i) => (i % 3 === 0 ? 1 : 0));
    const tau = new Uint8Array(events.et.length).map((_, i) => (i % 4 === 1 ? 1 : 0));
    await writeEvents(file, new Dataset({ et: events.et, egVeto: eg, tauVeto: tau, source: "v" }));
    const back = await readAll(file);
    expect(back.egVeto).toEqual(eg);
    expect(back.tauVeto).toEqual(tau);
    expect(back.et).toEqual(events.et);
  });

  it("a single event round-trips through one .png file", async () => {
    const file = join(dir(), "one.png");
    await writeEvents(file, events.slice(3, 4));
    const meta = await sharp(file).metadata();
    expect([meta.width, meta.height, meta.depth]).toEqual([14, 18, "ushort"]);
    expect((await readAll(file)).et).toEqual(events.event(3));
    await rejects(
      writeEvents(join(dir(), "two.png"), events.slice(0, 2)),
      /2 events, expected exactly one event/,
    );
  });
});

describe("HDF5 streaming and other writers", () => {
  it("streams a chunked file in chunks of any size with the same events", async () => {
    const file = join(dir(), "s.h5");
    await writeEvents(file, events);
    const src = await openEvents(file);
    expect(src.description).toMatch(/"CaloRegions" \(36, 18, 14\) <H, chunks \(36, 18, 14\), deflate/);
    const sizes: number[] = [];
    const parts: Dataset[] = [];
    for await (const c of src.chunks(7)) {
      sizes.push(c.count);
      parts.push(c);
    }
    src.close();
    expect(sizes).toEqual([7, 7, 7, 7, 7, 1]);
    expect(Dataset.concat(parts).et).toEqual(events.et);
  });

  it("reads the h5py-written fixture (int64, chunked, gzip + shuffle) identically to NumPy's .npy of it", async () => {
    const src = await openEvents("data/samples/h5py-gzip.h5");
    expect(src.description).toBe(
      'HDF5 dataset "CaloRegions" (64, 18, 14) <q, chunks (16, 18, 14), shuffle+deflate',
    );
    src.close();
    const fromH5 = await readAll("data/samples/h5py-gzip.h5");
    const fromNpy = await readAll("data/samples/h5py-gzip.npy");
    expect(fromH5.count).toBe(64);
    expect(fromH5.et).toEqual(fromNpy.et);
    expect(fromH5.et.some((v) => v > 20)).toBe(true);
    expect([...fromH5.labels!].filter((l) => l === 1).length).toBe(22);
    expect(fromH5.meta.nPV.length).toBe(64);
    expect(fromH5.source).toMatch(/make-h5py-sample\.py \(h5py/);
  });

  it("reads (N, 252) float datasets and a dataset inside a group", async () => {
    const file = join(dir(), "g.h5");
    const f = new h5.File(file, "w");
    f.create_group("l1");
    (f.get("l1") as h5.Group).create_dataset({
      name: "regions",
      data: Float32Array.from(events.et),
      shape: [events.count, 252],
      dtype: "<f",
    });
    f.close();
    expect((await readAll(file, { dataset: "l1/regions" })).et).toEqual(events.et);
    await rejects(
      readAll(file),
      /g\.h5: found no dataset "CaloRegions", expected .*the file has "l1\/regions"/,
    );
  });
});

describe("bad input is rejected with file, place, value and expectation", () => {
  const one = (values: number[], ctor: new (n: number) => any, descr: string, shape = [2, 18, 14]) => {
    const a = new ctor(shape.reduce((x, y) => x * y, 1));
    for (let i = 0; i < values.length; i += 2) {
      a[values[i]] = a instanceof BigInt64Array ? BigInt(values[i + 1]) : values[i + 1];
    }
    const file = join(dir(), "events.npy");
    writeFileSync(file, npy(descr, shape, bytesOf(a)));
    return file;
  };
  // Event 1, region (phi 3, eta 7) is flat index 252 + 3 * 14 + 7.
  const at = 252 + 3 * 14 + 7;

  it("values above 1023: an error naming the event and region, or clipped with --saturate", async () => {
    const file = one([at, 1100, 5, 2000], Uint16Array, "<u2");
    await rejects(
      readAll(file),
      /events\.npy: event 0, region \(phi 0, eta 5\): found 2000, expected 0\.\.1023 \(use --saturate to clip\)/,
    );
    const src = await openEvents(file, { saturate: true });
    const parts: Dataset[] = [];
    for await (const c of src.chunks()) parts.push(c);
    expect(src.clipped).toBe(2);
    expect(parts[0].event(1)[3 * 14 + 7]).toBe(1023);
    expect(parts[0].event(0)[5]).toBe(1023);
  });

  it("negative, non-integer and NaN values, in any dtype", async () => {
    await rejects(
      readAll(one([at, -3], Int16Array, "<i2")),
      /event 1, region \(phi 3, eta 7\): found -3, expected a non-negative ET count/,
    );
    await rejects(
      readAll(one([at, 2.5], Float64Array, "<f8")),
      /event 1, region \(phi 3, eta 7\): found 2\.5, expected an integer ET count/,
    );
    await rejects(
      readAll(one([at, Number.NaN], Float32Array, "<f4")),
      /event 1, region \(phi 3, eta 7\): found NaN/,
    );
    const ok = await readAll(one([at, 17], Float32Array, "<f4"));
    expect(ok.event(1)[3 * 14 + 7]).toBe(17);
  });

  it("big-endian and 64-bit integer arrays read correctly", async () => {
    const be = new Uint8Array(2 * 252 * 2);
    be[2 * at] = 0x01;
    be[2 * at + 1] = 0x02;
    const file = join(dir(), "be.npy");
    writeFileSync(file, npy(">u2", [2, 252], be));
    expect((await readAll(file)).event(1)[3 * 14 + 7]).toBe(0x0102);
    expect((await readAll(one([at, 1000], BigInt64Array as any, "<i8"))).event(1)[3 * 14 + 7]).toBe(1000);
  });

  it("wrong shape, dtype or order", async () => {
    await rejects(
      readAll(one([], Uint16Array, "<u2", [2, 18, 13])),
      /found shape \(2, 18, 13\), expected \(N, 18, 14\) or \(N, 252\)/,
    );
    await rejects(readAll(one([], Uint16Array, "<c8")), /found dtype '<c8'/);
  });

  it("truncated .npy and HDF5 files", async () => {
    const file = one([], Uint16Array, "<u2");
    truncateSync(file, 600);
    await rejects(readAll(file), /events\.npy: found 472 bytes of data, expected 1008 bytes .*truncated/);
    const h = join(dir(), "t.h5");
    await writeEvents(h, events);
    truncateSync(h, Math.floor(readFileSync(h).length / 2));
    await rejects(
      readAll(h),
      /t\.h5: found \d+ bytes, expected \d+ bytes as its superblock says \(the file is truncated\)/,
    );
    const notH5 = join(dir(), "x.h5");
    writeFileSync(notH5, "hello");
    await rejects(readAll(notH5), /x\.h5: found no HDF5 signature/);
  });

  it("HDF5 values above 1023, wrong shape and a missing dataset (listing the ones that exist)", async () => {
    const file = join(dir(), "bad.h5");
    const f = new h5.File(file, "w");
    const big = new Int32Array(3 * 252);
    big[252 + 20] = 4000;
    f.create_dataset({ name: "CaloRegions", data: big, shape: [3, 18, 14], dtype: "<i" });
    f.create_dataset({ name: "Wrong", data: new Int32Array(3 * 18 * 13), shape: [3, 18, 13], dtype: "<i" });
    f.close();
    await rejects(
      readAll(file),
      /bad\.h5: dataset "CaloRegions", event 1, region \(phi 1, eta 6\): found 4000, expected 0\.\.1023/,
    );
    expect((await readAll(file, { saturate: true })).event(1)[20]).toBe(1023);
    await rejects(readAll(file, { dataset: "Wrong" }), /dataset "Wrong": found shape \(3, 18, 13\)/);
    await rejects(
      readAll(file, { dataset: "Missing" }),
      /found no dataset "Missing", expected .*the file has "CaloRegions", "Wrong"/,
    );
  });

  it("link words in the wrong slot, out of order, malformed or cut short", async () => {
    const d = dir();
    const file = join(d, "l.txt");
    await writeEvents(file, events.slice(0, 2));
    const lines = readFileSync(file, "utf8").split("\n");
    const edit = (f: (l: string[]) => void) => {
      const copy = [...lines];
      f(copy);
      const out = join(d, `edit-${Math.random().toString(36).slice(2)}.txt`);
      writeFileSync(out, copy.join("\n"));
      return out;
    };
    // Line 1 is the header comment; line 2 is event 0, link 0; its last 4 hex digits are slot 0.
    await rejects(
      readAll(edit((l) => (l[1] = l[1].replace(/.{4}$/, "7000")))),
      /line 2, event 0, region \(phi 0, eta 0\): found position bits 7 in slot 0, expected 0/,
    );
    await rejects(
      readAll(edit((l) => l.splice(5, 1))),
      /line 6: found event 0 link 5, expected event 0 link 4/,
    );
    await rejects(readAll(edit((l) => (l[3] = "0 2 xyz"))), /line 4: found "0 2 xyz", expected EVENT LINK/);
    await rejects(
      readAll(edit((l) => l.splice(60))),
      /found 23 link words, expected 36 per event \(the file is truncated\)/,
    );
  });

  it("PNG images of the wrong size or colour", async () => {
    const d = dir();
    const rgb = join(d, "rgb.png");
    await sharp(new Uint8Array(252 * 3), { raw: { width: 14, height: 18, channels: 3 } })
      .png()
      .toFile(rgb);
    await rejects(readAll(rgb), /rgb\.png: found 3 channels .*expected a single-channel greyscale image/);
    const small = join(d, "small.png");
    await sharp(new Uint8Array(100), { raw: { width: 10, height: 10, channels: 1 } })
      .toColourspace("b-w")
      .png()
      .toFile(small);
    await rejects(readAll(small), /small\.png: found 10 x 10 pixels, expected 14 x 18/);
  });

  it("reads 18 x 14 (eta rows) PNG images transposed into (phi, eta)", async () => {
    const d = join(dir(), "t");
    mkdirSync(d);
    const img = new Uint16Array(252);
    for (let p = 0; p < 18; p++) for (let e = 0; e < 14; e++) img[e * 18 + p] = events.event(0)[p * 14 + e];
    await sharp(img, { raw: { width: 18, height: 14, channels: 1 } })
      .toColourspace("grey16")
      .png()
      .toFile(join(d, "a.png"));
    expect((await readAll(d)).et).toEqual(events.event(0));
  });
});

describe("interrupted writes never leave a complete-looking file", () => {
  for (const format of ["h5", "npy", "links", "png"] as Format[]) {
    it(`${format}: a failure half way removes the partial file`, async () => {
      const d = dir();
      const out = join(d, PATHS[format]);
      function* failing() {
        yield events.slice(0, 1);
        throw new Error("disk on fire");
      }
      await expect(writeChunks(out, failing())).rejects.toThrow("disk on fire");
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(d)).toEqual([]);
    });
  }
});

describe("link-word mapping", () => {
  it("maps each of the 252 regions to exactly one (link, slot) and back", () => {
    const seen = new Set<string>();
    for (let p = 0; p < 18; p++) {
      for (let e = 0; e < 14; e++) {
        const { link, slot } = regionLink(p, e);
        expect(link).toBeLessThan(36);
        expect(slot).toBeLessThan(7);
        expect(linkRegion(link, slot)).toEqual({ phi: p, eta: e });
        seen.add(`${link}/${slot}`);
      }
    }
    expect(seen.size).toBe(252);
  });
});

import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { Dataset } from "../dataset.js";
import { DataError } from "../errors.js";
import { N_ETA, N_PHI, N_REGIONS } from "../geometry.js";
import { DEFAULT_CHUNK, type EventSink, type EventSource, type ReadOptions, tempName } from "./source.js";

/**
 * CMS calorimeter Layer-1 output as link words, in text. THE region-to-link mapping (the one
 * place it is defined; the README points here):
 *
 * - An event is 36 link words of 128 bits. Link `l` (0..35) carries phi region `l >> 1`;
 *   even links carry eta regions 0..6 (eta < 0), odd links eta regions 7..13 (eta > 0).
 * - Slot `k` (0..6) of a link holds bits 16k .. 16k+15: eta region `(l & 1) * 7 + k`.
 *   Bits 112..127 are reserved and zero.
 * - A 16-bit region: ET (0.5 GeV counts) in bits 0-9, e/gamma veto bit 10, tau veto bit 11,
 *   then its position: the slot `k` in bits 12-14 and the eta side (`l & 1`) in bit 15. The
 *   position bits let a reader catch words in the wrong slot or link.
 *
 * Text: one word per line, `EVENT LINK WORD`, decimal event and link numbers and the word as
 * 32 hex digits, most significant first; `#` starts a comment line. Events are consecutive
 * from 0, links 0..35 in order. This is distill's own text layout; the bit layout follows the
 * description of the Layer-1 region word, the link assignment is our convention.
 */
export const LINKS_PER_EVENT = 36;
export const REGIONS_PER_LINK = 7;

/** Region (phi, eta) of slot k on link l. */
export const linkRegion = (link: number, slot: number) => ({
  phi: link >> 1,
  eta: (link & 1) * REGIONS_PER_LINK + slot,
});

/** Link and slot carrying region (phi, eta): the inverse of `linkRegion`. */
export const regionLink = (phi: number, eta: number) => ({
  link: phi * 2 + (eta >= REGIONS_PER_LINK ? 1 : 0),
  slot: eta % REGIONS_PER_LINK,
});

const ET_MASK = 0x3ff;
const EG_BIT = 1 << 10;
const TAU_BIT = 1 << 11;
const LINE = /^(\d+)\s+(\d+)\s+(?:0x)?([0-9a-fA-F]{32})$/;

/** Lines of a text file with their numbers, read in 1 MB blocks (no whole-file read). */
function* lines(file: string): Generator<[number, string]> {
  const fd = openSync(file, "r");
  try {
    const block = Buffer.alloc(1 << 20);
    let rest = "";
    let no = 0;
    let pos = 0;
    for (;;) {
      const n = readSync(fd, block, 0, block.length, pos);
      if (n === 0) break;
      pos += n;
      const text = rest + block.toString("latin1", 0, n);
      const parts = text.split("\n");
      rest = parts.pop()!;
      for (const p of parts) yield [++no, p];
    }
    if (rest !== "") yield [++no, rest];
  } finally {
    closeSync(fd);
  }
}

const isData = (l: string) => {
  const t = l.trim();
  return t !== "" && !t.startsWith("#");
};

export function openLinks(file: string, _opts: ReadOptions = {}): EventSource {
  let words = 0;
  try {
    for (const [, l] of lines(file)) if (isData(l)) words++;
  } catch (e) {
    throw new DataError(
      { file },
      (e as NodeJS.ErrnoException).code ?? String(e),
      "a readable link-word text file",
    );
  }
  const count = Math.ceil(words / LINKS_PER_EVENT);
  return {
    file,
    format: "links",
    count,
    description: `Layer-1 link words, text (${words} words, ${LINKS_PER_EVENT} per event)`,
    clipped: 0,
    async *chunks(size = DEFAULT_CHUNK) {
      let event = 0;
      let link = 0;
      let lastLine = 0;
      let start = 0;
      let n = Math.min(size, count);
      let et = new Uint16Array(n * N_REGIONS);
      let eg = new Uint8Array(n * N_REGIONS);
      let tau = new Uint8Array(n * N_REGIONS);
      for (const [no, raw] of lines(file)) {
        if (!isData(raw)) continue;
        lastLine = no;
        const m = LINE.exec(raw.trim());
        const at = { file, line: no };
        if (!m)
          throw new DataError(at, JSON.stringify(raw.slice(0, 60)), "EVENT LINK and a 32-hex-digit word");
        if (Number(m[1]) !== event || Number(m[2]) !== link) {
          throw new DataError(
            at,
            `event ${m[1]} link ${m[2]}`,
            `event ${event} link ${link} (links 0..35 of consecutive events)`,
          );
        }
        const hex = m[3];
        if (Number.parseInt(hex.slice(0, 4), 16) !== 0) {
          throw new DataError(at, `0x${hex.slice(0, 4)} in bits 112-127`, "zero (reserved bits)");
        }
        const base = (event - start) * N_REGIONS;
        for (let k = 0; k < REGIONS_PER_LINK; k++) {
          const w = Number.parseInt(hex.slice(28 - 4 * k, 32 - 4 * k), 16);
          const pos = w >>> 12;
          const expected = ((link & 1) << 3) | k;
          const { phi, eta } = linkRegion(link, k);
          if (pos !== expected) {
            throw new DataError(
              { ...at, event, region: phi * N_ETA + eta },
              `position bits ${pos} in slot ${k}`,
              `${expected} (slot ${k}, eta side ${link & 1})`,
            );
          }
          const r = base + phi * N_ETA + eta;
          et[r] = w & ET_MASK;
          eg[r] = w & EG_BIT ? 1 : 0;
          tau[r] = w & TAU_BIT ? 1 : 0;
        }
        link++;
        if (link === LINKS_PER_EVENT) {
          link = 0;
          event++;
          if (event - start === n) {
            yield new Dataset({ et, egVeto: eg, tauVeto: tau, source: file });
            start = event;
            n = Math.min(size, count - start);
            et = new Uint16Array(n * N_REGIONS);
            eg = new Uint8Array(n * N_REGIONS);
            tau = new Uint8Array(n * N_REGIONS);
          }
        }
      }
      if (link !== 0) {
        throw new DataError(
          { file, line: lastLine, event },
          `${link} link words`,
          `${LINKS_PER_EVENT} per event (the file is truncated)`,
        );
      }
    },
    close() {},
  };
}

/** The 32 hex digits of one link word of an event (vetoes 0 when the event has none). */
export function linkWord(
  et: Uint16Array,
  eg: Uint8Array | undefined,
  tau: Uint8Array | undefined,
  link: number,
): string {
  let hex = "";
  for (let k = REGIONS_PER_LINK - 1; k >= 0; k--) {
    const { phi, eta } = linkRegion(link, k);
    const r = phi * N_ETA + eta;
    const w =
      (et[r] & ET_MASK) | (eg?.[r] ? EG_BIT : 0) | (tau?.[r] ? TAU_BIT : 0) | ((((link & 1) << 3) | k) << 12);
    hex += w.toString(16).padStart(4, "0");
  }
  return `0000${hex}`;
}

export function createLinks(file: string): EventSink {
  const tmp = tempName(file);
  const fd = openSync(tmp, "w");
  let event = 0;
  let open = true;
  writeSync(
    fd,
    `# CMS Layer-1 link words: EVENT LINK WORD (128 bits, hex, MSB first); ${N_PHI * 2} links per event, 7 regions per link (mapping: distill src/data/io/links.ts)\n`,
  );
  const shut = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    async write(chunk) {
      const out: string[] = [];
      for (let i = 0; i < chunk.count; i++, event++) {
        const at = i * N_REGIONS;
        const et = chunk.event(i);
        const eg = chunk.egVeto?.subarray(at, at + N_REGIONS);
        const tau = chunk.tauVeto?.subarray(at, at + N_REGIONS);
        for (let l = 0; l < LINKS_PER_EVENT; l++) out.push(`${event} ${l} ${linkWord(et, eg, tau, l)}\n`);
      }
      writeSync(fd, out.join(""));
    },
    async close() {
      fsyncSync(fd);
      shut();
      renameSync(tmp, file);
    },
    abort() {
      shut();
      rmSync(tmp, { force: true });
    },
  };
}

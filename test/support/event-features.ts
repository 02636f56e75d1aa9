import type { Dataset } from "../../src/data/index.js";
import { N_ETA, N_PHI, PHI_WIDTH } from "../../src/data/index.js";

/** Per-event observables the README's generator claims are stated in (GeV unless noted). */
export function features(d: Dataset, i: number) {
  const ev = d.event(i);
  let sum = 0;
  let px = 0;
  let py = 0;
  let max = 0;
  let at = 0;
  let occupied = 0;
  let above10 = 0;
  for (let r = 0; r < ev.length; r++) {
    const v = ev[r] / 2;
    sum += v;
    if (ev[r] > 0) occupied++;
    if (v >= 10) above10++;
    const phi = (Math.floor(r / N_ETA) + 0.5) * PHI_WIDTH;
    px += v * Math.cos(phi);
    py += v * Math.sin(phi);
    if (v > max) {
      max = v;
      at = r;
    }
  }
  const p0 = Math.floor(at / N_ETA);
  const e0 = at % N_ETA;
  // The hardest region at least 120 degrees away in phi from the hardest one.
  let opposite = 0;
  for (let r = 0; r < ev.length; r++) {
    const dphi = Math.abs(Math.floor(r / N_ETA) - p0);
    if (Math.min(dphi, N_PHI - dphi) >= 6) opposite = Math.max(opposite, ev[r] / 2);
  }
  let neighbour = 0;
  for (let dp = -1; dp <= 1; dp++) {
    for (let de = -1; de <= 1; de++) {
      const e = e0 + de;
      if ((dp || de) && e >= 0 && e < N_ETA)
        neighbour = Math.max(neighbour, ev[((p0 + dp + N_PHI) % N_PHI) * N_ETA + e] / 2);
    }
  }
  return { sum, met: Math.hypot(px, py), max, opposite, neighbour, occupancy: occupied / ev.length, above10 };
}

export function means(d: Dataset) {
  const acc = { sum: 0, met: 0, max: 0, occupancy: 0, above10: 0, backToBack: 0, isolated: 0 };
  for (let i = 0; i < d.count; i++) {
    const f = features(d, i);
    acc.sum += f.sum;
    acc.met += f.met;
    acc.max += f.max;
    acc.occupancy += f.occupancy;
    acc.above10 += f.above10;
    acc.backToBack += f.max >= 20 && f.opposite >= 20 ? 1 : 0;
    acc.isolated += f.max >= 20 && f.neighbour < 0.15 * f.max ? 1 : 0;
  }
  for (const k of Object.keys(acc) as (keyof typeof acc)[]) acc[k] /= d.count;
  return acc;
}

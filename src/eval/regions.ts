import { N_ETA, N_REGIONS } from "../data/geometry.js";

/** Samples of the synthetic generator that are detector faults rather than physics signals. */
export const FAULT_SAMPLES: readonly string[] = [
  "hotRegion",
  "deadRegion",
  "deadEtaStrip",
  "miscalibratedSector",
];

export interface RegionContribution {
  readonly iphi: number;
  readonly ieta: number;
  /** The sample's mean reconstruction error in this region. */
  readonly error: number;
  /** error minus the background's error in this region (equal to `error` without a background map). */
  readonly excess: number;
  /** This region's share of the sample's total positive excess (0..1). */
  readonly share: number;
}

/**
 * The regions that contribute most to a sample's reconstruction error, largest excess over
 * the background first: a fault shows where the sample's error departs from the usual error
 * of that region, not where the error is always large (e.g. the forward regions). `map` and
 * `background` are 252 values, row-major (phi, eta).
 */
export function topRegions(
  map: ArrayLike<number>,
  background?: ArrayLike<number>,
  count = 5,
): RegionContribution[] {
  if (map.length !== N_REGIONS)
    throw new RangeError(`an error map has ${N_REGIONS} values, not ${map.length}`);
  if (background && background.length !== N_REGIONS) {
    throw new RangeError(`a background map has ${N_REGIONS} values, not ${background.length}`);
  }
  const excess = Array.from({ length: N_REGIONS }, (_, i) => map[i] - (background ? background[i] : 0));
  const total = excess.reduce((s, x) => s + Math.max(0, x), 0);
  return excess
    .map((x, i) => ({ i, x }))
    .sort((p, q) => q.x - p.x || p.i - q.i)
    .slice(0, count)
    .map(({ i, x }) => ({
      iphi: Math.floor(i / N_ETA),
      ieta: i % N_ETA,
      error: map[i],
      excess: x,
      share: total > 0 ? Math.max(0, x) / total : 0,
    }));
}

import type { Dataset } from "./dataset.js";
import { ET_LSB_GEV, ET_MAX, N_ETA, N_PHI, N_REGIONS, PHI_WIDTH } from "./geometry.js";

/** Running statistics over chunks of events, for `distill data inspect` and the README plot. */
export class EventStats {
  count = 0;
  regionsNonZero = 0;
  regionsSaturated = 0;
  maxCount = 0;
  private sumEt = 0;
  private sumEt2 = 0;
  private sumMet = 0;
  /** How many events have each region non-zero. */
  readonly occupied = new Float64Array(N_REGIONS);
  /** Events per label (index into the dataset's label names). */
  readonly labels = new Map<number, number>();
  labelNames?: readonly string[];

  add(d: Dataset): void {
    for (let i = 0; i < d.count; i++) {
      const ev = d.event(i);
      let sum = 0;
      let px = 0;
      let py = 0;
      for (let r = 0; r < N_REGIONS; r++) {
        const v = ev[r];
        if (v === 0) continue;
        sum += v;
        this.occupied[r]++;
        this.regionsNonZero++;
        if (v >= ET_MAX) this.regionsSaturated++;
        if (v > this.maxCount) this.maxCount = v;
        const phi = (Math.floor(r / N_ETA) + 0.5) * PHI_WIDTH;
        px += v * Math.cos(phi);
        py += v * Math.sin(phi);
      }
      this.sumEt += sum;
      this.sumEt2 += sum * sum;
      this.sumMet += Math.hypot(px, py);
      const label = d.labels?.[i];
      if (label !== undefined) this.labels.set(label, (this.labels.get(label) ?? 0) + 1);
    }
    this.count += d.count;
    this.labelNames ??= d.labelNames;
  }

  /** Mean and standard deviation of the per-event ET sum, in GeV. */
  etSumGeV(): { mean: number; std: number } {
    const n = Math.max(1, this.count);
    const mean = this.sumEt / n;
    return {
      mean: mean * ET_LSB_GEV,
      std: Math.sqrt(Math.max(0, this.sumEt2 / n - mean * mean)) * ET_LSB_GEV,
    };
  }

  /** Mean magnitude of the vector sum of region ET (missing ET of the regions), GeV. */
  meanMetGeV(): number {
    return (this.sumMet / Math.max(1, this.count)) * ET_LSB_GEV;
  }

  occupancy(): number {
    return this.regionsNonZero / Math.max(1, this.count * N_REGIONS);
  }

  saturatedFraction(): number {
    return this.regionsSaturated / Math.max(1, this.count * N_REGIONS);
  }

  /** Fraction of events with each region non-zero, as 18 rows (phi) of 14 (eta). */
  occupancyMap(): number[][] {
    return Array.from({ length: N_PHI }, (_, p) =>
      Array.from({ length: N_ETA }, (_, e) => this.occupied[p * N_ETA + e] / Math.max(1, this.count)),
    );
  }
}

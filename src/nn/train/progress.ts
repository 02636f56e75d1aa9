/**
 * A progress line for long work on stderr: redrawn in place at most ten times a second on a
 * terminal; silent elsewhere (logs get the per-epoch summary lines instead).
 */
export interface Progress {
  update(done: number, fields: Readonly<Record<string, string>>): void;
  done(): void;
}

export function progressBar(
  label: string,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  const start = performance.now();
  let last = 0;
  let drawn = false;
  return {
    update(done, fields) {
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 24;
      const filled = Math.round((width * Math.min(done, total)) / Math.max(1, total));
      const rate = done / Math.max(1e-9, (now - start) / 1000);
      const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
      const extra = Object.entries(fields)
        .map(([k, v]) => `${k} ${v}`)
        .join("  ");
      const line = `${label} [${"=".repeat(filled)}${" ".repeat(width - filled)}] ${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")}  ${Math.round(rate).toLocaleString("en-US")}/s  eta ${formatSeconds(eta)}  ${extra}`;
      stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1)}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write("\r\x1b[K");
    },
  };
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}

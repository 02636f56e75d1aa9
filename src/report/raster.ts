import sharp from "sharp";

/** Rasterises an SVG document to PNG (librsvg inside sharp), at `scale` pixels per SVG unit. */
export async function svgToPng(svg: string, scale = 1): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * scale })
    .png()
    .toBuffer();
}

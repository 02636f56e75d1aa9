/*
 * The QKeras quantizers' forward pass and straight-through mask in one sweep (see
 * src/nn/quant/quantizers.ts for the formula). For each element:
 *
 *   v    = relu ? max(x, 0) : x
 *   r    = round_half_even(v * scale)          (scale = 2^frac: exact)
 *   y    = min(max(r, lo), hi) * inv           (inv = 2^-frac: exact)
 *   mask = (lo <= r <= hi) and (not relu or x > 0), as 1.0 or 0.0
 *
 * f32x4.nearest rounds half to even, as tf.round does, so y equals the composite tfjs ops bit
 * for bit. The same rules as gradients.c apply: no static data, no stack.
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

static inline float nearest_even(float v) { return __builtin_nearbyintf(v); }

EXPORT("quantize_ste")
void quantize_ste(const float *x, float *y, float *mask, int n, float scale, float inv, float lo,
                  float hi, int relu) {
  const v128_t vs = wasm_f32x4_splat(scale), vi = wasm_f32x4_splat(inv);
  const v128_t vlo = wasm_f32x4_splat(lo), vhi = wasm_f32x4_splat(hi);
  const v128_t zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t xv = wasm_v128_load(x + i);
    const v128_t v = relu ? wasm_f32x4_pmax(xv, zero) : xv;
    const v128_t r = wasm_f32x4_nearest(wasm_f32x4_mul(v, vs));
    const v128_t c = wasm_f32x4_pmin(wasm_f32x4_pmax(r, vlo), vhi);
    v128_t pass = wasm_v128_and(wasm_f32x4_ge(r, vlo), wasm_f32x4_le(r, vhi));
    if (relu) pass = wasm_v128_and(pass, wasm_f32x4_gt(xv, zero));
    wasm_v128_store(y + i, wasm_f32x4_mul(c, vi));
    wasm_v128_store(mask + i, wasm_v128_and(pass, one));
  }
  for (; i < n; i++) {
    const float xv = x[i];
    const float v = relu && !(xv > 0.0f) ? 0.0f : xv;
    const float r = nearest_even(v * scale);
    const float c = r < lo ? lo : r > hi ? hi : r;
    const int pass = r >= lo && r <= hi && (!relu || xv > 0.0f);
    y[i] = c * inv;
    mask[i] = pass ? 1.0f : 0.0f;
  }
}

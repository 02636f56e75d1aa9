/*
 * Weight gradients for the tfjs wasm backend, written for WebAssembly SIMD and compiled by
 * clang (scripts/build-kernels.sh). The module imports the backend's own linear memory, so
 * tensors are passed as byte offsets into it and nothing is copied in or out.
 *
 * Sharing that memory imposes rules the build checks: no static data, no libc, and no use of
 * the linear-memory stack (no local arrays, nothing whose address is taken): everything lives
 * in wasm locals. Work buffers are tensors the caller allocates.
 *
 * conv2d_filter_grad computes, for an NHWC convolution with dilation 1,
 *
 *   dW[i,j,c,f] = sum over (n, oy, ox) of x[n, oy*sh + i - pt, ox*sw + j - pl, c] * dy[n, oy, ox, f]
 *
 * (taps that fall outside x read zero). Dense layers' dW = x^T dy is the 1x1 case with one
 * image of K positions. XNNPACK can express this product only as a convolution whose reduction
 * runs over the whole batch at once, which streams both operands from memory for every tile of
 * the small output. Here the reduction is blocked by images so each block's operands stay in
 * cache while every output tile is swept over them; output tiles of 4 x 8 live in registers.
 *
 * One operand is "vector" (4 of its channels per SIMD lane group, copied with its channels
 * padded to a multiple of 4 so that rows load whole) and the other "splat" (one channel
 * broadcast to all lanes). The accumulator is [tap][p][q] for p the splat operand's channels
 * and q the vector operand's padded channels; the result is written out as [tap][c][f].
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

static inline int min_int(int a, int b) { return a < b ? a : b; }

/* Smallest k >= 0 with k*s + d >= 0, for s > 0. */
static inline int first_at_least_zero(int d, int s) { return d >= 0 ? 0 : (-d + s - 1) / s; }

/*
 * One output tile: MR splat channels x NR vector groups, summed over rows (b, oy) of cnt
 * positions each. Row (b, oy) of an operand starts at base + b*strideB + oy*strideY and its
 * positions are step apart.
 */
#define TILE(MR, NR)                                                                              \
  static void tile_##MR##x##NR(float *acc, int qpad, const float *s0, int sB, int sY, int sX,       \
                               const float *v0, int vB, int vY, int vX, int nb, int oy0, int oy1,   \
                               int cnt) {                                                           \
    v128_t a[MR][NR];                                                                               \
    for (int r = 0; r < MR; r++)                                                                    \
      for (int g = 0; g < NR; g++) a[r][g] = wasm_v128_load(acc + r * qpad + 4 * g);                \
    for (int b = 0; b < nb; b++) {                                                                  \
      for (int oy = oy0; oy < oy1; oy++) {                                                          \
        const float *s = s0 + b * sB + oy * sY;                                                     \
        const float *v = v0 + b * vB + oy * vY;                                                     \
        for (int k = 0; k < cnt; k++, s += sX, v += vX) {                                           \
          v128_t vv[NR];                                                                            \
          for (int g = 0; g < NR; g++) vv[g] = wasm_v128_load(v + 4 * g);                           \
          for (int r = 0; r < MR; r++) {                                                            \
            const v128_t sr = wasm_f32x4_splat(s[r]);                                              \
            for (int g = 0; g < NR; g++) a[r][g] = wasm_f32x4_add(a[r][g], wasm_f32x4_mul(sr, vv[g])); \
          }                                                                                         \
        }                                                                                           \
      }                                                                                             \
    }                                                                                               \
    for (int r = 0; r < MR; r++)                                                                    \
      for (int g = 0; g < NR; g++) wasm_v128_store(acc + r * qpad + 4 * g, a[r][g]);                \
  }

TILE(4, 2)
TILE(4, 1)
TILE(1, 2)
TILE(1, 1)

/*
 * Arguments (byte offsets for pointers): x [n,h,w,c], dy [n,oh,ow,f], out [fh,fw,c,f];
 * scratch holds taps*pn*qpad + block*(positions of the vector operand per image)*qpad floats.
 * vec_x: 1 makes x the vector operand (p = f, q = c), 0 makes dy (p = c, q = f).
 * block: images per reduction block.
 */
EXPORT("conv2d_filter_grad")
void conv2d_filter_grad(const float *x, const float *dy, float *out, float *scratch, int n, int h,
                        int w, int c, int oh, int ow, int f, int fh, int fw, int sh, int sw, int pt,
                        int pl, int vec_x, int block) {
  const int pn = vec_x ? f : c;
  const int qn = vec_x ? c : f;
  const int qv = (qn + 3) >> 2;
  const int qpad = qv << 2;
  const int taps = fh * fw;
  float *acc = scratch;
  float *pack = scratch + taps * pn * qpad;
  for (int i = 0; i < taps * pn * qpad; i++) acc[i] = 0.0f;

  const int xImage = h * w, dyImage = oh * ow;
  const int vImage = vec_x ? xImage : dyImage;
  for (int b0 = 0; b0 < n; b0 += block) {
    const int nb = min_int(block, n - b0);
    /* The vector operand of this block with its channels padded to qpad (in place if they are). */
    const float *vsrc = vec_x ? x + b0 * xImage * c : dy + b0 * dyImage * f;
    const float *vb = vsrc;
    if (qn != qpad) {
      for (int pos = 0; pos < nb * vImage; pos++) {
        const float *src = vsrc + pos * qn;
        float *dst = pack + pos * qpad;
        int q = 0;
        for (; q < qn; q++) dst[q] = src[q];
        for (; q < qpad; q++) dst[q] = 0.0f;
      }
      vb = pack;
    }
    const float *xb = vec_x ? vb : x + b0 * xImage * c;
    const float *dyb = vec_x ? dy + b0 * dyImage * f : vb;
    const int xch = vec_x ? qpad : c;   /* floats per position of x as laid out here */
    const int dych = vec_x ? f : qpad;  /* and of dy */

    for (int i = 0; i < fh; i++) {
      /* Output rows whose tap i lands inside x: 0 <= oy*sh + i - pt < h. */
      const int oy0 = first_at_least_zero(i - pt, sh);
      const int oy1 = min_int(oh, h - 1 - i + pt < 0 ? 0 : (h - 1 - i + pt) / sh + 1);
      if (oy0 >= oy1) continue;
      for (int j = 0; j < fw; j++) {
        const int ox0 = first_at_least_zero(j - pl, sw);
        const int ox1 = min_int(ow, w - 1 - j + pl < 0 ? 0 : (w - 1 - j + pl) / sw + 1);
        if (ox0 >= ox1) continue;
        const int cnt = ox1 - ox0;
        /* x at (b, oy*sh + i - pt, ox0*sw + j - pl) and dy at (b, oy, ox0). */
        const float *xr = xb + ((i - pt) * w + ox0 * sw + j - pl) * xch;
        const float *dyr = dyb + ox0 * dych;
        const int xB = xImage * xch, xY = sh * w * xch, xX = sw * xch;
        const int dyB = dyImage * dych, dyY = ow * dych, dyX = dych;
        const float *s0 = vec_x ? dyr : xr;
        const float *v0 = vec_x ? xr : dyr;
        const int sB = vec_x ? dyB : xB, sY = vec_x ? dyY : xY, sX = vec_x ? dyX : xX;
        const int vB = vec_x ? xB : dyB, vY = vec_x ? xY : dyY, vX = vec_x ? xX : dyX;
        float *acct = acc + (i * fw + j) * pn * qpad;
        for (int p = 0; p < pn;) {
          const int mr = pn - p >= 4 ? 4 : 1;
          for (int g = 0; g < qv;) {
            const int nr = qv - g >= 2 ? 2 : 1;
            float *at = acct + p * qpad + 4 * g;
            const float *sp = s0 + p;
            const float *vp = v0 + 4 * g;
            if (mr == 4 && nr == 2)
              tile_4x2(at, qpad, sp, sB, sY, sX, vp, vB, vY, vX, nb, oy0, oy1, cnt);
            else if (mr == 4)
              tile_4x1(at, qpad, sp, sB, sY, sX, vp, vB, vY, vX, nb, oy0, oy1, cnt);
            else if (nr == 2)
              tile_1x2(at, qpad, sp, sB, sY, sX, vp, vB, vY, vX, nb, oy0, oy1, cnt);
            else
              tile_1x1(at, qpad, sp, sB, sY, sX, vp, vB, vY, vX, nb, oy0, oy1, cnt);
            g += nr;
          }
          p += mr;
        }
      }
    }
  }

  /* [tap][p][q] to [tap][c][f]. */
  for (int t = 0; t < taps; t++) {
    const float *at = acc + t * pn * qpad;
    float *ot = out + t * c * f;
    for (int ci = 0; ci < c; ci++)
      for (int fi = 0; fi < f; fi++)
        ot[ci * f + fi] = vec_x ? at[fi * qpad + ci] : at[ci * qpad + fi];
  }
}

// Winograd F(2x2, 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016) for 2-D, 3x3, stride-1, undilated, ungrouped convolutions: each 2x2 block
// of outputs is computed from a 4x4 input patch with 16 multiplies per (input, output) channel
// pair instead of 36, so the GEMM work drops by 2.25x. A 3x3 convolution's input gradient is
// itself such a convolution (conv_backward_input), and the weight gradient is the adjoint of
// the same algorithm (winograd_conv_backward_weight), so all three passes use it.
//
// With the tile transforms
//   U = G g Gᵀ (weights, 4x4 from 3x3),  V = Bᵀ d B (input patch, 4x4),  Y = Aᵀ M A (2x2),
//   G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],  Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
//   Aᵀ = [1 1 1 0; 0 1 -1 -1],
// the channel sum at each of the 16 tile positions ξ is one matrix product
//   M[ξ] (O x P) = U[ξ] (O x C) · V[ξ] (C x P)      (P = tiles),
// so a chunk of images costs an input transform, 16 GEMMs and an output transform. The
// transform coefficients are 0, ±1 and ½: float32 results stay within a few ulps of the
// direct convolution's (the golden tests hold at 1e-5).
//
// Threading: the transforms split channels over threads; the 16 GEMMs of a chunk are spread
// over threads, each GEMM single-threaded (OpenBLAS runs serially inside a parallel region).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <ember/backend/cpu/blas.hpp>
#include <ember/backend/cpu/im2col.hpp>
#include <ember/backend/cpu/parallel.hpp>

namespace ember::cpu {

// True when conv_forward may use winograd_conv: a 2-D 3x3 convolution with unit stride and
// dilation, one group, and enough channels and tiles that the GEMMs (not the transforms)
// dominate. Measured on ResNet-18's shapes at batch 16, forward + both gradients, 2 threads:
// 1.5x (64 channels, 32x32) to 1.6x (512 channels, 4x4: 64 tiles) faster than im2col + GEMM.
inline bool winograd_applies(const ConvGeom& g) {
  return g.G == 1 && g.in[0] == 1 && g.k[0] == 1 && g.pad[0] == 0 && g.k[1] == 3 && g.k[2] == 3 &&
         g.stride[1] == 1 && g.stride[2] == 1 && g.dil[1] == 1 && g.dil[2] == 1 && g.C >= 16 &&
         g.O >= 16 && g.N * ((g.out[1] + 1) / 2) * ((g.out[2] + 1) / 2) >= 64;
}

namespace detail {

// Element stride between the 16 planes of U, V or M: the plane size plus one cache line.
// Plane sizes are often powers of two, and 16 streams a power of two apart map onto the same
// cache sets (the weight transform ran 8x slower that way).
inline int64_t winograd_plane(int64_t size) { return size + 16; }

// U [16][O, C] (planes winograd_plane(O * C) apart): the transformed kernel of w [O, C, 3, 3].
template <class T>
void winograd_weights(const ConvGeom& g, const T* w, T* U) {
  const int64_t OC = g.O * g.C, ld = winograd_plane(OC);
  constexpr int64_t kBlock = 64;
  parallel_for((OC + kBlock - 1) / kBlock, OC * 64 / kBlock, [&](int64_t begin, int64_t end) {
    for (int64_t blk = begin; blk < end; ++blk) {
      const int64_t oc0 = blk * kBlock, bn = std::min(kBlock, OC - oc0);
      T u[16][kBlock];  // one block of every plane, written out row by row below
      for (int64_t e = 0; e < bn; ++e) {
        const T* k = w + (oc0 + e) * 9;
        T gk[4][3];  // G · k
        for (int j = 0; j < 3; ++j) {
          const T k0 = k[j], k1 = k[3 + j], k2 = k[6 + j];
          gk[0][j] = k0;
          gk[1][j] = T(0.5) * (k0 + k1 + k2);
          gk[2][j] = T(0.5) * (k0 - k1 + k2);
          gk[3][j] = k2;
        }
        for (int i = 0; i < 4; ++i) {  // (G · k) · Gᵀ
          const T a = gk[i][0], b = gk[i][1], c = gk[i][2];
          u[i * 4 + 0][e] = a;
          u[i * 4 + 1][e] = T(0.5) * (a + b + c);
          u[i * 4 + 2][e] = T(0.5) * (a - b + c);
          u[i * 4 + 3][e] = c;
        }
      }
      for (int xi = 0; xi < 16; ++xi) std::memcpy(U + xi * ld + oc0, u[xi], size_t(bn) * sizeof(T));
    }
  });
}

// V [16][C, P] (planes winograd_plane(C * P) apart) for the nb images at x (P = nb * TH * TW
// tiles, image-major, then tile rows).
// Each channel plane is first copied into a zero-bordered buffer so that every 4x4 patch can
// be read without bounds checks.
template <class T>
void winograd_input(const ConvGeom& g, const T* x, int64_t nb, int64_t TH, int64_t TW, T* V) {
  const int64_t C = g.C, H = g.in[1], W = g.in[2], ph = g.pad[1], pw = g.pad[2];
  const int64_t Hp = 2 * TH + 2, Wp = 2 * TW + 2, tiles = TH * TW, P = nb * tiles;
  const int64_t ld = winograd_plane(C * P);
  parallel_for(C * nb, C * nb * Hp * Wp * 8, [&](int64_t begin, int64_t end) {
    Scratch<T, 6> plane_buf(Hp * Wp);
    T* plane = plane_buf.ptr;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t c = item / nb, b = item % nb;
      const T* src = x + (b * C + c) * H * W;
      // Row hp of the plane holds input row hp - ph at columns [pw, pw + wn), zeros elsewhere
      // (only the border is written with zeros: the plane is rewritten for every channel).
      const int64_t wn = std::min(W, Wp - pw);
      for (int64_t hp = 0; hp < Hp; ++hp) {
        T* row = plane + hp * Wp;
        const int64_t h = hp - ph;
        if (h < 0 || h >= H) {
          std::fill_n(row, Wp, T(0));
          continue;
        }
        std::fill_n(row, pw, T(0));
        std::memcpy(row + pw, src + h * W, size_t(wn) * sizeof(T));
        std::fill_n(row + pw + wn, Wp - pw - wn, T(0));
      }
      T* vbase = V + c * P + b * tiles;
      for (int64_t th = 0; th < TH; ++th) {
        // Column transform (· B) of the four padded rows of this tile row, then the row
        // transform (Bᵀ ·) across them.
        T col[4][4][64];  // [patch row][ξ column][tile], tiles in blocks of 64
        for (int64_t t0 = 0; t0 < TW; t0 += 64) {
          const int64_t tn = std::min<int64_t>(64, TW - t0);
          for (int r = 0; r < 4; ++r) {
            const T* d = plane + (2 * th + r) * Wp + 2 * t0;
            EMBER_OMP_SIMD()
            for (int64_t t = 0; t < tn; ++t) {
              const T d0 = d[2 * t], d1 = d[2 * t + 1], d2 = d[2 * t + 2], d3 = d[2 * t + 3];
              col[r][0][t] = d0 - d2;
              col[r][1][t] = d1 + d2;
              col[r][2][t] = d2 - d1;
              col[r][3][t] = d1 - d3;
            }
          }
          for (int j = 0; j < 4; ++j) {
            T* v0 = vbase + (0 * 4 + j) * ld + th * TW + t0;
            T* v1 = vbase + (1 * 4 + j) * ld + th * TW + t0;
            T* v2 = vbase + (2 * 4 + j) * ld + th * TW + t0;
            T* v3 = vbase + (3 * 4 + j) * ld + th * TW + t0;
            EMBER_OMP_SIMD()
            for (int64_t t = 0; t < tn; ++t) {
              const T r0 = col[0][j][t], r1 = col[1][j][t], r2 = col[2][j][t], r3 = col[3][j][t];
              v0[t] = r0 - r2;
              v1[t] = r1 + r2;
              v2[t] = r2 - r1;
              v3[t] = r1 - r3;
            }
          }
        }
      }
    }
  });
}

// y[n0 + b, o] = Aᵀ M A for every tile (M: [16][O, P], planes winograd_plane(O * P) apart),
// cropped to the output size (+ bias[o]).
template <class T>
void winograd_output(const ConvGeom& g, const T* M, int64_t nb, int64_t TH, int64_t TW,
                     const T* bias, T* y) {
  const int64_t O = g.O, OH = g.out[1], OW = g.out[2], tiles = TH * TW, P = nb * tiles;
  const int64_t ld = winograd_plane(O * P);
  parallel_for(O * nb, O * nb * tiles * 16, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / nb, b = item % nb;
      const T bv = bias ? bias[o] : T(0);
      T* dst = y + (b * O + o) * OH * OW;
      const T* mbase = M + o * P + b * tiles;
      for (int64_t th = 0; th < TH; ++th) {
        T out[2][2][64];  // [output row][output column][tile]
        for (int64_t t0 = 0; t0 < TW; t0 += 64) {
          const int64_t tn = std::min<int64_t>(64, TW - t0);
          // Aᵀ · M: combine the four ξ rows into two output rows, per ξ column j; then · A.
          T s[2][4][64];
          for (int j = 0; j < 4; ++j) {
            const T* m0 = mbase + (0 * 4 + j) * ld + th * TW + t0;
            const T* m1 = mbase + (1 * 4 + j) * ld + th * TW + t0;
            const T* m2 = mbase + (2 * 4 + j) * ld + th * TW + t0;
            const T* m3 = mbase + (3 * 4 + j) * ld + th * TW + t0;
            EMBER_OMP_SIMD()
            for (int64_t t = 0; t < tn; ++t) {
              s[0][j][t] = m0[t] + m1[t] + m2[t];
              s[1][j][t] = m1[t] - m2[t] - m3[t];
            }
          }
          for (int i = 0; i < 2; ++i) {
            EMBER_OMP_SIMD()
            for (int64_t t = 0; t < tn; ++t) {
              out[i][0][t] = s[i][0][t] + s[i][1][t] + s[i][2][t] + bv;
              out[i][1][t] = s[i][1][t] - s[i][2][t] - s[i][3][t] + bv;
            }
          }
          for (int i = 0; i < 2; ++i) {
            const int64_t oh = 2 * th + i;
            if (oh >= OH) continue;
            T* row = dst + oh * OW + 2 * t0;
            const int64_t full = std::min<int64_t>(tn, (OW - 2 * t0) / 2);  // both columns fit
            for (int64_t t = 0; t < full; ++t) {
              row[2 * t] = out[i][0][t];
              row[2 * t + 1] = out[i][1][t];
            }
            if (full < tn) row[2 * full] = out[i][0][full];  // odd width: the last column
          }
        }
      }
    }
  });
}

// Ĝ [16][O, P] (planes winograd_plane(O * P) apart) = A · dY · Aᵀ for every 2x2 tile of the
// output gradient gy of nb images; the parts of edge tiles beyond the output are zeros (the
// forward cropped them away). The adjoint of winograd_output.
template <class T>
void winograd_grad_output(const ConvGeom& g, const T* gy, int64_t nb, int64_t TH, int64_t TW,
                          T* Gh) {
  const int64_t O = g.O, OH = g.out[1], OW = g.out[2], tiles = TH * TW, P = nb * tiles;
  const int64_t ld = winograd_plane(O * P);
  parallel_for(O * nb, O * nb * tiles * 16, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / nb, b = item % nb;
      const T* src = gy + (b * O + o) * OH * OW;
      T* base = Gh + o * P + b * tiles;
      for (int64_t th = 0; th < TH; ++th)
        for (int64_t tw = 0; tw < TW; ++tw) {
          T d[2][2];
          for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j) {
              const int64_t oh = 2 * th + i, ow = 2 * tw + j;
              d[i][j] = oh < OH && ow < OW ? src[oh * OW + ow] : T(0);
            }
          T r[4][2];  // A · d, A = [1 0; 1 1; 1 -1; 0 -1]
          for (int j = 0; j < 2; ++j) {
            r[0][j] = d[0][j];
            r[1][j] = d[0][j] + d[1][j];
            r[2][j] = d[0][j] - d[1][j];
            r[3][j] = -d[1][j];
          }
          T* dst = base + th * TW + tw;
          for (int i = 0; i < 4; ++i) {  // (A · d) · Aᵀ
            dst[(i * 4 + 0) * ld] = r[i][0];
            dst[(i * 4 + 1) * ld] = r[i][0] + r[i][1];
            dst[(i * 4 + 2) * ld] = r[i][0] - r[i][1];
            dst[(i * 4 + 3) * ld] = -r[i][1];
          }
        }
    }
  });
}

// gw [O, C, 3, 3] = Gᵀ · dU · G from dU [16][O, C] (planes winograd_plane(O * C) apart): the
// adjoint of winograd_weights.
template <class T>
void winograd_weights_adjoint(const ConvGeom& g, const T* dU, T* gw) {
  const int64_t OC = g.O * g.C, ld = winograd_plane(OC);
  parallel_for(OC, OC * 64, [&](int64_t begin, int64_t end) {
    for (int64_t oc = begin; oc < end; ++oc) {
      T u[4][4];
      for (int xi = 0; xi < 16; ++xi) u[xi / 4][xi % 4] = dU[xi * ld + oc];
      T r[3][4];  // Gᵀ · u, Gᵀ = [1 ½ ½ 0; 0 ½ -½ 0; 0 ½ ½ 1]
      for (int j = 0; j < 4; ++j) {
        r[0][j] = u[0][j] + T(0.5) * (u[1][j] + u[2][j]);
        r[1][j] = T(0.5) * (u[1][j] - u[2][j]);
        r[2][j] = T(0.5) * (u[1][j] + u[2][j]) + u[3][j];
      }
      T* k = gw + oc * 9;
      for (int i = 0; i < 3; ++i) {  // (Gᵀ · u) · G
        k[i * 3 + 0] = r[i][0] + T(0.5) * (r[i][1] + r[i][2]);
        k[i * 3 + 1] = T(0.5) * (r[i][1] - r[i][2]);
        k[i * 3 + 2] = T(0.5) * (r[i][1] + r[i][2]) + r[i][3];
      }
    }
  });
}

// Images per chunk: the transformed input and output of a chunk stay near 4 MB, so they are
// still in cache when the GEMMs read them.
template <class T>
int64_t winograd_chunk(const ConvGeom& g, int64_t tiles) {
  constexpr int64_t budget = int64_t(4) << 20;
  const int64_t per_image = 16 * (g.C + g.O) * tiles * int64_t(sizeof(T));
  return std::clamp<int64_t>(budget / std::max<int64_t>(per_image, 1), 1,
                             std::max<int64_t>(g.N, 1));
}

}  // namespace detail

// y [N, O, H', W'] = conv(x [N, C, H, W], w [O, C, 3, 3]) (+ bias) for winograd_applies(g).
template <class T>
void winograd_conv(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t C = g.C, O = g.O, OH = g.out[1], OW = g.out[2];
  const int64_t TH = (OH + 1) / 2, TW = (OW + 1) / 2, tiles = TH * TW;
  detail::Scratch<T, 3> U_buf(16 * detail::winograd_plane(O * C));
  T* U = U_buf.ptr;
  detail::winograd_weights(g, w, U);
  const int64_t chunk = detail::winograd_chunk<T>(g, tiles);
  detail::Scratch<T, 4> V_buf(16 * detail::winograd_plane(C * chunk * tiles));
  detail::Scratch<T, 5> M_buf(16 * detail::winograd_plane(O * chunk * tiles));
  T *V = V_buf.ptr, *M = M_buf.ptr;
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0), P = nb * tiles;
    const int64_t ldu = detail::winograd_plane(O * C), ldv = detail::winograd_plane(C * P),
                  ldm = detail::winograd_plane(O * P);
    detail::winograd_input(g, x + n0 * C * g.S(), nb, TH, TW, V);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(max_threads())
#endif
    for (int xi = 0; xi < 16; ++xi)
      gemm<T>(false, false, O, P, C, T(1), U + xi * ldu, C, V + xi * ldv, P, T(0), M + xi * ldm, P);
    detail::winograd_output(g, M, nb, TH, TW, bias, y + n0 * O * OH * OW);
  }
}

template <class T>
void winograd_conv_backward_weight(const ConvGeom& g, const T* x, const T* gy, T* gw) {
  const int64_t C = g.C, O = g.O, OH = g.out[1], OW = g.out[2];
  const int64_t TH = (OH + 1) / 2, TW = (OW + 1) / 2, tiles = TH * TW;
  const int64_t ldu = detail::winograd_plane(O * C);
  detail::Scratch<T, 3> dU_buf(16 * ldu);
  T* dU = dU_buf.ptr;
  const int64_t chunk = detail::winograd_chunk<T>(g, tiles);
  detail::Scratch<T, 4> V_buf(16 * detail::winograd_plane(C * chunk * tiles));
  detail::Scratch<T, 5> G_buf(16 * detail::winograd_plane(O * chunk * tiles));
  T *V = V_buf.ptr, *Gh = G_buf.ptr;
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0), P = nb * tiles;
    const int64_t ldv = detail::winograd_plane(C * P), ldg = detail::winograd_plane(O * P);
    detail::winograd_input(g, x + n0 * C * g.S(), nb, TH, TW, V);
    detail::winograd_grad_output(g, gy + n0 * O * OH * OW, nb, TH, TW, Gh);
    const T beta = n0 == 0 ? T(0) : T(1);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(max_threads())
#endif
    for (int xi = 0; xi < 16; ++xi)
      gemm<T>(false, true, O, C, P, T(1), Gh + xi * ldg, P, V + xi * ldv, P, beta, dU + xi * ldu,
              C);
  }
  detail::winograd_weights_adjoint(g, dU, gw);
}

}  // namespace ember::cpu

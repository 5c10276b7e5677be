// The few LibTorch APIs that differ between Debian's LibTorch 1.13 (CPU, CI) and LibTorch 2.x (the
// CUDA builds inside pip torch). Everything version- or CUDA-specific goes through this header so
// the rest of the code reads the same on both.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "dxl/config.h"

#define DXL_TORCH_AT_LEAST(major, minor) \
    (TORCH_VERSION_MAJOR > (major) ||    \
     (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace dxl::compat {

// Fused scaled-dot-product attention (flash / memory-efficient kernels on CUDA) exists from 2.0.
constexpr bool kHasFusedAttention = DXL_TORCH_AT_LEAST(2, 0);

// Fused scaled-dot-product attention of q (B, H, T, Dh) over k, v (B, H, S, Dh), scaled by
// 1/sqrt(Dh); `causal` masks keys after each query (top-left aligned, so only for S == T).
// Returns (B, H, T, Dh) in q's dtype. Only callable where kHasFusedAttention.
inline torch::Tensor fused_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, bool causal) {
#if DXL_TORCH_AT_LEAST(2, 0)
    return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, causal);
#else
    (void)k;
    (void)v;
    (void)causal;
    TORCH_CHECK(false, "fused attention needs LibTorch >= 2.0");
    return q;
#endif
}

// Autocast (mixed precision) on a device type: the 1.13 per-backend setters were replaced by
// device-typed ones in 2.4.
inline void set_autocast(c10::DeviceType device, bool enabled, at::ScalarType dtype) {
#if DXL_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_enabled(device, enabled);
    at::autocast::set_autocast_dtype(device, dtype);
#else
    if (device == c10::DeviceType::CUDA) {
        at::autocast::set_enabled(enabled);
        at::autocast::set_autocast_gpu_dtype(dtype);
    } else {
        at::autocast::set_cpu_enabled(enabled);
        at::autocast::set_autocast_cpu_dtype(dtype);
    }
#endif
}
inline bool autocast_enabled(c10::DeviceType device) {
#if DXL_TORCH_AT_LEAST(2, 4)
    return at::autocast::is_autocast_enabled(device);
#else
    return device == c10::DeviceType::CUDA ? at::autocast::is_enabled()
                                           : at::autocast::is_cpu_enabled();
#endif
}

// RAII: autocast on `device` to `dtype` while alive (no-op when !enabled); clears the autocast
// cache on exit as torch.autocast does.
class AutocastGuard {
  public:
    AutocastGuard(c10::DeviceType device, at::ScalarType dtype, bool enabled)
        : m_device(device), m_enabled(enabled) {
        if (!m_enabled) return;
        m_prev = autocast_enabled(device);
        set_autocast(device, true, dtype);
        at::autocast::increment_nesting();
    }
    ~AutocastGuard() {
        if (!m_enabled) return;
        if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
        set_autocast_enabled_only(m_device, m_prev);
    }
    AutocastGuard(const AutocastGuard&) = delete;
    AutocastGuard& operator=(const AutocastGuard&) = delete;

  private:
    static void set_autocast_enabled_only(c10::DeviceType device, bool enabled) {
#if DXL_TORCH_AT_LEAST(2, 4)
        at::autocast::set_autocast_enabled(device, enabled);
#else
        if (device == c10::DeviceType::CUDA)
            at::autocast::set_enabled(enabled);
        else
            at::autocast::set_cpu_enabled(enabled);
#endif
    }
    c10::DeviceType m_device;
    bool m_enabled;
    bool m_prev = false;
};

}  // namespace dxl::compat

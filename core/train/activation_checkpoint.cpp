// Activation checkpointing as a custom autograd function (see activation_checkpoint.h). The
// forward runs fn without grad and saves only x; the backward restores the random-number state
// of the forward, re-enters its autocast setting, recomputes fn with grad and differentiates it.
#include "core/train/activation_checkpoint.h"

#include <ATen/core/ivalue.h>
#include <torch/custom_class.h>
#include <torch/torch.h>

#include "core/runtime/torch_compat.h"
#include "core/runtime/torch_compat_autocast.h"

namespace dxl::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Saved : torch::CustomClassHolder {
    TensorFn fn;
    torch::Device device = torch::kCPU;
    torch::Tensor rng_state;  // state of the device's default generator before fn ran
    bool autocast = false;    // fn ran under autocast on device.type()
    at::ScalarType autocast_dtype = at::kBFloat16;
};

at::Generator generator_for(const torch::Device& d) {
    return at::globalContext().defaultGenerator(d.is_cuda() ? d : torch::Device(torch::kCPU));
}

class CheckpointFn : public torch::autograd::Function<CheckpointFn> {
  public:
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& x,
                                 torch::TensorList params, c10::intrusive_ptr<Saved> saved) {
        saved->rng_state = generator_for(saved->device).get_state();
        saved->autocast = compat::autocast_enabled(saved->device.type());
        if (saved->autocast) saved->autocast_dtype = compat::autocast_dtype(saved->device.type());
        torch::Tensor y;
        {
            torch::NoGradGuard no_grad;
            y = saved->fn(x);
        }
        variable_list keep{x};  // x, then the parameters
        keep.insert(keep.end(), params.begin(), params.end());
        ctx->save_for_backward(keep);
        ctx->saved_data["fn"] = at::IValue::make_capsule(saved);
        return {y};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        auto saved = c10::static_intrusive_pointer_cast<Saved>(ctx->saved_data["fn"].toCapsule());
        const variable_list kept = ctx->get_saved_variables();
        const torch::Tensor& x = kept[0];
        const variable_list params(kept.begin() + 1, kept.end());

        at::Generator gen = generator_for(saved->device);
        torch::Tensor now = gen.get_state();
        gen.set_state(saved->rng_state);
        torch::Tensor xin = x.detach().requires_grad_(x.requires_grad());
        torch::Tensor y;
        {
            torch::AutoGradMode grad_on(true);
            compat::AutocastGuard ac(saved->device.type(), saved->autocast_dtype, saved->autocast);
            y = saved->fn(xin);
        }
        gen.set_state(now);

        std::vector<torch::Tensor> inputs;
        if (xin.requires_grad()) inputs.push_back(xin);
        inputs.insert(inputs.end(), params.begin(), params.end());
        variable_list g = inputs.empty() ? variable_list{}
                                         : torch::autograd::grad({y}, inputs, {grads[0]},
                                                                 /*retain_graph=*/false,
                                                                 /*create_graph=*/false,
                                                                 /*allow_unused=*/true);
        variable_list out;
        size_t i = 0;
        out.push_back(xin.requires_grad() ? g[i++] : torch::Tensor());
        for (size_t k = 0; k < params.size(); ++k)
            out.push_back(g[i++]);
        out.emplace_back();  // the Saved capsule
        return out;
    }
};

}  // namespace

torch::Tensor checkpointed(const TensorFn& fn, const torch::Tensor& x,
                           const std::vector<torch::Tensor>& params) {
    std::vector<torch::Tensor> trainable;  // torch::autograd::grad needs inputs that require grad
    for (const auto& p : params)
        if (p.requires_grad()) trainable.push_back(p);
    if (!torch::GradMode::is_enabled() || (!x.requires_grad() && trainable.empty())) return fn(x);
    auto saved = c10::make_intrusive<Saved>();
    saved->fn = fn;
    saved->device = x.device();
    return CheckpointFn::apply(x, torch::TensorList(trainable), saved)[0];
}

}  // namespace dxl::train

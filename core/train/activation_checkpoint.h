// Activation checkpointing: run a function of one tensor without keeping its intermediate
// activations, and run it again (with the same random-number state and mixed-precision setting)
// when the backward pass reaches it. Used for the student's blocks on long sequences: memory for
// activations drops from every block's to one block's at the cost of one more forward per block.
#pragma once

#include <torch/types.h>

#include <functional>
#include <vector>

namespace dxl::train {

using TensorFn = std::function<torch::Tensor(const torch::Tensor&)>;

// y = fn(x), differentiable in x and in `params` (the tensors fn reads that need gradients;
// others are ignored). fn must own everything it uses: it is called again during backward. Outside
// grad mode it is just fn(x).
torch::Tensor checkpointed(const TensorFn& fn, const torch::Tensor& x,
                           const std::vector<torch::Tensor>& params);

}  // namespace dxl::train

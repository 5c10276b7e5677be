// `dxl align --show`: the studio's linked maps for one head pair (or the rollout), with its
// display filters and token highlight, written to OUT/show.h5 (docs/alignment.md, "Shown maps").
#pragma once

#include <string>
#include <vector>

#include "app/cli/args.h"
#include "core/analysis/alignment.h"

namespace dxl::cli {

// Adds --show, --show-sample, --rollout, --filter-threshold, --filter-top-k, --drop-sink and
// --highlight to spec.
void add_show_options(OptionSpec& spec);
extern const char* const kShowHelp;

// True when any of those options was given.
bool show_requested(const Args& args);

// Computes the shown maps of the chosen sample and writes OUT/show.h5 (refusing to replace an
// existing file); prints what it wrote.
void write_show(const Args& args, const std::vector<analysis::AlignmentInput>& samples,
                analysis::StudentNorm norm, const std::string& out_dir);

}  // namespace dxl::cli

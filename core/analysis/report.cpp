// Writers for AlignmentReport: JSON summary, CSV tables, the /align HDF5 group and the terminal
// summary. Torch-free (values only).
#include "core/analysis/report.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/store/h5.h"

namespace dxl::analysis {

namespace {

struct MatchedHead {
    int64_t teacher_layer, teacher_head, student_block, student_head;
    double value;  // match metric mean
    double cost;
};

std::vector<MatchedHead> matched_heads(const AlignmentReport& r) {
    std::vector<MatchedHead> out;
    const int mi = static_cast<int>(r.match_metric);
    for (const auto& p : r.pairs)
        for (int64_t h = 0; h < static_cast<int64_t>(p.match.size()); ++h) {
            if (p.match[h] < 0) continue;
            const double v = p.metrics[mi].at(h, p.match[h]).mean;
            out.push_back({p.teacher_layer, h, p.student_block, p.match[h], v,
                           std::isfinite(v) ? match_cost(r.match_metric, v) : 1e300});
        }
    std::stable_sort(out.begin(), out.end(),
                     [](const MatchedHead& a, const MatchedHead& b) { return a.cost < b.cost; });
    return out;
}

nlohmann::json ci_json(const MeanCi& m) {
    nlohmann::json j;
    j["mean"] = m.mean;
    j["ci_low"] = m.mean - m.half_width;
    j["ci_high"] = m.mean + m.half_width;
    j["n"] = m.n;
    return j;
}

nlohmann::json matrix_means(const MatrixCi& m) {
    nlohmann::json rows = nlohmann::json::array();
    for (int64_t r = 0; r < m.rows; ++r) {
        nlohmann::json row = nlohmann::json::array();
        for (int64_t c = 0; c < m.cols; ++c)
            row.push_back(m.at(r, c).mean);
        rows.push_back(row);
    }
    return rows;
}

std::string fmt(double v) {
    if (!std::isfinite(v)) return "nan";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

std::ofstream open_out(const std::string& path) {
    std::ofstream f(path);
    DXL_CHECK(f.good(), IoError, "align: cannot write ", path,
              "; check that the --out folder exists and is writable");
    return f;
}

std::string pair_group_name(const LayerPairReport& p) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "pair_layer_%02lld_block_%02lld",
                  static_cast<long long>(p.teacher_layer), static_cast<long long>(p.student_block));
    return buf;
}

std::string metric_names() {
    std::string s;
    for (Metric m : kAllMetrics)
        s += std::string(s.empty() ? "" : ",") + to_string(m);
    return s;
}

std::string stat_names() {
    std::string s;
    for (int i = 0; i < kNumHeadStats; ++i)
        s += std::string(i ? "," : "") + to_string(static_cast<HeadStat>(i));
    return s;
}

}  // namespace

void write_summary_json(const AlignmentReport& r, const std::string& path) {
    nlohmann::json j;
    j["format"] = "dxl-align-summary";
    j["schema_version"] = 1;
    j["normalization"] = r.normalization;
    j["match_metric"] = to_string(r.match_metric);
    j["n_samples"] = r.n_samples;
    j["ci_level"] = r.ci_level;
    j["eps"] = r.eps;
    j["top_k"] = r.top_k;
    j["student_block_types"] = r.student_block_types;
    j["layer_map"]["source"] = r.layer_map.source;
    for (const auto& p : r.layer_map.pairs)
        j["layer_map"]["pairs"].push_back({p.teacher_layer, p.student_block});
    j["mean_alignment"] = ci_json(r.mean_alignment);
    j["mean_alignment"]["metric"] = to_string(r.match_metric);
    j["mean_alignment"]["normalization"] = r.normalization;
    for (const auto& p : r.pairs) {
        nlohmann::json pj;
        pj["teacher_layer"] = p.teacher_layer;
        pj["student_block"] = p.student_block;
        pj["matched_mean"] = ci_json(p.matched_mean);
        for (int64_t h = 0; h < static_cast<int64_t>(p.match.size()); ++h) {
            if (p.match[h] < 0) continue;
            nlohmann::json mj;
            mj["teacher_head"] = h;
            mj["student_head"] = p.match[h];
            for (Metric m : kAllMetrics)
                mj[to_string(m)] = p.metrics[static_cast<int>(m)].at(h, p.match[h]).mean;
            pj["matches"].push_back(mj);
        }
        for (Metric m : kAllMetrics)
            pj["mean_matrix"][to_string(m)] = matrix_means(p.metrics[static_cast<int>(m)]);
        j["pairs"].push_back(pj);
    }
    const auto mh = matched_heads(r);
    auto head_json = [&](const MatchedHead& m) {
        return nlohmann::json{{"teacher_layer", m.teacher_layer},
                              {"teacher_head", m.teacher_head},
                              {"student_block", m.student_block},
                              {"student_head", m.student_head},
                              {to_string(r.match_metric), m.value}};
    };
    j["best_matched"] = nlohmann::json::array();
    j["worst_matched"] = nlohmann::json::array();
    for (size_t i = 0; i < std::min<size_t>(5, mh.size()); ++i) {
        j["best_matched"].push_back(head_json(mh[i]));
        j["worst_matched"].push_back(head_json(mh[mh.size() - 1 - i]));
    }
    if (r.cka_linear.rows > 0) {
        j["cka_linear"] = matrix_means(r.cka_linear);
        j["cka_rbf"] = matrix_means(r.cka_rbf);
    }
    j["logits"]["kl_teacher_student"] = ci_json(r.logit_kl);
    j["logits"]["top1_agreement"] = ci_json(r.logit_top1);
    for (Metric m : kAllMetrics)
        j["rollout"][to_string(m)] = ci_json(r.rollout[static_cast<int>(m)]);
    j["rollout"]["normalization"] = r.normalization;
    auto f = open_out(path);
    f << j.dump(2) << "\n";
}

void write_pairs_csv(const AlignmentReport& r, const std::string& path) {
    auto f = open_out(path);
    f << "normalization,teacher_layer,teacher_head,student_block,student_head,matched";
    for (Metric m : kAllMetrics)
        f << "," << to_string(m) << "," << to_string(m) << "_ci";
    f << ",n_samples\n";
    for (const auto& p : r.pairs) {
        const MatrixCi& any = p.metrics[0];
        for (int64_t h = 0; h < any.rows; ++h)
            for (int64_t g = 0; g < any.cols; ++g) {
                f << r.normalization << "," << p.teacher_layer << "," << h << "," << p.student_block
                  << "," << g << "," << (p.match[h] == g ? 1 : 0);
                for (int m = 0; m < kNumMetrics; ++m)
                    f << "," << fmt(p.metrics[m].at(h, g).mean) << ","
                      << fmt(p.metrics[m].at(h, g).half_width);
                f << "," << any.at(h, g).n << "\n";
            }
    }
}

void write_heads_csv(const AlignmentReport& r, const std::string& path) {
    auto f = open_out(path);
    f << "model,layer,head,block_type,normalization";
    for (int s = 0; s < kNumHeadStats; ++s) {
        const char* n = to_string(static_cast<HeadStat>(s));
        f << "," << n << "," << n << "_ci";
    }
    f << "\n";
    for (const HeadStatsReport* h : {&r.teacher_heads_stats, &r.student_heads_stats}) {
        const bool student = h->scope == "student";
        const MatrixCi& any = h->stats[0];
        for (int64_t l = 0; l < any.rows; ++l) {
            const std::string type = student ? r.student_block_types.at(l) : "attention";
            if (student && type != "mlstm") continue;
            for (int64_t k = 0; k < any.cols; ++k) {
                f << h->scope << "," << l << "," << k << "," << type << ","
                  << (student ? r.normalization : std::string("softmax"));
                for (int s = 0; s < kNumHeadStats; ++s)
                    f << "," << fmt(h->stats[s].at(l, k).mean) << ","
                      << fmt(h->stats[s].at(l, k).half_width);
                f << "\n";
            }
        }
    }
}

namespace {

void write_matrix_pair(const h5::Group& g, const std::string& name,
                       const std::vector<const MatrixCi*>& mats, const std::string& dims,
                       const std::string& names_attr, const std::string& names) {
    const MatrixCi& m0 = *mats.at(0);
    std::vector<double> mean, half;
    for (const MatrixCi* m : mats)
        for (const MeanCi& v : m->values) {
            mean.push_back(v.mean);
            half.push_back(v.half_width);
        }
    h5::Dims d;
    if (mats.size() > 1) d.push_back(mats.size());
    d.push_back(static_cast<hsize_t>(m0.rows));
    d.push_back(static_cast<hsize_t>(m0.cols));
    g.write<double>(name, mean, d);
    g.write<double>(name + "_ci", half, d);
    for (const std::string& n : {name, name + "_ci"}) {
        g.set_attr("dims", dims, n);
        if (!names_attr.empty()) g.set_attr(names_attr, names, n);
    }
}

}  // namespace

void write_align_group(const AlignmentReport& r, const h5::Group& parent) {
    DXL_CHECK(
        !parent.exists("align"), IoError, "align: ", parent.file_name(),
        " already has an /align group; the writer replaces it only in a fresh copy (internal)");
    h5::Group g = parent.create_group("align");
    g.set_attr("format", "dxl-align");
    g.set_attr("schema_version", int64_t{1});
    g.set_attr("normalization", r.normalization);
    g.set_attr("match_metric", std::string(to_string(r.match_metric)));
    g.set_attr("layer_map_source", r.layer_map.source);
    g.set_attr("n_samples", r.n_samples);
    g.set_attr("ci_level", r.ci_level);
    g.set_attr("eps", r.eps);
    g.set_attr("top_k", r.top_k);
    g.set_attr("metrics", metric_names());
    g.set_attr("mean_alignment", r.mean_alignment.mean);
    g.set_attr("mean_alignment_ci", r.mean_alignment.half_width);
    std::vector<int64_t> lm;
    for (const auto& p : r.layer_map.pairs) {
        lm.push_back(p.teacher_layer);
        lm.push_back(p.student_block);
    }
    g.write<int64_t>("layer_map", lm, {static_cast<hsize_t>(r.layer_map.pairs.size()), 2});
    g.set_attr("dims", "P,2 (teacher_layer, student_block)", "layer_map");
    for (const auto& p : r.pairs) {
        h5::Group pg = g.create_group(pair_group_name(p));
        pg.set_attr("teacher_layer", p.teacher_layer);
        pg.set_attr("student_block", p.student_block);
        pg.set_attr("normalization", r.normalization);
        pg.set_attr("matched_mean", p.matched_mean.mean);
        pg.set_attr("matched_mean_ci", p.matched_mean.half_width);
        std::vector<const MatrixCi*> mats;
        for (const auto& m : p.metrics)
            mats.push_back(&m);
        write_matrix_pair(pg, "metrics", mats, "M,Ht,Hs", "metrics", metric_names());
        pg.write<int64_t>("assignment", p.match, {static_cast<hsize_t>(p.match.size())});
        pg.set_attr("dims", "Ht", "assignment");
        pg.set_attr("match_metric", std::string(to_string(r.match_metric)), "assignment");
    }
    h5::Group hg = g.create_group("heads");
    for (const HeadStatsReport* h : {&r.teacher_heads_stats, &r.student_heads_stats}) {
        std::vector<const MatrixCi*> mats;
        for (const auto& m : h->stats)
            mats.push_back(&m);
        write_matrix_pair(hg, h->scope, mats, "S,L,H", "stats", stat_names());
        hg.set_attr("normalization",
                    h->scope == "student" ? r.normalization : std::string("softmax"), h->scope);
    }
    if (r.cka_linear.rows > 0) {
        write_matrix_pair(g, "cka_linear", {&r.cka_linear}, "Lt,Ns", "", "");
        write_matrix_pair(g, "cka_rbf", {&r.cka_rbf}, "Lt,Ns", "", "");
    }
    g.set_attr("logit_kl", r.logit_kl.mean);
    g.set_attr("logit_kl_ci", r.logit_kl.half_width);
    g.set_attr("logit_top1", r.logit_top1.mean);
    g.set_attr("logit_top1_ci", r.logit_top1.half_width);
    h5::Group rg = g.create_group("rollout");
    std::vector<double> rm, rh;
    for (const auto& v : r.rollout) {
        rm.push_back(v.mean);
        rh.push_back(v.half_width);
    }
    rg.write<double>("metrics", rm, {static_cast<hsize_t>(kNumMetrics)});
    rg.write<double>("metrics_ci", rh, {static_cast<hsize_t>(kNumMetrics)});
    rg.set_attr("metrics", metric_names(), "metrics");
    rg.set_attr("normalization", r.normalization);
    if (r.rollout_T > 0) {
        const auto T = static_cast<hsize_t>(r.rollout_T);
        rg.write<double>("teacher", r.rollout_teacher, {T, T});
        rg.write<double>("student", r.rollout_student, {T, T});
        rg.set_attr("dims", "T,T (sample 0)", "teacher");
        rg.set_attr("dims", "T,T (sample 0)", "student");
    }
}

void print_summary(const AlignmentReport& r, std::FILE* out, int64_t n_best) {
    const char* metric = to_string(r.match_metric);
    std::fprintf(
        out,
        "alignment: %lld sample(s), student normalisation %s, head matching by %s (Hungarian)\n",
        static_cast<long long>(r.n_samples), r.normalization.c_str(), metric);
    std::fprintf(out, "layer map (%s):", r.layer_map.source.c_str());
    for (const auto& p : r.layer_map.pairs)
        std::fprintf(out, " L%lld->B%lld", static_cast<long long>(p.teacher_layer),
                     static_cast<long long>(p.student_block));
    std::fprintf(out, "\n");
    std::fprintf(out, "mean alignment (%s, %s, matched heads): %.6g  [%.0f%% CI +/- %.3g]\n",
                 metric, r.normalization.c_str(), r.mean_alignment.mean, r.ci_level * 100.0,
                 r.mean_alignment.half_width);
    for (const auto& p : r.pairs)
        std::fprintf(out, "  teacher layer %lld vs student block %lld: %s %.6g\n",
                     static_cast<long long>(p.teacher_layer),
                     static_cast<long long>(p.student_block), metric, p.matched_mean.mean);
    const auto mh = matched_heads(r);
    const size_t n = std::min<size_t>(static_cast<size_t>(n_best), mh.size());
    auto line = [&](const MatchedHead& m) {
        std::fprintf(out, "  teacher L%lld.H%lld <-> student B%lld.H%lld  %s %.6g\n",
                     static_cast<long long>(m.teacher_layer),
                     static_cast<long long>(m.teacher_head),
                     static_cast<long long>(m.student_block),
                     static_cast<long long>(m.student_head), metric, m.value);
    };
    std::fprintf(out, "best matched heads (%s):\n", r.normalization.c_str());
    for (size_t i = 0; i < n; ++i)
        line(mh[i]);
    std::fprintf(out, "worst matched heads (%s):\n", r.normalization.c_str());
    for (size_t i = 0; i < n; ++i)
        line(mh[mh.size() - 1 - i]);
    if (r.logit_kl.n > 0)
        std::fprintf(out, "next-token KL(teacher||student) %.6g, top-1 agreement %.4g\n",
                     r.logit_kl.mean, r.logit_top1.mean);
    std::fprintf(out, "rollout (teacher vs student implicit, %s): %s %.6g, pearson %.4g\n",
                 r.normalization.c_str(), metric, r.rollout[static_cast<int>(r.match_metric)].mean,
                 r.rollout[static_cast<int>(Metric::Pearson)].mean);
    if (r.cka_linear.rows > 0) {
        std::fprintf(out, "linear CKA (teacher layer x student block):\n");
        for (int64_t l = 0; l < r.cka_linear.rows; ++l) {
            std::fprintf(out, "  L%lld:", static_cast<long long>(l));
            for (int64_t b = 0; b < r.cka_linear.cols; ++b)
                std::fprintf(out, " %.4f", r.cka_linear.at(l, b).mean);
            std::fprintf(out, "\n");
        }
    }
}

}  // namespace dxl::analysis

// executor.cpp: layout assignment, Relayout insertion, views, arena
// planning and kernel creation for a Session (see executor.h).
#include "runtime/executor.h"

#include <pthreadpool.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "runtime/error.h"
#include "runtime/layout.h"
#include "runtime/planner.h"

namespace vedge {

namespace {

// What a node needs of the layout of one of its (non-constant) inputs.
enum class Need { Any, Plain, Nhwc };

bool is_spatial(const std::string& op) {
  return op == "Conv" || op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" ||
         op == "Resize" || op == "QConv" || op == "QGlobalAveragePool";
}
bool is_unary(const std::string& op) {
  return op == "Relu" || op == "Clip" || op == "Sigmoid" || op == "HardSwish" ||
         op == "HardSigmoid" || op == "QuantizeLinear" || op == "DequantizeLinear" || op == "QLut";
}
bool is_binary(const std::string& op) {
  return op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "QAdd" || op == "QMul";
}
bool is_concat(const std::string& op) { return op == "Concat" || op == "QConcat"; }

Need fast_need(const Node& n, size_t input_index, const Shape& shape) {
  if (is_spatial(n.op)) return input_index == 0 && shape.size() == 4 ? Need::Nhwc : Need::Plain;
  if (is_unary(n.op) || is_binary(n.op) || is_concat(n.op) || n.op == "Reshape" ||
      n.op == "Transpose")
    return Need::Any;
  return Need::Plain;
}

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

struct AlignedFree {
  void operator()(uint8_t* p) const { std::free(p); }
};

}  // namespace

struct Session::Impl {
  Graph g;  // the graph as executed (Relayout nodes inserted)
  SessionOptions opt;
  pthreadpool_t pool = nullptr;
  ExecContext ctx;

  std::vector<std::vector<int64_t>> strides;  // per value
  std::vector<int> alias;                      // base value whose bytes it views (or itself)
  std::vector<uint8_t*> ptr;                   // per value
  std::unique_ptr<uint8_t, AlignedFree> arena;
  size_t arena_size = 0;
  std::vector<Tensor> const_outputs;  // graph outputs that are constants

  struct Step {
    std::unique_ptr<Kernel> kernel;
    size_t node = 0;
  };
  std::vector<Step> steps;
  std::vector<OpProfile> prof;

  std::vector<int> user_outputs;  // plain values read by output()/output_data()

  ~Impl() {
    steps.clear();  // kernels may hold backend operators bound to the pool
    if (pool) pthreadpool_destroy(pool);
  }

  int base(int v) const {
    while (alias[v] != v) v = alias[v];
    return v;
  }

  int add_value_like(int v, std::vector<int64_t> st, const std::string& suffix) {
    Value nv;
    nv.name = g.values[v].name + suffix;
    nv.dtype = g.values[v].dtype;
    nv.shape = g.values[v].shape;
    nv.quant = g.values[v].quant;  // a relaid integer value keeps its parameters
    int id = g.add_value(std::move(nv));
    strides.push_back(std::move(st));
    alias.push_back(id);
    return id;
  }

  void assign_layouts();
  void plan_memory();
  void create_kernels();
};

void Session::Impl::assign_layouts() {
  const bool fast = opt.backend == Backend::Fast;
  strides.resize(g.values.size());
  alias.resize(g.values.size());
  for (size_t v = 0; v < g.values.size(); ++v) {
    strides[v] = plain_strides(g.values[v].shape);
    alias[v] = static_cast<int>(v);
  }
  if (fast) {
    // An image input read only by channel-last consumers is stored NHWC.
    for (int v : g.inputs) {
      const Shape& s = g.values[v].shape;
      bool nhwc = s.size() == 4 && g.values[v].dtype == DType::F32 &&
                  std::find(g.outputs.begin(), g.outputs.end(), v) == g.outputs.end();
      bool used = false;
      for (const Node& n : g.nodes)
        for (size_t i = 0; i < n.inputs.size(); ++i)
          if (n.inputs[i] == v) {
            used = true;
            nhwc &= fast_need(n, i, s) == Need::Nhwc;
          }
      if (nhwc && used) strides[v] = nhwc_strides(s);
    }
  }
  std::vector<Node> nodes;
  nodes.reserve(g.nodes.size() + 8);
  std::map<std::pair<int, bool>, int> relayouts;  // (value, to_nhwc) -> relaid value

  auto relayout = [&](int v, bool to_nhwc) {
    auto key = std::make_pair(v, to_nhwc);
    auto it = relayouts.find(key);
    if (it != relayouts.end()) return it->second;
    const Shape& s = g.values[v].shape;
    int id = add_value_like(v, to_nhwc ? nhwc_strides(s) : plain_strides(s),
                            to_nhwc ? ":nhwc" : ":plain");
    Node r;
    r.op = "Relayout";
    r.name = g.values[v].name + (to_nhwc ? "/to_nhwc" : "/to_plain");
    r.inputs = {v};
    r.outputs = {id};
    nodes.push_back(std::move(r));
    relayouts[key] = id;
    return id;
  };

  std::vector<Node> src = std::move(g.nodes);
  for (Node& n : src) {
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      int v = n.inputs[i];
      if (v < 0 || g.values[v].is_constant()) continue;
      const Shape& s = g.values[v].shape;
      Need need = fast ? fast_need(n, i, s) : Need::Plain;
      bool dense_ok = is_dense(s, strides[v]);
      if (need == Need::Nhwc && !same_strides(s, strides[v], nhwc_strides(s))) n.inputs[i] = relayout(v, true);
      else if (need == Need::Plain && !same_strides(s, strides[v], plain_strides(s))) n.inputs[i] = relayout(v, false);
      else if (need == Need::Any && !dense_ok) n.inputs[i] = relayout(v, false);
    }
    // Output layouts.
    int out = n.outputs.empty() ? -1 : n.outputs[0];
    int in0 = n.inputs.empty() ? -1 : n.inputs[0];
    bool in0_act = in0 >= 0 && !g.values[in0].is_constant();
    if (out >= 0 && fast) {
      const Shape& os = g.values[out].shape;
      if (is_spatial(n.op) && os.size() == 4) {
        strides[out] = nhwc_strides(os);
      } else if (is_unary(n.op) && in0_act) {
        strides[out] = strides[in0];
      } else if (is_binary(n.op) || is_concat(n.op)) {
        bool all_nhwc = os.size() == 4;
        bool any_nhwc = false;
        for (int v : n.inputs) {
          if (v < 0 || g.values[v].is_constant()) continue;
          const Shape& vs = g.values[v].shape;
          bool nh = vs.size() == 4 && same_strides(vs, strides[v], nhwc_strides(vs));
          any_nhwc |= nh && g.values[v].shape == os;
          all_nhwc &= nh;
        }
        bool nhwc = is_concat(n.op) ? all_nhwc : any_nhwc;
        strides[out] = nhwc ? nhwc_strides(os) : plain_strides(os);
      } else if (n.op == "Transpose" && in0_act) {
        auto perm = n.attrs.get_ints("perm");
        std::vector<int64_t> st(perm.size());
        for (size_t d = 0; d < perm.size(); ++d) st[d] = strides[in0][static_cast<size_t>(perm[d])];
        strides[out] = st;
        alias[out] = in0;
        continue;  // a view: no kernel
      } else if (n.op == "Reshape" && in0_act) {
        std::vector<int64_t> st;
        if (view_strides(g.values[in0].shape, strides[in0], os, &st)) {
          strides[out] = st;
          alias[out] = in0;
          continue;
        }
      }
    } else if (out >= 0 && n.op == "Reshape" && in0_act) {
      alias[out] = in0;  // reference backend: plain -> plain is always a view
      continue;
    }
    nodes.push_back(std::move(n));
  }
  // Graph outputs are plain; a view of another value is copied out as well
  // when it is not plain.
  for (int& o : g.outputs) {
    if (g.values[o].is_constant()) continue;
    const Shape& os = g.values[o].shape;
    if (!same_strides(os, strides[o], plain_strides(os))) o = relayout(o, false);
  }
  g.nodes = std::move(nodes);
}

void Session::Impl::plan_memory() {
  const int nsteps = static_cast<int>(g.nodes.size());
  const size_t nv = g.values.size();
  std::vector<int> first(nv, nsteps + 1), last(nv, -2);
  auto touch = [&](int v, int step) {
    int b = base(v);
    first[b] = std::min(first[b], step);
    last[b] = std::max(last[b], step);
  };
  for (int v : g.inputs) touch(v, -1);
  for (int s = 0; s < nsteps; ++s) {
    for (int v : g.nodes[s].inputs)
      if (v >= 0 && !g.values[v].is_constant()) touch(v, s);
    for (int v : g.nodes[s].outputs) touch(v, s);
  }
  for (int v : g.outputs)
    if (!g.values[v].is_constant()) touch(v, nsteps);

  std::vector<BufferRequest> reqs;
  std::vector<int> owner;
  for (size_t v = 0; v < nv; ++v) {
    if (g.values[v].is_constant() || base(static_cast<int>(v)) != static_cast<int>(v)) continue;
    if (last[v] < -1) continue;  // never used
    size_t bytes = static_cast<size_t>(numel(g.values[v].shape)) * dtype_size(g.values[v].dtype);
    reqs.push_back({bytes + 64, first[v], last[v]});  // +64: SIMD kernels read past the end
    owner.push_back(static_cast<int>(v));
  }
  ArenaPlan plan = plan_arena(reqs, 64);
  arena_size = plan.total;
  if (arena_size > opt.max_arena_bytes)
    fail(g.source, ": activations need ", arena_size >> 20, " MiB, more than the ",
         opt.max_arena_bytes >> 20, " MiB limit");
  void* mem = std::aligned_alloc(64, std::max<size_t>(arena_size, 64));
  if (!mem) fail(g.source, ": cannot allocate a ", arena_size, "-byte arena");
  std::memset(mem, 0, std::max<size_t>(arena_size, 64));
  arena.reset(static_cast<uint8_t*>(mem));

  ptr.assign(nv, nullptr);
  for (size_t i = 0; i < owner.size(); ++i) ptr[owner[i]] = arena.get() + plan.offsets[i];
  for (size_t v = 0; v < nv; ++v) {
    if (g.values[v].is_constant())
      ptr[v] = static_cast<uint8_t*>(const_cast<void*>(g.values[v].constant.raw()));
    else
      ptr[v] = ptr[base(static_cast<int>(v))];
  }
}

void Session::Impl::create_kernels() {
  ctx.num_threads = std::max(1, opt.num_threads);
  if (ctx.num_threads > 1) {
    pool = pthreadpool_create(static_cast<size_t>(ctx.num_threads));
    if (!pool) fail("cannot create a thread pool of ", ctx.num_threads, " threads");
  }
  ctx.threadpool = pool;
  auto ref_of = [&](int v) {
    TensorRef r;
    if (v < 0) return r;
    r.dtype = g.values[v].dtype;
    r.shape = g.values[v].shape;
    r.strides = strides[v];
    r.data = ptr[v];
    return r;
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    KernelArgs a;
    a.graph = &g;
    a.node = &n;
    a.ctx = &ctx;
    for (int v : n.inputs) a.in.push_back(ref_of(v));
    for (int v : n.outputs) a.out.push_back(ref_of(v));
    std::unique_ptr<Kernel> k;
    if (opt.backend == Backend::Fast) k = make_fast_kernel(a);
    if (!k) {
      bool plain = true;
      for (const TensorRef& r : a.in) plain &= !r.present() || r.is_plain();
      for (const TensorRef& r : a.out) plain &= r.is_plain();
      if (plain) k = make_ref_kernel(a);
    }
    if (!k) fail(g.source, ": node ", n.label(), ": no kernel for this configuration");
    steps.push_back({std::move(k), i});
    prof.push_back({n.label(), n.op, 0.0, 0});
  }
}

Session::Session(Graph graph, SessionOptions opt) : impl_(new Impl) {
  impl_->g = std::move(graph);
  impl_->opt = opt;
  impl_->g.validate();
  for (int v : impl_->g.inputs)
    VEDGE_CHECK(!impl_->g.values[v].is_constant(), impl_->g.source, ": input '",
                impl_->g.values[v].name, "' is a constant");
  impl_->user_outputs = impl_->g.outputs;
  impl_->assign_layouts();
  impl_->plan_memory();
  impl_->create_kernels();
  for (int v : impl_->g.outputs)
    if (impl_->g.values[v].is_constant()) impl_->const_outputs.push_back(impl_->g.values[v].constant);
}

Session::~Session() = default;

const Graph& Session::graph() const { return impl_->g; }
const SessionOptions& Session::options() const { return impl_->opt; }
int Session::num_inputs() const { return static_cast<int>(impl_->g.inputs.size()); }
int Session::num_outputs() const { return static_cast<int>(impl_->g.outputs.size()); }
const Value& Session::input_info(int i) const { return impl_->g.values.at(impl_->g.inputs.at(i)); }
const Value& Session::output_info(int i) const {
  return impl_->g.values.at(impl_->user_outputs.at(i));
}

int Session::input_index(const std::string& name) const {
  for (size_t i = 0; i < impl_->g.inputs.size(); ++i)
    if (impl_->g.values[impl_->g.inputs[i]].name == name) return static_cast<int>(i);
  return -1;
}

int Session::output_index(const std::string& name) const {
  for (size_t i = 0; i < impl_->user_outputs.size(); ++i)
    if (impl_->g.values[impl_->user_outputs[i]].name == name) return static_cast<int>(i);
  return -1;
}

void* Session::input_data(int i) { return impl_->ptr.at(impl_->g.inputs.at(i)); }

const void* Session::output_data(int i) const { return impl_->ptr.at(impl_->g.outputs.at(i)); }

bool Session::input_is_nhwc(int i) const {
  const int v = impl_->g.inputs.at(i);
  const Shape& s = impl_->g.values[v].shape;
  return s.size() == 4 && !same_strides(s, impl_->strides[v], plain_strides(s));
}

void Session::set_input(int i, const Tensor& t) {
  const Value& v = input_info(i);
  VEDGE_CHECK(t.dtype() == v.dtype && t.shape() == v.shape, impl_->g.source, ": input '", v.name,
              "' expects ", dtype_name(v.dtype), " ", shape_str(v.shape), ", got ",
              dtype_name(t.dtype()), " ", shape_str(t.shape()));
  if (!input_is_nhwc(i)) {
    std::memcpy(input_data(i), t.raw(), t.nbytes());
    return;
  }
  const int64_t N = v.shape[0], C = v.shape[1], HW = v.shape[2] * v.shape[3];
  const float* src = t.data<float>();
  float* dst = static_cast<float*>(input_data(i));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < HW; ++p) dst[(n * HW + p) * C + c] = src[(n * C + c) * HW + p];
}

Tensor Session::output(int i) const {
  const Value& v = output_info(i);
  Tensor t(v.dtype, v.shape);
  std::memcpy(t.raw(), output_data(i), t.nbytes());
  return t;
}

void Session::run() {
  Impl& m = *impl_;
  if (!m.opt.profile) {
    for (auto& s : m.steps) s.kernel->run(m.ctx);
    return;
  }
  for (size_t i = 0; i < m.steps.size(); ++i) {
    double t0 = now_ms();
    m.steps[i].kernel->run(m.ctx);
    m.prof[i].total_ms += now_ms() - t0;
    m.prof[i].calls += 1;
  }
}

size_t Session::arena_bytes() const { return impl_->arena_size; }

size_t Session::constant_bytes() const {
  size_t total = 0;
  for (const Value& v : impl_->g.values)
    if (v.is_constant()) total += v.constant.nbytes();
  return total;
}

std::vector<OpProfile> Session::profile() const { return impl_->prof; }

void Session::reset_profile() {
  for (auto& p : impl_->prof) p.total_ms = 0, p.calls = 0;
}

std::vector<Tensor> eval_node_reference(const Graph& g, const Node& n,
                                        const std::vector<Tensor>& inputs) {
  VEDGE_CHECK(inputs.size() == n.inputs.size(), "node ", n.label(), ": expected ",
              n.inputs.size(), " inputs, got ", inputs.size());
  std::vector<Tensor> outs;
  KernelArgs a;
  a.graph = &g;
  a.node = &n;
  ExecContext ctx;
  a.ctx = &ctx;
  for (size_t i = 0; i < inputs.size(); ++i) {
    TensorRef r;
    if (n.inputs[i] >= 0 && !inputs[i].empty()) {
      r.dtype = inputs[i].dtype();
      r.shape = inputs[i].shape();
      r.strides = plain_strides(r.shape);
      r.data = const_cast<void*>(inputs[i].raw());
    }
    a.in.push_back(r);
  }
  for (int v : n.outputs) {
    outs.emplace_back(g.values[v].dtype, g.values[v].shape);
    a.out.push_back(make_ref(outs.back()));
  }
  std::unique_ptr<Kernel> k = make_ref_kernel(a);
  if (!k) fail(g.source, ": node ", n.label(), ": cannot evaluate op '", n.op, "'");
  k->run(ctx);
  return outs;
}

}  // namespace vedge

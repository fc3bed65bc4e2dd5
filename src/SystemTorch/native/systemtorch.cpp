// SystemTorch native shim: a small C ABI over ATen / autograd.
// Tensors cross the boundary as opaque heap handles (at::Tensor*). Every export catches every
// exception and records its message in a thread-local; the managed side turns it into an exception.
#include <torch/torch.h>
#include <torch/version.h>
#include <ATen/Parallel.h>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#define ST_API extern "C" __attribute__((visibility("default")))

using at::Tensor;

static thread_local std::string g_error;

#define ST_TRY try {
#define ST_CATCH(ret)                                                     \
  }                                                                       \
  catch (const c10::Error& e) {                                           \
    g_error = e.what_without_backtrace();                                 \
    return ret;                                                           \
  }                                                                       \
  catch (const std::exception& e) {                                       \
    g_error = e.what();                                                   \
    return ret;                                                           \
  }                                                                       \
  catch (...) {                                                           \
    g_error = "unknown native error";                                     \
    return ret;                                                           \
  }

static inline Tensor* wrap(Tensor t) { return new Tensor(std::move(t)); }
static inline const Tensor& T(Tensor* p) {
  if (p == nullptr) throw std::invalid_argument("tensor handle is null (disposed tensor?)");
  return *p;
}
static inline Tensor& M(Tensor* p) {
  if (p == nullptr) throw std::invalid_argument("tensor handle is null (disposed tensor?)");
  return *p;
}
static inline c10::optional<Tensor> OT(Tensor* p) {
  if (p == nullptr) return c10::nullopt;
  return *p;
}
static inline Tensor UT(Tensor* p) { return p == nullptr ? Tensor() : *p; }

static void need(int have, int want, const char* what) {
  if (have < want) throw std::invalid_argument(std::string("internal: too few arguments for ") + what);
}

static c10::ScalarType to_dtype(int64_t d) {
  switch (d) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 11: case 15:
      return static_cast<c10::ScalarType>(d);
    default:
      throw std::invalid_argument("unsupported dtype code " + std::to_string(d));
  }
}

static c10::Device to_device(int64_t type, int64_t index) {
  if (type != 0 && type != 1) throw std::invalid_argument("unsupported device type " + std::to_string(type));
  if (index < -1 || index > 127) throw std::invalid_argument("invalid device index " + std::to_string(index));
  return c10::Device(static_cast<c10::DeviceType>(type), static_cast<c10::DeviceIndex>(index));
}

static at::TensorOptions opts(int64_t dtype, int64_t devtype, int64_t devidx, bool rg) {
  return at::TensorOptions().dtype(to_dtype(dtype)).device(to_device(devtype, devidx)).requires_grad(rg);
}

static at::Scalar scalar_for(const Tensor& t, double v) {
  if (at::isIntegralType(t.scalar_type(), true)) return at::Scalar(static_cast<int64_t>(v));
  return at::Scalar(v);
}

static std::vector<int64_t> shape_check(const int64_t* p, int n) {
  std::vector<int64_t> v(p, p + n);
  return v;
}

ST_API const char* st_last_error() { return g_error.c_str(); }
ST_API void st_clear_error() { g_error.clear(); }

ST_API void st_free(Tensor* t) { try { delete t; } catch (...) {} }

// ------------------------------------------------------------------ op codes (keep in sync with Native.cs)
enum Op : int {
  // unary 1..
  NEG = 1, RELU, RELU_, SIGMOID, SIGMOID_, EXP, LOG, SQRT, RSQRT, ABS, TANH, GELU, SILU, SILU_, CONTIGUOUS, CLONE,
  DETACH, ZERO_, ERFINV_, SIN, COS, FLOOR, CEIL, ROUND, SIGN, RECIPROCAL, LOGICAL_NOT, ISNAN, ERF, SQUARE, DETACH_, ALIAS,
  // binary 100..
  ADD = 100, SUB, MUL, DIV, MATMUL, BMM, POW, EQ, NE, LT, LE, GT, GE, MAXIMUM, MINIMUM, ADD_, SUB_, MUL_, DIV_,
  COPY_, MASKED_FILL, WHERE, INDEX_SELECT, GATHER, SET_DATA, LINEAR, MM, ADDCMUL_, ADDCDIV_, LERP_, MASKED_FILL_,
  // scalar binary 200..
  ADDS = 200, SUBS, MULS, DIVS, POWS, RSUB, RDIV, EQS, NES, LTS, LES, GTS, GES, ADDS_, SUBS_, MULS_, DIVS_, FILL_,
  CLAMP, CLAMP_, UNIFORM_, NORMAL_, POW_S_, SQRT_, RPOW, BERNOULLI,
  // shape 300..
  VIEW = 300, RESHAPE, PERMUTE, EXPAND, REPEAT, FLATTEN, UNSQUEEZE, SQUEEZE, SQUEEZE_ALL, TRANSPOSE, NARROW, PAD,
  SPLIT_SIZE, SPLIT_SIZES, CHUNK, CAT, STACK, TO, SELECT, ROLL, TRIL, TRIU,
  // reductions 400..
  SUM = 400, MEAN, AMAX, AMIN, MAX_ALL, MIN_ALL, MAX_DIM, MIN_DIM, ARGMAX, ARGMIN, VAR, STD, SUM_ALL, MEAN_ALL, NORM,
  TOPK, SORT, CUMSUM, ALL, ANY, LOGSUMEXP,
  // factories 500..
  ZEROS = 500, ONES, EMPTY, FULL, RANDN, RAND, RANDINT, ARANGE, ZEROS_LIKE, ONES_LIKE, RANDN_LIKE, EYE,
  // nn 600..
  CONV2D = 600, BATCH_NORM, LAYER_NORM, GROUP_NORM, INSTANCE_NORM, MAX_POOL2D, AVG_POOL2D, ADAPTIVE_AVG_POOL2D,
  SOFTMAX, LOG_SOFTMAX, DROPOUT, UNFOLD, CROSS_ENTROPY, INTERPOLATE, MSE_LOSS, NLL_LOSS, ADAPTIVE_MAX_POOL2D,
  LEAKY_RELU, HARDSWISH, HARDSIGMOID, CONV1D, SDPA_UNUSED, FOLD, MAX_POOL2D_IDX, BCE_LOGITS, L1_LOSS
};

static std::vector<int64_t> v(const int64_t* a, int from, int n) { return std::vector<int64_t>(a + from, a + from + n); }

// Returns the number of outputs written, or -1 on error.
static int run_op(int op, Tensor** in, int nin, const int64_t* ia, int nia, const double* da, int nda, Tensor** out, int maxout) {
  auto one = [&](Tensor t) { out[0] = wrap(std::move(t)); return 1; };
  auto self = [&]() { out[0] = in[0]; return 1; };  // in-place: hand back the input handle
  auto many = [&](std::vector<Tensor> ts) {
    if ((int)ts.size() > maxout) throw std::invalid_argument("too many outputs (" + std::to_string(ts.size()) + ")");
    for (size_t i = 0; i < ts.size(); ++i) out[i] = wrap(std::move(ts[i]));
    return (int)ts.size();
  };
  if (op < 500 || op >= 600) need(nin, 1, "op");
  switch (op) {
    // ---------------- unary
    case NEG: return one(at::neg(T(in[0])));
    case RELU: return one(at::relu(T(in[0])));
    case RELU_: at::relu_(M(in[0])); return self();
    case SIGMOID: return one(at::sigmoid(T(in[0])));
    case SIGMOID_: T(in[0]).sigmoid_(); return self();
    case EXP: return one(at::exp(T(in[0])));
    case LOG: return one(at::log(T(in[0])));
    case SQRT: return one(at::sqrt(T(in[0])));
    case RSQRT: return one(at::rsqrt(T(in[0])));
    case ABS: return one(at::abs(T(in[0])));
    case TANH: return one(at::tanh(T(in[0])));
    case GELU: return one(at::gelu(T(in[0]), (nia > 0 && ia[0] == 1) ? "tanh" : "none"));
    case SILU: return one(at::silu(T(in[0])));
    case SILU_: at::silu_(M(in[0])); return self();
    case CONTIGUOUS: return one(T(in[0]).contiguous());
    case CLONE: return one(T(in[0]).clone());
    case DETACH: return one(T(in[0]).detach());
    case DETACH_: T(in[0]).detach_(); return self();
    case ALIAS: return one(at::alias(T(in[0])));
    case ZERO_: T(in[0]).zero_(); return self();
    case ERFINV_: T(in[0]).erfinv_(); return self();
    case SIN: return one(at::sin(T(in[0])));
    case COS: return one(at::cos(T(in[0])));
    case FLOOR: return one(at::floor(T(in[0])));
    case CEIL: return one(at::ceil(T(in[0])));
    case ROUND: return one(at::round(T(in[0])));
    case SIGN: return one(at::sign(T(in[0])));
    case RECIPROCAL: return one(at::reciprocal(T(in[0])));
    case LOGICAL_NOT: return one(at::logical_not(T(in[0])));
    case ISNAN: return one(at::isnan(T(in[0])));
    case ERF: return one(at::erf(T(in[0])));
    case SQUARE: return one(at::square(T(in[0])));
    // ---------------- binary
    case ADD: need(nin, 2, "add"); return one(at::add(T(in[0]), T(in[1]), nda > 0 ? scalar_for(T(in[0]), da[0]) : at::Scalar(1)));
    case SUB: need(nin, 2, "sub"); return one(at::sub(T(in[0]), T(in[1]), nda > 0 ? scalar_for(T(in[0]), da[0]) : at::Scalar(1)));
    case MUL: need(nin, 2, "mul"); return one(at::mul(T(in[0]), T(in[1])));
    case DIV: need(nin, 2, "div");
      if (nia > 0 && ia[0] == 1) return one(at::div(T(in[0]), T(in[1]), "trunc"));
      if (nia > 0 && ia[0] == 2) return one(at::div(T(in[0]), T(in[1]), "floor"));
      return one(at::div(T(in[0]), T(in[1])));
    case MATMUL: need(nin, 2, "matmul"); return one(at::matmul(T(in[0]), T(in[1])));
    case MM: need(nin, 2, "mm"); return one(at::mm(T(in[0]), T(in[1])));
    case BMM: need(nin, 2, "bmm"); return one(at::bmm(T(in[0]), T(in[1])));
    case POW: need(nin, 2, "pow"); return one(at::pow(T(in[0]), T(in[1])));
    case EQ: need(nin, 2, "eq"); return one(at::eq(T(in[0]), T(in[1])));
    case NE: need(nin, 2, "ne"); return one(at::ne(T(in[0]), T(in[1])));
    case LT: need(nin, 2, "lt"); return one(at::lt(T(in[0]), T(in[1])));
    case LE: need(nin, 2, "le"); return one(at::le(T(in[0]), T(in[1])));
    case GT: need(nin, 2, "gt"); return one(at::gt(T(in[0]), T(in[1])));
    case GE: need(nin, 2, "ge"); return one(at::ge(T(in[0]), T(in[1])));
    case MAXIMUM: need(nin, 2, "maximum"); return one(at::maximum(T(in[0]), T(in[1])));
    case MINIMUM: need(nin, 2, "minimum"); return one(at::minimum(T(in[0]), T(in[1])));
    case ADD_: need(nin, 2, "add_"); T(in[0]).add_(T(in[1]), nda > 0 ? scalar_for(T(in[0]), da[0]) : at::Scalar(1)); return self();
    case SUB_: need(nin, 2, "sub_"); T(in[0]).sub_(T(in[1]), nda > 0 ? scalar_for(T(in[0]), da[0]) : at::Scalar(1)); return self();
    case MUL_: need(nin, 2, "mul_"); T(in[0]).mul_(T(in[1])); return self();
    case DIV_: need(nin, 2, "div_"); T(in[0]).div_(T(in[1])); return self();
    case COPY_: need(nin, 2, "copy_"); T(in[0]).copy_(T(in[1]), nia > 0 && ia[0] != 0); return self();
    case MASKED_FILL: need(nin, 2, "masked_fill"); need(nda, 1, "masked_fill");
      return one(at::masked_fill(T(in[0]), T(in[1]), scalar_for(T(in[0]), da[0])));
    case MASKED_FILL_: need(nin, 2, "masked_fill_"); need(nda, 1, "masked_fill_");
      T(in[0]).masked_fill_(T(in[1]), scalar_for(T(in[0]), da[0])); return self();
    case WHERE: need(nin, 3, "where"); return one(at::where(T(in[0]), T(in[1]), T(in[2])));
    case INDEX_SELECT: need(nin, 2, "index_select"); need(nia, 1, "index_select"); return one(at::index_select(T(in[0]), ia[0], T(in[1])));
    case GATHER: need(nin, 2, "gather"); need(nia, 1, "gather"); return one(at::gather(T(in[0]), ia[0], T(in[1])));
    case SET_DATA: need(nin, 2, "set_data"); { Tensor t = T(in[0]); t.set_data(T(in[1])); } return self();
    case LINEAR: need(nin, 3, "linear"); return one(at::linear(T(in[0]), T(in[1]), OT(in[2])));
    case ADDCMUL_: need(nin, 3, "addcmul_"); need(nda, 1, "addcmul_"); T(in[0]).addcmul_(T(in[1]), T(in[2]), da[0]); return self();
    case ADDCDIV_: need(nin, 3, "addcdiv_"); need(nda, 1, "addcdiv_"); T(in[0]).addcdiv_(T(in[1]), T(in[2]), da[0]); return self();
    case LERP_: need(nin, 2, "lerp_"); need(nda, 1, "lerp_"); T(in[0]).lerp_(T(in[1]), da[0]); return self();
    // ---------------- scalar binary
    case ADDS: need(nda, 2, "add"); return one(at::add(T(in[0]), scalar_for(T(in[0]), da[0]), scalar_for(T(in[0]), da[1])));
    case SUBS: need(nda, 2, "sub"); return one(at::sub(T(in[0]), scalar_for(T(in[0]), da[0]), scalar_for(T(in[0]), da[1])));
    case MULS: need(nda, 1, "mul"); return one(at::mul(T(in[0]), scalar_for(T(in[0]), da[0])));
    case DIVS: need(nda, 1, "div"); return one(at::div(T(in[0]), at::Scalar(da[0])));
    case POWS: need(nda, 1, "pow"); return one(at::pow(T(in[0]), scalar_for(T(in[0]), da[0])));
    case RPOW: need(nda, 1, "pow"); return one(at::pow(at::Scalar(da[0]), T(in[0])));
    case RSUB: need(nda, 1, "rsub"); return one(at::rsub(T(in[0]), scalar_for(T(in[0]), da[0])));
    case RDIV: need(nda, 1, "rdiv"); return one(at::mul(at::reciprocal(T(in[0])), at::Scalar(da[0])));
    case EQS: need(nda, 1, "eq"); return one(at::eq(T(in[0]), at::Scalar(da[0])));
    case NES: need(nda, 1, "ne"); return one(at::ne(T(in[0]), at::Scalar(da[0])));
    case LTS: need(nda, 1, "lt"); return one(at::lt(T(in[0]), at::Scalar(da[0])));
    case LES: need(nda, 1, "le"); return one(at::le(T(in[0]), at::Scalar(da[0])));
    case GTS: need(nda, 1, "gt"); return one(at::gt(T(in[0]), at::Scalar(da[0])));
    case GES: need(nda, 1, "ge"); return one(at::ge(T(in[0]), at::Scalar(da[0])));
    case ADDS_: need(nda, 2, "add_"); T(in[0]).add_(scalar_for(T(in[0]), da[0]), scalar_for(T(in[0]), da[1])); return self();
    case SUBS_: need(nda, 2, "sub_"); T(in[0]).sub_(scalar_for(T(in[0]), da[0]), scalar_for(T(in[0]), da[1])); return self();
    case MULS_: need(nda, 1, "mul_"); T(in[0]).mul_(scalar_for(T(in[0]), da[0])); return self();
    case DIVS_: need(nda, 1, "div_"); T(in[0]).div_(at::Scalar(da[0])); return self();
    case FILL_: need(nda, 1, "fill_"); T(in[0]).fill_(scalar_for(T(in[0]), da[0])); return self();
    case POW_S_: need(nda, 1, "pow_"); T(in[0]).pow_(da[0]); return self();
    case SQRT_: T(in[0]).sqrt_(); return self();
    case CLAMP: case CLAMP_: {
      need(nia, 2, "clamp"); need(nda, 2, "clamp");
      c10::optional<at::Scalar> lo, hi;
      if (ia[0]) lo = scalar_for(T(in[0]), da[0]);
      if (ia[1]) hi = scalar_for(T(in[0]), da[1]);
      if (op == CLAMP_) { T(in[0]).clamp_(lo, hi); return self(); }
      return one(at::clamp(T(in[0]), lo, hi));
    }
    case UNIFORM_: need(nda, 2, "uniform_"); T(in[0]).uniform_(da[0], da[1]); return self();
    case NORMAL_: need(nda, 2, "normal_"); T(in[0]).normal_(da[0], da[1]); return self();
    case BERNOULLI: need(nda, 1, "bernoulli"); return one(at::bernoulli(T(in[0]), da[0]));
    // ---------------- shape
    case VIEW: return one(T(in[0]).view(v(ia, 0, nia)));
    case RESHAPE: return one(T(in[0]).reshape(v(ia, 0, nia)));
    case PERMUTE: return one(T(in[0]).permute(v(ia, 0, nia)));
    case EXPAND: return one(T(in[0]).expand(v(ia, 0, nia)));
    case REPEAT: return one(T(in[0]).repeat(v(ia, 0, nia)));
    case FLATTEN: need(nia, 2, "flatten"); return one(T(in[0]).flatten(ia[0], ia[1]));
    case UNSQUEEZE: need(nia, 1, "unsqueeze"); return one(T(in[0]).unsqueeze(ia[0]));
    case SQUEEZE: need(nia, 1, "squeeze"); return one(T(in[0]).squeeze(ia[0]));
    case SQUEEZE_ALL: return one(T(in[0]).squeeze());
    case TRANSPOSE: need(nia, 2, "transpose"); return one(T(in[0]).transpose(ia[0], ia[1]));
    case NARROW: need(nia, 3, "narrow"); return one(T(in[0]).narrow(ia[0], ia[1], ia[2]));
    case SELECT: need(nia, 2, "select"); return one(T(in[0]).select(ia[0], ia[1]));
    case ROLL: need(nia, 2, "roll"); return one(at::roll(T(in[0]), {ia[0]}, {ia[1]}));
    case TRIL: need(nia, 1, "tril"); return one(at::tril(T(in[0]), ia[0]));
    case TRIU: need(nia, 1, "triu"); return one(at::triu(T(in[0]), ia[0]));
    case PAD: {
      need(nia, 1, "pad"); need(nda, 1, "pad");
      // ia[0] = mode (0 constant, 1 reflect, 2 replicate, 3 circular), then pads
      namespace F = torch::nn::functional;
      auto o = F::PadFuncOptions(v(ia, 1, nia - 1)).value(da[0]);
      switch (ia[0]) {
        case 0: o.mode(torch::kConstant); break;
        case 1: o.mode(torch::kReflect); break;
        case 2: o.mode(torch::kReplicate); break;
        case 3: o.mode(torch::kCircular); break;
        default: throw std::invalid_argument("unsupported padding mode");
      }
      return one(F::pad(T(in[0]), o));
    }
    case SPLIT_SIZE: need(nia, 2, "split"); return many(T(in[0]).split(ia[0], ia[1]));
    case SPLIT_SIZES: need(nia, 1, "split"); return many(T(in[0]).split_with_sizes(v(ia, 1, nia - 1), ia[0]));
    case CHUNK: need(nia, 2, "chunk"); return many(T(in[0]).chunk(ia[0], ia[1]));
    case CAT: case STACK: {
      need(nia, 1, "cat");
      std::vector<Tensor> ts;
      for (int i = 0; i < nin; ++i) ts.push_back(T(in[i]));
      return one(op == CAT ? at::cat(ts, ia[0]) : at::stack(ts, ia[0]));
    }
    case TO: {
      need(nia, 5, "to");  // dtype(-1 keep), devtype(-1 keep), devidx, copy, non_blocking
      const Tensor& t = T(in[0]);
      auto dt = ia[0] < 0 ? t.scalar_type() : to_dtype(ia[0]);
      auto dev = ia[1] < 0 ? t.device() : to_device(ia[1], ia[2]);
      return one(t.to(dev, dt, ia[4] != 0, ia[3] != 0));
    }
    // ---------------- reductions
    case SUM: case MEAN: {
      need(nia, 2, "sum");  // dtype(-1), keepdim, dims...
      c10::optional<c10::ScalarType> dt; if (ia[0] >= 0) dt = to_dtype(ia[0]);
      auto dims = v(ia, 2, nia - 2);
      return one(op == SUM ? at::sum(T(in[0]), dims, ia[1] != 0, dt) : at::mean(T(in[0]), dims, ia[1] != 0, dt));
    }
    case SUM_ALL: case MEAN_ALL: {
      c10::optional<c10::ScalarType> dt; if (nia > 0 && ia[0] >= 0) dt = to_dtype(ia[0]);
      return one(op == SUM_ALL ? at::sum(T(in[0]), dt) : at::mean(T(in[0]), dt));
    }
    case AMAX: need(nia, 1, "amax"); return one(at::amax(T(in[0]), v(ia, 1, nia - 1), ia[0] != 0));
    case AMIN: need(nia, 1, "amin"); return one(at::amin(T(in[0]), v(ia, 1, nia - 1), ia[0] != 0));
    case LOGSUMEXP: need(nia, 1, "logsumexp"); return one(at::logsumexp(T(in[0]), v(ia, 1, nia - 1), ia[0] != 0));
    case MAX_ALL: return one(at::max(T(in[0])));
    case MIN_ALL: return one(at::min(T(in[0])));
    case MAX_DIM: case MIN_DIM: {
      need(nia, 2, "max"); need(maxout, 2, "max");
      auto r = op == MAX_DIM ? at::max(T(in[0]), ia[0], ia[1] != 0) : at::min(T(in[0]), ia[0], ia[1] != 0);
      return many({std::get<0>(r), std::get<1>(r)});
    }
    case ARGMAX: case ARGMIN: {
      need(nia, 3, "argmax");  // hasdim, dim, keepdim
      c10::optional<int64_t> d; if (ia[0]) d = ia[1];
      return one(op == ARGMAX ? at::argmax(T(in[0]), d, ia[2] != 0) : at::argmin(T(in[0]), d, ia[2] != 0));
    }
    case VAR: case STD: {
      need(nia, 2, "var");  // unbiased, keepdim, dims... (no dims => all)
      auto dims = v(ia, 2, nia - 2);
      at::OptionalIntArrayRef od; if (!dims.empty()) od = dims;
      int64_t corr = ia[0] ? 1 : 0;
      return one(op == VAR ? at::var(T(in[0]), od, corr, ia[1] != 0) : at::std(T(in[0]), od, corr, ia[1] != 0));
    }
    case NORM: need(nda, 1, "norm"); return one(at::norm(T(in[0]), at::Scalar(da[0])));
    case TOPK: need(nia, 4, "topk"); { auto r = at::topk(T(in[0]), ia[0], ia[1], ia[2] != 0, ia[3] != 0); return many({std::get<0>(r), std::get<1>(r)}); }
    case SORT: need(nia, 3, "sort"); { auto r = at::sort(T(in[0]), ia[2] != 0, ia[0], ia[1] != 0); return many({std::get<0>(r), std::get<1>(r)}); }
    case CUMSUM: need(nia, 1, "cumsum"); return one(at::cumsum(T(in[0]), ia[0]));
    case ALL: return one(at::all(T(in[0])));
    case ANY: return one(at::any(T(in[0])));
    // ---------------- factories: ia = dtype, devtype, devidx, requires_grad, shape...
    case ZEROS: case ONES: case EMPTY: case FULL: case RANDN: case RAND: {
      need(nia, 4, "factory");
      auto o = opts(ia[0], ia[1], ia[2], false);
      auto shape = v(ia, 4, nia - 4);
      Tensor t;
      switch (op) {
        case ZEROS: t = at::zeros(shape, o); break;
        case ONES: t = at::ones(shape, o); break;
        case EMPTY: t = at::empty(shape, o); break;
        case FULL: need(nda, 1, "full"); t = at::full(shape, at::Scalar(da[0]), o); break;
        case RANDN: t = at::randn(shape, o); break;
        default: t = at::rand(shape, o); break;
      }
      if (ia[3]) t.set_requires_grad(true);
      return one(t);
    }
    case RANDINT: {
      need(nia, 6, "randint");  // dtype, devtype, devidx, rg, low, high, shape...
      auto t = at::randint(ia[4], ia[5], v(ia, 6, nia - 6), opts(ia[0], ia[1], ia[2], false));
      if (ia[3]) t.set_requires_grad(true);
      return one(t);
    }
    case ARANGE: {
      need(nia, 4, "arange"); need(nda, 3, "arange");
      auto t = at::arange(at::Scalar(da[0]), at::Scalar(da[1]), at::Scalar(da[2]), opts(ia[0], ia[1], ia[2], false));
      if (ia[3]) t.set_requires_grad(true);
      return one(t);
    }
    case EYE: { need(nia, 5, "eye"); auto t = at::eye(ia[4], opts(ia[0], ia[1], ia[2], false)); if (ia[3]) t.set_requires_grad(true); return one(t); }
    case ZEROS_LIKE: need(nin, 1, "zeros_like"); return one(at::zeros_like(T(in[0])));
    case ONES_LIKE: need(nin, 1, "ones_like"); return one(at::ones_like(T(in[0])));
    case RANDN_LIKE: need(nin, 1, "randn_like"); return one(at::randn_like(T(in[0])));
    // ---------------- nn
    case CONV2D: {
      need(nin, 3, "conv2d"); need(nia, 8, "conv2d");  // stride2, pad2, dil2, groups, padmode(0 explicit,1 same,2 valid)
      int64_t pm = nia > 7 ? ia[7] : 0;
      if (pm == 1) return one(at::conv2d(T(in[0]), T(in[1]), OT(in[2]), v(ia, 0, 2), "same", v(ia, 4, 2), ia[6]));
      if (pm == 2) return one(at::conv2d(T(in[0]), T(in[1]), OT(in[2]), v(ia, 0, 2), "valid", v(ia, 4, 2), ia[6]));
      return one(at::conv2d(T(in[0]), T(in[1]), OT(in[2]), v(ia, 0, 2), v(ia, 2, 2), v(ia, 4, 2), ia[6]));
    }
    case CONV1D: {
      need(nin, 3, "conv1d"); need(nia, 4, "conv1d");
      return one(at::conv1d(T(in[0]), T(in[1]), OT(in[2]), {ia[0]}, {ia[1]}, {ia[2]}, ia[3]));
    }
    case BATCH_NORM: need(nin, 5, "batch_norm"); need(nia, 1, "batch_norm"); need(nda, 2, "batch_norm");
      return one(at::batch_norm(T(in[0]), OT(in[1]), OT(in[2]), OT(in[3]), OT(in[4]), ia[0] != 0, da[0], da[1], true));
    case INSTANCE_NORM: need(nin, 5, "instance_norm"); need(nia, 1, "instance_norm"); need(nda, 2, "instance_norm");
      return one(at::instance_norm(T(in[0]), OT(in[1]), OT(in[2]), OT(in[3]), OT(in[4]), ia[0] != 0, da[0], da[1], true));
    case LAYER_NORM: need(nin, 3, "layer_norm"); need(nda, 1, "layer_norm");
      return one(at::layer_norm(T(in[0]), v(ia, 0, nia), OT(in[1]), OT(in[2]), da[0], true));
    case GROUP_NORM: need(nin, 3, "group_norm"); need(nia, 1, "group_norm"); need(nda, 1, "group_norm");
      return one(at::group_norm(T(in[0]), ia[0], OT(in[1]), OT(in[2]), da[0], true));
    case MAX_POOL2D: need(nia, 9, "max_pool2d");  // k2 s2 p2 d2 ceil
      return one(at::max_pool2d(T(in[0]), v(ia, 0, 2), v(ia, 2, 2), v(ia, 4, 2), v(ia, 6, 2), ia[8] != 0));
    case MAX_POOL2D_IDX: { need(nia, 9, "max_pool2d"); need(maxout, 2, "max_pool2d");
      auto r = at::max_pool2d_with_indices(T(in[0]), v(ia, 0, 2), v(ia, 2, 2), v(ia, 4, 2), v(ia, 6, 2), ia[8] != 0);
      return many({std::get<0>(r), std::get<1>(r)}); }
    case AVG_POOL2D: {
      need(nia, 9, "avg_pool2d");  // k2 s2 p2 ceil count_include_pad has_div div
      c10::optional<int64_t> div; if (ia[8 - 0] != 0 && nia > 9) div = ia[9];
      return one(at::avg_pool2d(T(in[0]), v(ia, 0, 2), v(ia, 2, 2), v(ia, 4, 2), ia[6] != 0, ia[7] != 0, div));
    }
    case ADAPTIVE_AVG_POOL2D: need(nia, 2, "adaptive_avg_pool2d"); return one(at::adaptive_avg_pool2d(T(in[0]), v(ia, 0, 2)));
    case ADAPTIVE_MAX_POOL2D: need(nia, 2, "adaptive_max_pool2d"); return one(std::get<0>(at::adaptive_max_pool2d(T(in[0]), v(ia, 0, 2))));
    case SOFTMAX: case LOG_SOFTMAX: {
      need(nia, 2, "softmax");  // dim, dtype(-1)
      c10::optional<c10::ScalarType> dt; if (ia[1] >= 0) dt = to_dtype(ia[1]);
      return one(op == SOFTMAX ? at::softmax(T(in[0]), ia[0], dt) : at::log_softmax(T(in[0]), ia[0], dt));
    }
    case DROPOUT: need(nia, 2, "dropout"); need(nda, 1, "dropout");  // train, inplace
      if (ia[1]) { at::dropout_(M(in[0]), da[0], ia[0] != 0); return self(); }
      return one(at::dropout(T(in[0]), da[0], ia[0] != 0));
    case UNFOLD: need(nia, 8, "unfold");  // k2 d2 p2 s2
      return one(at::im2col(T(in[0]), v(ia, 0, 2), v(ia, 2, 2), v(ia, 4, 2), v(ia, 6, 2)));
    case FOLD: need(nia, 10, "fold");  // out2 k2 d2 p2 s2
      return one(at::col2im(T(in[0]), v(ia, 0, 2), v(ia, 2, 2), v(ia, 4, 2), v(ia, 6, 2), v(ia, 8, 2)));
    case CROSS_ENTROPY: need(nin, 3, "cross_entropy"); need(nia, 2, "cross_entropy"); need(nda, 1, "cross_entropy");
      return one(at::cross_entropy_loss(T(in[0]), T(in[1]), OT(in[2]), ia[0], ia[1], da[0]));
    case NLL_LOSS: need(nin, 3, "nll_loss"); need(nia, 2, "nll_loss");
      return one(at::nll_loss_nd(T(in[0]), T(in[1]), OT(in[2]), ia[0], ia[1]));
    case MSE_LOSS: need(nin, 2, "mse_loss"); need(nia, 1, "mse_loss"); return one(at::mse_loss(T(in[0]), T(in[1]), ia[0]));
    case L1_LOSS: need(nin, 2, "l1_loss"); need(nia, 1, "l1_loss"); return one(at::l1_loss(T(in[0]), T(in[1]), ia[0]));
    case BCE_LOGITS: need(nin, 4, "bce"); need(nia, 1, "bce");
      return one(at::binary_cross_entropy_with_logits(T(in[0]), T(in[1]), OT(in[2]), OT(in[3]), ia[0]));
    case LEAKY_RELU: need(nda, 1, "leaky_relu"); return one(at::leaky_relu(T(in[0]), da[0]));
    case HARDSWISH: return one(at::hardswish(T(in[0])));
    case HARDSIGMOID: return one(at::hardsigmoid(T(in[0])));
    case INTERPOLATE: {
      // ia: mode(0 nearest,1 bilinear,2 bicubic,3 nearest-exact,4 area), align(-1 none,0,1), nsize, size..., ; da: scales...
      need(nia, 3, "interpolate");
      namespace F = torch::nn::functional;
      F::InterpolateFuncOptions o;
      int64_t ns = ia[2];
      if (ns > 0) o.size(v(ia, 3, ns));
      else o.scale_factor(std::vector<double>(da, da + nda));
      switch (ia[0]) {
        case 0: o.mode(torch::kNearest); break;
        case 1: o.mode(torch::kBilinear); break;
        case 2: o.mode(torch::kBicubic); break;
        case 3: o.mode(torch::kNearestExact); break;
        case 4: o.mode(torch::kArea); break;
        case 5: o.mode(torch::kLinear); break;
        default: throw std::invalid_argument("unsupported interpolation mode");
      }
      if (ia[1] >= 0) o.align_corners(ia[1] != 0);
      else if (ia[0] == 1 || ia[0] == 2 || ia[0] == 5) o.align_corners(false);  // PyTorch's default, without libtorch's warning
      return one(F::interpolate(T(in[0]), o));
    }
    default:
      throw std::invalid_argument("unknown op code " + std::to_string(op));
  }
}

// Single-output op; returns the result handle (or the input handle for in-place ops), null on error.
ST_API Tensor* st_op1(int op, Tensor** in, int nin, const int64_t* ia, int nia, const double* da, int nda) {
  ST_TRY
    Tensor* out[2] = {nullptr, nullptr};
    int n = run_op(op, in, nin, ia, nia, da, nda, out, 1);
    if (n != 1) { for (int i = 0; i < n; ++i) if (out[i] != in[0]) delete out[i]; g_error = "op returned an unexpected number of outputs"; return nullptr; }
    return out[0];
  ST_CATCH(nullptr)
}

// Multi-output op; writes up to maxout handles, returns their count or -1 on error.
ST_API int st_opn(int op, Tensor** in, int nin, const int64_t* ia, int nia, const double* da, int nda, Tensor** out, int maxout) {
  ST_TRY
    return run_op(op, in, nin, ia, nia, da, nda, out, maxout);
  ST_CATCH(-1)
}

// Fast paths for the hottest calls.
ST_API Tensor* st_add(Tensor* a, Tensor* b) { ST_TRY return wrap(at::add(T(a), T(b))); ST_CATCH(nullptr) }
ST_API Tensor* st_mul(Tensor* a, Tensor* b) { ST_TRY return wrap(at::mul(T(a), T(b))); ST_CATCH(nullptr) }
ST_API Tensor* st_relu(Tensor* a) { ST_TRY return wrap(at::relu(T(a))); ST_CATCH(nullptr) }
ST_API Tensor* st_matmul(Tensor* a, Tensor* b) { ST_TRY return wrap(at::matmul(T(a), T(b))); ST_CATCH(nullptr) }

// ------------------------------------------------------------------ creation from host data
ST_API Tensor* st_from_data(const void* data, int64_t nbytes, const int64_t* shape, int ndim, int dtype, int devtype, int devidx, int requires_grad) {
  ST_TRY
    auto sizes = shape_check(shape, ndim);
    auto t = at::empty(sizes, at::TensorOptions().dtype(to_dtype(dtype)));
    int64_t need_bytes = t.numel() * (int64_t)t.element_size();
    if (need_bytes != nbytes) throw std::invalid_argument("data length " + std::to_string(nbytes) + " bytes does not match shape (" + std::to_string(need_bytes) + " bytes)");
    if (nbytes > 0) std::memcpy(t.data_ptr(), data, (size_t)nbytes);
    if (devtype != 0) t = t.to(to_device(devtype, devidx));
    if (requires_grad) t.set_requires_grad(true);
    return wrap(t);
  ST_CATCH(nullptr)
}

// Copies the elements (row-major, contiguous) into dst. Returns 0 or -1.
ST_API int st_copy_out(Tensor* t, void* dst, int64_t nbytes) {
  ST_TRY
    auto c = T(t).detach().to(at::kCPU).contiguous();
    int64_t have = c.numel() * (int64_t)c.element_size();
    if (have != nbytes) throw std::invalid_argument("buffer size mismatch");
    if (nbytes > 0) std::memcpy(dst, c.data_ptr(), (size_t)nbytes);
    return 0;
  ST_CATCH(-1)
}

// ------------------------------------------------------------------ queries (-1 / error flag on failure)
ST_API int st_ndim(Tensor* t) { ST_TRY return (int)T(t).dim(); ST_CATCH(-1) }
ST_API int st_shape(Tensor* t, int64_t* out, int max) {
  ST_TRY
    auto s = T(t).sizes();
    int n = (int)s.size();
    for (int i = 0; i < n && i < max; ++i) out[i] = s[i];
    return n;
  ST_CATCH(-1)
}
ST_API int64_t st_numel(Tensor* t) { ST_TRY return T(t).numel(); ST_CATCH(-1) }
ST_API int st_dtype(Tensor* t) { ST_TRY return (int)T(t).scalar_type(); ST_CATCH(-1) }
ST_API int st_device(Tensor* t, int* index) {
  ST_TRY
    auto d = T(t).device();
    *index = d.has_index() ? d.index() : -1;
    return (int)d.type();
  ST_CATCH(-1)
}
ST_API int st_item(Tensor* t, double* dval, int64_t* lval) {
  ST_TRY
    const Tensor& x = T(t);
    if (x.numel() != 1) throw std::invalid_argument("a Tensor with " + std::to_string(x.numel()) + " elements cannot be converted to Scalar");
    auto s = x.item();
    if (s.isIntegral(true)) { *lval = s.toLong(); *dval = (double)*lval; }
    else { *dval = s.toDouble(); *lval = (int64_t)*dval; }
    return 0;
  ST_CATCH(-1)
}
ST_API int st_is_leaf(Tensor* t) { ST_TRY return T(t).is_leaf() ? 1 : 0; ST_CATCH(-1) }
ST_API int st_same(Tensor* a, Tensor* b) { ST_TRY return T(a).is_same(T(b)) ? 1 : 0; ST_CATCH(-1) }
ST_API int st_data_ptr_eq(Tensor* a, Tensor* b) { ST_TRY return T(a).data_ptr() == T(b).data_ptr() ? 1 : 0; ST_CATCH(-1) }

// ------------------------------------------------------------------ indexing
// spec: 5 int64 per index: kind, a, b, c, flags. kind 0 int(a), 1 slice(a,b,c; flags bit0 start set, bit1 stop set, bit2 step set),
// 2 None, 3 Ellipsis, 4 tensor (next tensor from tens), 5 bool(a)
static std::vector<at::indexing::TensorIndex> make_index(const int64_t* spec, int n, Tensor** tens, int ntens) {
  using namespace at::indexing;
  std::vector<TensorIndex> idx;
  int ti = 0;
  for (int i = 0; i < n; ++i) {
    const int64_t* s = spec + 5 * i;
    switch (s[0]) {
      case 0: idx.emplace_back(s[1]); break;
      case 1: {
        c10::optional<int64_t> a, b, c;
        if (s[4] & 1) a = s[1];
        if (s[4] & 2) b = s[2];
        if (s[4] & 4) c = s[3];
        idx.emplace_back(Slice(a, b, c));
        break;
      }
      case 2: idx.emplace_back(None); break;
      case 3: idx.emplace_back(Ellipsis); break;
      case 4:
        if (ti >= ntens) throw std::invalid_argument("missing index tensor");
        idx.emplace_back(T(tens[ti++]));
        break;
      case 5: idx.emplace_back(s[1] != 0); break;
      default: throw std::invalid_argument("bad index kind");
    }
  }
  return idx;
}

ST_API Tensor* st_index(Tensor* t, const int64_t* spec, int n, Tensor** tens, int ntens) {
  ST_TRY return wrap(T(t).index(make_index(spec, n, tens, ntens))); ST_CATCH(nullptr)
}
// value tensor (vt) or scalar (when vt is null)
ST_API int st_index_put(Tensor* t, const int64_t* spec, int n, Tensor** tens, int ntens, Tensor* vt, double sv) {
  ST_TRY
    Tensor x = T(t);
    auto idx = make_index(spec, n, tens, ntens);
    if (vt) x.index_put_(idx, T(vt)); else x.index_put_(idx, scalar_for(x, sv));
    return 0;
  ST_CATCH(-1)
}

ST_API Tensor* st_einsum(const char* eq, Tensor** in, int n) {
  ST_TRY
    std::vector<Tensor> ts;
    for (int i = 0; i < n; ++i) ts.push_back(T(in[i]));
    return wrap(at::einsum(eq, ts));
  ST_CATCH(nullptr)
}

// ------------------------------------------------------------------ autograd
ST_API int st_requires_grad(Tensor* t) { ST_TRY return T(t).requires_grad() ? 1 : 0; ST_CATCH(-1) }
ST_API int st_set_requires_grad(Tensor* t, int on) { ST_TRY Tensor x = T(t); x.set_requires_grad(on != 0); return 0; ST_CATCH(-1) }
// returns 1 and *out when defined, 0 when undefined, -1 on error
ST_API int st_grad(Tensor* t, Tensor** out) {
  ST_TRY
    auto g = T(t).grad();
    if (!g.defined()) { *out = nullptr; return 0; }
    *out = wrap(g);
    return 1;
  ST_CATCH(-1)
}
ST_API int st_set_grad(Tensor* t, Tensor* g) {
  ST_TRY Tensor x = T(t); x.mutable_grad() = g ? T(g) : Tensor(); return 0; ST_CATCH(-1)
}
ST_API int st_backward(Tensor* t, Tensor* grad, int retain, int create) {
  ST_TRY
    T(t).backward(grad ? T(grad) : Tensor(), retain ? c10::optional<bool>(true) : c10::nullopt, create != 0);
    return 0;
  ST_CATCH(-1)
}
ST_API int st_retain_grad(Tensor* t) { ST_TRY T(t).retain_grad(); return 0; ST_CATCH(-1) }
ST_API int st_grad_enabled() { return at::GradMode::is_enabled() ? 1 : 0; }
ST_API void st_set_grad_enabled(int on) { at::GradMode::set_enabled(on != 0); }

// ------------------------------------------------------------------ global state
ST_API int st_manual_seed(int64_t seed) { ST_TRY torch::manual_seed((uint64_t)seed); return 0; ST_CATCH(-1) }
ST_API int st_set_num_threads(int n) { ST_TRY if (n < 1) throw std::invalid_argument("number of threads must be positive"); at::set_num_threads(n); return 0; ST_CATCH(-1) }
ST_API int st_get_num_threads() { ST_TRY return at::get_num_threads(); ST_CATCH(-1) }
ST_API int st_cuda_is_available() { ST_TRY return torch::cuda::is_available() ? 1 : 0; ST_CATCH(0) }
ST_API int st_cuda_device_count() { ST_TRY return (int)torch::cuda::device_count(); ST_CATCH(0) }
ST_API int st_cuda_synchronize(int64_t index) {
  ST_TRY
#if defined(TORCH_VERSION_MAJOR) && (TORCH_VERSION_MAJOR >= 2)
    if (torch::cuda::is_available()) torch::cuda::synchronize(index);
#else
    (void)index;
    if (torch::cuda::is_available()) {
      // libtorch 1.x has no public synchronize; a device-side copy forces completion.
      auto t = at::zeros({1}, at::TensorOptions().device(at::Device(at::kCUDA, index < 0 ? 0 : (c10::DeviceIndex)index)));
      (void)t.cpu();
    }
#endif
    return 0;
  ST_CATCH(-1)
}
ST_API const char* st_torch_version() {
#ifdef TORCH_VERSION
  return TORCH_VERSION;
#else
  return "unknown";
#endif
}

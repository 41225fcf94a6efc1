// synthetic.cpp: the "shapes" dataset generator (synthetic.h). Every image is
// drawn from its own counter-based random stream (seed, split, index), with
// its own integer-only generator so files are identical across platforms and
// runs. Depends on runtime/image.h, data/coco.h, data/files.h; no LibTorch.
#include "data/synthetic.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include "data/coco.h"
#include "runtime/error.h"

namespace vedge {
namespace {

constexpr double kPi = 3.14159265358979323846;

enum Shape { kCircle, kSquare, kTriangle, kCross, kNumShapes };
const char* const kShapeNames[kNumShapes] = {"circle", "square", "triangle", "cross"};
struct ColorDef {
  const char* name;
  uint8_t rgb[3];
};
// Three well-separated hues (about 120 degrees apart), saturated.
const ColorDef kColors[] = {{"red", {220, 35, 35}}, {"green", {40, 180, 60}}, {"blue", {45, 80, 225}}};
constexpr int kNumColors = 3;

// splitmix64: small, fast, and the same on every platform.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  int integer(int lo, int hi) {  // inclusive
    return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// 4096 standard-normal samples (inverse CDF at stratified points), indexed by
// random bits: per-pixel noise without a transcendental call per pixel.
const std::vector<float>& normal_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(4096);
    for (int i = 0; i < 4096; ++i) {
      // Box-Muller on a stratified u1 and a golden-ratio sequence u2.
      double u1 = (i + 0.5) / 4096.0, u2 = std::fmod(i * 0.6180339887498949, 1.0);
      t[i] = static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * kPi * u2));
    }
    return t;
  }();
  return table;
}

struct Placed {
  int x0, y0, side;              // mask placement (top-left, square side)
  std::vector<uint8_t> coverage;  // side*side, 0..4 subsamples inside
  int count = 0;                 // pixels with coverage >= 2
  int bx0 = 0, by0 = 0, bx1 = 0, by1 = 0;  // tight box, exclusive max
};

bool inside_shape(Shape shape, double u, double v) {
  switch (shape) {
    case kCircle:
      return u * u + v * v <= 1.0;
    case kSquare:
      return std::fabs(u) <= 0.85 && std::fabs(v) <= 0.85;
    case kTriangle: {
      // Equilateral, vertices on a circle of radius 1.15 (apex up).
      const double r = 1.15, ax = 0, ay = -r, bx = 0.8660254 * r, by = 0.5 * r, cx = -bx, cy = by;
      auto edge = [&](double x0, double y0, double x1, double y1) {
        return (x1 - x0) * (v - y0) - (y1 - y0) * (u - x0);
      };
      double e0 = edge(ax, ay, bx, by), e1 = edge(bx, by, cx, cy), e2 = edge(cx, cy, ax, ay);
      return (e0 >= 0 && e1 >= 0 && e2 >= 0) || (e0 <= 0 && e1 <= 0 && e2 <= 0);
    }
    case kCross:
      return (std::fabs(u) <= 1.0 && std::fabs(v) <= 0.34) || (std::fabs(u) <= 0.34 && std::fabs(v) <= 1.0);
    default:
      return false;
  }
}

// Rasterizes a shape of extent `size` centred at (cx, cy), rotated by `angle`,
// with 2x2 supersampling.
Placed rasterize(Shape shape, double cx, double cy, double size, double angle) {
  Placed p;
  double half = size / 2, reach = half * 1.42 + 1;
  p.x0 = static_cast<int>(std::floor(cx - reach));
  p.y0 = static_cast<int>(std::floor(cy - reach));
  p.side = static_cast<int>(std::ceil(2 * reach)) + 1;
  p.coverage.assign(static_cast<size_t>(p.side) * p.side, 0);
  double c = std::cos(angle) / half, s = std::sin(angle) / half;
  p.bx0 = p.by0 = 1 << 30;
  p.bx1 = p.by1 = -(1 << 30);
  for (int j = 0; j < p.side; ++j)
    for (int i = 0; i < p.side; ++i) {
      int n = 0;
      for (int sy = 0; sy < 2; ++sy)
        for (int sx = 0; sx < 2; ++sx) {
          double dx = p.x0 + i + 0.25 + 0.5 * sx - cx, dy = p.y0 + j + 0.25 + 0.5 * sy - cy;
          n += inside_shape(shape, dx * c + dy * s, -dx * s + dy * c);
        }
      p.coverage[static_cast<size_t>(j) * p.side + i] = static_cast<uint8_t>(n);
      if (n >= 2) {
        ++p.count;
        p.bx0 = std::min(p.bx0, p.x0 + i);
        p.by0 = std::min(p.by0, p.y0 + j);
        p.bx1 = std::max(p.bx1, p.x0 + i + 1);
        p.by1 = std::max(p.by1, p.y0 + j + 1);
      }
    }
  return p;
}

double box_iou(const Placed& a, const Placed& b) {
  double iw = std::min(a.bx1, b.bx1) - std::max(a.bx0, b.bx0);
  double ih = std::min(a.by1, b.by1) - std::max(a.by0, b.by0);
  if (iw <= 0 || ih <= 0) return 0;
  double inter = iw * ih;
  double ua = double(a.bx1 - a.bx0) * (a.by1 - a.by0) + double(b.bx1 - b.bx0) * (b.by1 - b.by0) - inter;
  return inter / ua;
}

// Background: a tinted grey with one of three textures, in float RGB.
void draw_background(std::vector<float>& px, int w, int h, const ShapesConfig& cfg, Rng& rng) {
  double grey = rng.uniform(50, 200), tint[3];
  for (double& t : tint) t = rng.uniform(-18, 18);
  double amp = cfg.texture * rng.uniform(20, 50);
  int kind = rng.integer(0, 2);
  double phi = rng.uniform(0, 2 * kPi), cphi = std::cos(phi), sphi = std::sin(phi);
  double period = rng.uniform(8, 60);
  int cell = rng.integer(16, 64);
  int gw = w / cell + 2, gh = h / cell + 2;
  std::vector<double> grid(static_cast<size_t>(gw) * gh);
  for (double& g : grid) g = rng.uniform(-1, 1);
  double diag = std::sqrt(double(w) * w + double(h) * h);
  std::vector<double> sin_x(w), cos_x(w), sin_y(h), cos_y(h);
  for (int x = 0; x < w; ++x) {
    sin_x[x] = std::sin(2 * kPi * x * cphi / period);
    cos_x[x] = std::cos(2 * kPi * x * cphi / period);
  }
  for (int y = 0; y < h; ++y) {
    sin_y[y] = std::sin(2 * kPi * y * sphi / period);
    cos_y[y] = std::cos(2 * kPi * y * sphi / period);
  }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double t = 0;
      if (kind == 0) {
        t = ((x - w / 2.0) * cphi + (y - h / 2.0) * sphi) / diag;  // -0.5..0.5
      } else if (kind == 1) {  // sin(a + b) = sin a cos b + cos a sin b, tables per row/column
        t = 0.5 * (sin_x[x] * cos_y[y] + cos_x[x] * sin_y[y]);
      } else {
        double fx = double(x) / cell, fy = double(y) / cell;
        int ix = static_cast<int>(fx), iy = static_cast<int>(fy);
        double ax = fx - ix, ay = fy - iy;
        auto g = [&](int a, int b) { return grid[static_cast<size_t>(b) * gw + a]; };
        t = 0.5 * ((1 - ay) * ((1 - ax) * g(ix, iy) + ax * g(ix + 1, iy)) +
                   ay * ((1 - ax) * g(ix, iy + 1) + ax * g(ix + 1, iy + 1)));
      }
      float* p = &px[(static_cast<size_t>(y) * w + x) * 3];
      for (int ch = 0; ch < 3; ++ch) p[ch] = static_cast<float>(grey + tint[ch] + amp * t);
    }
}

}  // namespace

std::vector<std::string> shapes_class_names() {
  std::vector<std::string> names;
  for (int s = 0; s < kNumShapes; ++s)
    for (int c = 0; c < kNumColors; ++c) names.push_back(std::string(kColors[c].name) + "_" + kShapeNames[s]);
  return names;
}

std::array<uint8_t, 3> shapes_class_color(int64_t category_id) {
  VEDGE_CHECK(category_id >= 1 && category_id <= kNumShapes * kNumColors, "shapes: no category id ",
              category_id);
  const uint8_t* c = kColors[(category_id - 1) % kNumColors].rgb;
  return {c[0], c[1], c[2]};
}

ShapesImage render_shapes_image(const ShapesConfig& cfg, const std::string& split_name, int index) {
  VEDGE_CHECK(cfg.width >= 32 && cfg.height >= 32 && cfg.width <= 8192 && cfg.height <= 8192,
              "shapes: image size ", cfg.width, "x", cfg.height, " must be within 32..8192");
  VEDGE_CHECK(cfg.min_objects >= 0 && cfg.max_objects >= cfg.min_objects && cfg.max_objects <= 100,
              "shapes: object count range ", cfg.min_objects, "..", cfg.max_objects, " is invalid");
  VEDGE_CHECK(cfg.small_min_size >= 4 && cfg.min_size >= cfg.small_min_size && cfg.max_size >= cfg.min_size &&
                  cfg.max_size * 1.42 + 4 <= std::min(cfg.width, cfg.height),
              "shapes: object sizes (", cfg.small_min_size, ", ", cfg.min_size, ", ", cfg.max_size,
              ") must increase and fit in the image");
  const int w = cfg.width, h = cfg.height;
  Rng rng{cfg.seed * 0x2545F4914F6CDD1Dull ^ fnv1a(split_name) ^ (uint64_t(index) * 0x9E3779B97F4A7C15ull)};
  for (int i = 0; i < 4; ++i) rng.next();
  std::vector<float> px(static_cast<size_t>(w) * h * 3);
  draw_background(px, w, h, cfg, rng);

  std::vector<int16_t> owner(static_cast<size_t>(w) * h, -1);
  std::vector<Placed> objects;
  std::vector<int> visible;
  ShapesImage out;
  int want = rng.integer(cfg.min_objects, cfg.max_objects);
  // Classes cycle over the images so that every class is equally frequent;
  // within an image they step by a random stride coprime to the class count
  // (distinct classes, varied co-occurrence).
  const int num_classes = kNumShapes * kNumColors;
  const int strides[] = {1, 5, 7, 11};
  int first = (index * 7) % num_classes, stride = strides[rng.integer(0, 3)];
  for (int k = 0; k < want; ++k) {
    int cls = (first + k * stride) % num_classes;
    Shape shape = static_cast<Shape>(cls / kNumColors);
    const uint8_t* base = kColors[cls % kNumColors].rgb;
    double size = rng.uniform() < cfg.small_fraction
                      ? rng.uniform(cfg.small_min_size, cfg.min_size)
                      : std::exp(rng.uniform(std::log(cfg.min_size), std::log(cfg.max_size)));
    double angle = cfg.rotate ? rng.uniform(0, 2 * kPi) : 0;
    double bright = rng.uniform(0.8, 1.1), jitter[3], shade = rng.uniform(0, 0.15);
    for (double& j : jitter) j = rng.uniform(-12, 12);
    // Rasterize once (at a random sub-pixel phase), then try integer shifts
    // that keep the tight box inside the image.
    const double phase_x = rng.uniform(), phase_y = rng.uniform();
    const Placed shape_at_origin = rasterize(shape, phase_x, phase_y, size, angle);
    if (shape_at_origin.count == 0) continue;
    const int lo_x = -shape_at_origin.bx0, hi_x = w - shape_at_origin.bx1;
    const int lo_y = -shape_at_origin.by0, hi_y = h - shape_at_origin.by1;
    if (hi_x < lo_x || hi_y < lo_y) continue;
    for (int attempt = 0; attempt < 30; ++attempt) {
      const int dx = rng.integer(lo_x, hi_x), dy = rng.integer(lo_y, hi_y);
      Placed p = shape_at_origin;
      p.x0 += dx, p.bx0 += dx, p.bx1 += dx;
      p.y0 += dy, p.by0 += dy, p.by1 += dy;
      const double cx = phase_x + dx, cy = phase_y + dy;
      bool ok = true;
      for (const Placed& o : objects) ok = ok && box_iou(p, o) <= cfg.max_box_overlap;
      if (!ok) continue;
      std::vector<int> covered(objects.size(), 0);
      for (int j = 0; j < p.side; ++j)
        for (int i = 0; i < p.side; ++i) {
          int x = p.x0 + i, y = p.y0 + j;
          if (p.coverage[static_cast<size_t>(j) * p.side + i] >= 2 && x >= 0 && y >= 0 && x < w && y < h) {
            int o = owner[static_cast<size_t>(y) * w + x];
            if (o >= 0) ++covered[o];
          }
        }
      for (size_t o = 0; o < objects.size(); ++o)
        ok = ok && visible[o] - covered[o] >= cfg.min_visible * objects[o].count;
      if (!ok) continue;
      for (size_t o = 0; o < objects.size(); ++o) visible[o] -= covered[o];
      // Draw with anti-aliased edges and a gentle linear shading.
      double sa = std::cos(angle), sb = std::sin(angle);
      for (int j = 0; j < p.side; ++j)
        for (int i = 0; i < p.side; ++i) {
          int cov = p.coverage[static_cast<size_t>(j) * p.side + i];
          int x = p.x0 + i, y = p.y0 + j;
          if (cov == 0 || x < 0 || y < 0 || x >= w || y >= h) continue;
          double a = cov / 4.0;
          double t = ((x + 0.5 - cx) * sa + (y + 0.5 - cy) * sb) / (size / 2);
          double light = bright * (1 + shade * t);
          float* q = &px[(static_cast<size_t>(y) * w + x) * 3];
          for (int ch = 0; ch < 3; ++ch)
            q[ch] = static_cast<float>((1 - a) * q[ch] + a * (base[ch] * light + jitter[ch]));
          if (cov >= 2) owner[static_cast<size_t>(y) * w + x] = static_cast<int16_t>(objects.size());
        }
      visible.push_back(p.count);
      objects.push_back(std::move(p));
      out.boxes.push_back({double(objects.back().bx0), double(objects.back().by0),
                           double(objects.back().bx1 - objects.back().bx0),
                           double(objects.back().by1 - objects.back().by0)});
      out.category_ids.push_back(cls + 1);
      break;
    }
  }

  // Per-pixel noise and quantization.
  const std::vector<float>& table = normal_table();
  out.image.width = w;
  out.image.height = h;
  out.image.rgb.resize(px.size());
  float sigma = static_cast<float>(cfg.noise);
  uint64_t bits = 0;
  int left = 0;
  for (size_t i = 0; i < px.size(); ++i) {
    if (left == 0) {
      bits = rng.next();
      left = 5;
    }
    float v = px[i] + sigma * table[bits & 4095];
    bits >>= 12;
    --left;
    out.image.rgb[i] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 255.0f)));
  }
  return out;
}

Dataset generate_shapes(const ShapesConfig& cfg, const std::string& out_dir, const std::string& split_name,
                        const std::function<void(int, int)>& on_progress) {
  VEDGE_CHECK(cfg.num_images >= 0, "shapes: negative image count ", cfg.num_images);
  VEDGE_CHECK(cfg.image_ext == ".png" || cfg.image_ext == ".jpg", "shapes: image_ext must be .png or .jpg, not '",
              cfg.image_ext, "'");
  VEDGE_CHECK(!split_name.empty() && split_name.find('/') == std::string::npos, "shapes: bad split name '",
              split_name, "'");
  namespace fs = std::filesystem;
  fs::path root = fs::path(out_dir) / split_name / "images";
  std::error_code ec;
  fs::create_directories(root, ec);
  VEDGE_CHECK(!ec, root.string(), ": cannot create folder: ", ec.message());
  Dataset d;
  d.source = (fs::path(out_dir) / (split_name + ".json")).string();
  d.image_root = root.string();
  auto names = shapes_class_names();
  for (size_t i = 0; i < names.size(); ++i) d.categories.push_back({int64_t(i + 1), names[i]});
  // Workers take image indices from a counter; every image depends on its
  // index only, so the files are the same for any number of threads.
  std::vector<ShapesImage> rendered(static_cast<size_t>(cfg.num_images));
  std::atomic<int> next{0};
  std::mutex progress_mutex;
  int done = 0;
  std::exception_ptr error;
  auto work = [&] {
    for (int n; (n = next++) < cfg.num_images;) {
      try {
        ShapesImage s = render_shapes_image(cfg, split_name, n);
        char name[32];
        std::snprintf(name, sizeof name, "%06d%s", n, cfg.image_ext.c_str());
        if (cfg.image_ext == ".png")
          write_png((root / name).string(), s.image);
        else
          write_jpeg((root / name).string(), s.image, 92);
        s.image = Image();  // keep the boxes only
        rendered[n] = std::move(s);
      } catch (...) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        if (!error) error = std::current_exception();
        next = cfg.num_images;
        return;
      }
      std::lock_guard<std::mutex> lock(progress_mutex);
      ++done;
      if (on_progress) on_progress(done, cfg.num_images);
    }
  };
  int threads = cfg.threads > 0 ? cfg.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::clamp(threads, 1, std::max(1, std::min(4, cfg.num_images)));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  for (int n = 0; n < cfg.num_images; ++n) {
    char name[32];
    std::snprintf(name, sizeof name, "%06d%s", n, cfg.image_ext.c_str());
    DatasetImage im;
    im.id = n + 1;
    im.file_name = name;
    im.width = cfg.width;
    im.height = cfg.height;
    d.images.push_back(im);
    const ShapesImage& s = rendered[n];
    for (size_t k = 0; k < s.boxes.size(); ++k) {
      DatasetAnnotation a;
      a.id = static_cast<int64_t>(d.annotations.size()) + 1;
      a.image_id = im.id;
      a.category_id = s.category_ids[k];
      a.bbox = s.boxes[k];
      a.area = s.boxes[k].w * s.boxes[k].h;
      d.annotations.push_back(a);
    }
  }
  d.validate();
  write_coco_dataset(d, d.source);
  return d;
}

}  // namespace vedge

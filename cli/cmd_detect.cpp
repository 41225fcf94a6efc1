// vedge detect MODEL IMAGE|DIR...: detections per image, as text or JSON
// ({"label","score","bbox":[x1,y1,x2,y2]} in original-image pixels), and
// optionally the images with their boxes drawn. A bad image is reported on
// one line and makes the exit code 1; the other images are still processed.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/detector_flags.h"
#include "cli/flags.h"
#include "runtime/detector.h"
#include "runtime/draw.h"
#include "runtime/error.h"

namespace fs = std::filesystem;

namespace vedge::cli {

namespace {

bool is_image_file(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e == ".jpg" || e == ".jpeg" || e == ".png" || e == ".bmp";
}

// Files as given; directories expand to their images, sorted by name.
std::vector<std::string> expand_images(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const std::string& a : args) {
    std::error_code ec;
    if (fs::is_directory(a, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(a, ec))
        if (e.is_regular_file() && is_image_file(e.path())) found.push_back(e.path().string());
      std::sort(found.begin(), found.end());
      if (found.empty()) fail(a, ": no .jpg/.jpeg/.png/.bmp images in this folder");
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(a);
    }
  }
  return out;
}

}  // namespace

int cmd_detect(int argc, char** argv) {
  Flags f("vedge detect", "vedge detect MODEL IMAGE|DIR... [options]");
  declare_detector_flags(f);
  f.boolean("json", "print JSON")
      .flag("draw", "", "write each image with its boxes drawn into this folder");
  f.parse(argc, argv);
  if (f.help_requested()) return std::printf("%s", f.help().c_str()), 0;
  if (f.positional().size() < 2) fail("vedge detect: expected MODEL and at least one IMAGE");

  std::unique_ptr<Detector> detector = load_detector(f, f.positional()[0]);
  Detector& det = *detector;
  const DetectOptions opt = detect_options(f);
  std::string draw_dir = f.str("draw");
  if (!draw_dir.empty()) fs::create_directories(draw_dir);

  std::vector<std::string> images =
      expand_images({f.positional().begin() + 1, f.positional().end()});
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  int failed = 0;
  for (const std::string& path : images) {
    try {
      Image img = decode_image_file(path);
      StageTimes t;
      std::vector<Detection> dets = det.detect(img, opt, &t);
      if (!draw_dir.empty()) {
        draw_detections(img, dets);
        fs::path out = fs::path(draw_dir) / fs::path(path).filename();
        if (out.extension() == ".bmp") out.replace_extension(".png");
        write_image(out.string(), img);
      }
      if (f.on("json")) {
        all.push_back({{"image", path},
                       {"width", img.width},
                       {"height", img.height},
                       {"detections", nlohmann::ordered_json::parse(detections_to_json(dets))},
                       {"latency_ms", t.total_ms()}});
        continue;
      }
      std::printf("%s: %zu detection%s (%dx%d, %.2f ms)\n", path.c_str(), dets.size(),
                  dets.size() == 1 ? "" : "s", img.width, img.height, t.total_ms());
      for (const Detection& d : dets)
        std::printf("  %-16s %.3f  [%.1f, %.1f, %.1f, %.1f]\n", d.label.c_str(), d.score,
                    d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3]);
    } catch (const Error& e) {
      std::fprintf(stderr, "vedge detect: error: %s\n", e.what());
      ++failed;
    }
  }
  if (f.on("json")) {  // a JSON array, one image per line
    std::printf("[\n");
    for (size_t i = 0; i < all.size(); ++i)
      std::printf("  %s%s\n", all[i].dump().c_str(), i + 1 < all.size() ? "," : "");
    std::printf("]\n");
  }
  return failed ? 1 : 0;
}

}  // namespace vedge::cli

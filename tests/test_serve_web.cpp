// The demo page in headless Chromium (Debian's chromium driven by the npm
// peer playwright-core): the page served by an in-process Service loads
// offline (no request leaves the server), an uploaded photo gets its boxes
// drawn and listed, and a screenshot of the canvas has the box colour along
// the box edges the API returned. Needs ../shared, node, chromium and
// tests/peers/node_modules/playwright-core (skips without them).
#ifdef VEDGE_WITH_SERVE
#include <httplib.h>

#include "runtime/image.h"
#include "serve/service.h"
#include "test_serve_util.h"

namespace fs = std::filesystem;
namespace vt = vedge::test;
using nlohmann::json;

namespace {

const char* kDriver = R"JS(
// Drives the demo page: argv = url image screenshot. Prints one JSON line.
const { chromium } = require("playwright-core");
(async () => {
  const [url, image, shot] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
  const foreign = [];
  page.on("request", (r) => { if (!r.url().startsWith(url)) foreign.push(r.url()); });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("model").textContent.includes("ultraface"));
  await page.setInputFiles("#file", image);
  await page.waitForSelector("body[data-state=done]", { timeout: 60000 });
  const result = await page.evaluate(() => ({
    boxes: Number(document.getElementById("canvas").dataset.boxes),
    canvas: [document.getElementById("canvas").width, document.getElementById("canvas").height],
    labels: [...document.querySelectorAll("#detections li.detection")].map((li) => li.dataset.label),
    items: [...document.querySelectorAll("#detections li.detection")].map((li) => li.textContent),
    latency: document.getElementById("latency").textContent,
    status: document.getElementById("status").textContent,
  }));
  await page.locator("#canvas").screenshot({ path: shot });
  result.foreign = foreign;
  result.errors = errors;
  console.log(JSON.stringify(result));
  await browser.close();
})().catch((e) => { console.error(String(e)); process.exit(1); });
)JS";

TEST(ServeWeb, PageDrawsTheBoxes) {
  VEDGE_SKIP_WITHOUT_SHARED();
  const std::string peers = std::string(VEDGE_SOURCE_DIR) + "/tests/peers/node_modules";
  if (!fs::exists(peers + "/playwright-core") || !fs::exists("/usr/bin/chromium") ||
      std::system("node --version >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "needs node, /usr/bin/chromium and tests/peers/node_modules/playwright-core";
  const std::string work = vt::work_dir("ServeWeb");
  // A photo with at least two faces, so several boxes are drawn.
  const auto& faces = vt::coco_picks(work).faces;
  const auto cli = vt::cli_detect(faces, "", work);
  std::string image;
  for (const auto& f : faces)
    if (image.empty() && cli.at(f)["detections"].size() >= 2) image = f;
  ASSERT_FALSE(image.empty());
  const json want = cli.at(image)["detections"];

  vedge::serve::ServeOptions o;
  o.port = 0;
  o.quiet = true;
  vedge::serve::Service svc(vedge::load_detector_model(vt::ultraface_model(), vt::ultraface_spec()), o);
  const int port = svc.start();

  const std::string script = work + "/driver.js", shot = work + "/canvas.png", out = work + "/result.json";
  std::ofstream(script) << kDriver;
  fs::remove(shot);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  const std::string cmd = "NODE_PATH=" + peers + " node " + script + " " + url + " " + image + " " +
                          shot + " >" + out + " 2>" + work + "/driver.err";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << vt::slurp(work + "/driver.err");
  const json r = json::parse(vt::slurp(out));
  EXPECT_TRUE(r["foreign"].empty()) << r["foreign"];  // works offline
  EXPECT_TRUE(r["errors"].empty()) << r["errors"];
  EXPECT_EQ(r["boxes"].get<size_t>(), want.size());
  ASSERT_EQ(r["labels"].size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r["labels"][i], "face");
    char score[32];
    std::snprintf(score, sizeof score, "face %.3f", want[i]["score"].get<double>());
    EXPECT_EQ(r["items"][i].get<std::string>().rfind(score, 0), 0u) << r["items"][i];
  }
  EXPECT_NE(r["latency"].get<std::string>().find("ms on the server"), std::string::npos);

  // The screenshot: the first label's colour (#e6194b) on every box's
  // left, right and bottom edges.
  const vedge::Image png = vedge::decode_image_file(shot);
  const double sx = double(png.width) / r["canvas"][0].get<double>();
  const double sy = double(png.height) / r["canvas"][1].get<double>();
  auto box_colour_near = [&](double x, double y) {
    const int cx = int(x * sx), cy = int(y * sy);
    for (int dy = -3; dy <= 3; ++dy)
      for (int dx = -3; dx <= 3; ++dx) {
        const int px = std::clamp(cx + dx, 0, png.width - 1), py = std::clamp(cy + dy, 0, png.height - 1);
        const uint8_t* p = &png.rgb[(size_t(py) * png.width + px) * 3];
        if (std::abs(p[0] - 230) < 40 && std::abs(p[1] - 25) < 40 && std::abs(p[2] - 75) < 40) return true;
      }
    return false;
  };
  for (const json& d : want) {
    const double x1 = d["bbox"][0], y1 = d["bbox"][1], x2 = d["bbox"][2], y2 = d["bbox"][3];
    SCOPED_TRACE(d.dump());
    EXPECT_TRUE(box_colour_near(x1, (y1 + y2) / 2));  // left edge
    EXPECT_TRUE(box_colour_near(x2, (y1 + y2) / 2));  // right edge
    EXPECT_TRUE(box_colour_near((x1 + x2) / 2, y2));  // bottom edge
  }
  svc.stop();
}

}  // namespace

#else
#include <gtest/gtest.h>
TEST(ServeWeb, NotBuilt) { GTEST_SKIP() << "built without the server (VEDGE_BUILD_SERVE=OFF)"; }
#endif

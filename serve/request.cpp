// request.cpp: detection request parsing (see request.h).
// Depends on runtime/ and nlohmann/json; no HTTP library.
#include "serve/request.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace vedge::serve {
namespace {

using nlohmann::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "image/jpeg; charset=x" -> "image/jpeg"
std::string media_type(const std::string& content_type) {
  std::string t = lower(content_type.substr(0, content_type.find(';')));
  const auto b = t.find_first_not_of(" \t");
  const auto e = t.find_last_not_of(" \t");
  return b == std::string::npos ? "" : t.substr(b, e - b + 1);
}

bool is_image_type(const std::string& t) {
  return t == "image/jpeg" || t == "image/jpg" || t == "image/png" || t == "image/bmp" ||
         t == "application/octet-stream";
}

// Standard base64 (RFC 4648, padding optional, whitespace ignored).
std::string base64_decode(const std::string& s) {
  auto value = [](unsigned char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(s.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (unsigned char c : s) {
    if (std::isspace(c)) continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    const int v = value(c);
    if (v < 0 || pad) throw RequestError(400, "\"image\" is not valid base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (pad > 2 || bits >= 6) throw RequestError(400, "\"image\" is not valid base64");
  return out;
}

double parse_number(const std::string& key, const std::string& text) {
  const char* s = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s, &end);
  if (text.empty() || end != s + text.size() || errno == ERANGE || !std::isfinite(v))
    throw RequestError(400, key + ": '" + text + "' is not a number");
  return v;
}

double json_number(const std::string& key, const json& v) {
  if (!v.is_number()) throw RequestError(400, key + " must be a number");
  const double d = v.get<double>();
  if (!std::isfinite(d)) throw RequestError(400, key + " must be a finite number");
  return d;
}

std::vector<std::string> split_classes(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    std::string c = s.substr(start, comma - start);
    if (!c.empty()) out.push_back(c);
    start = comma + 1;
  }
  return out;
}

// Options as given, before range checks.
struct RawOptions {
  std::optional<double> score, iou, max_dets;
  std::optional<std::vector<std::string>> classes;
};

void set_option(RawOptions& o, const std::string& key, const std::string& text) {
  if (key == "score_thresh") o.score = parse_number(key, text);
  else if (key == "iou_thresh") o.iou = parse_number(key, text);
  else if (key == "max_detections") o.max_dets = parse_number(key, text);
  else if (key == "classes") o.classes = split_classes(text);
}

void set_options_json(RawOptions& o, const json& j, bool allow_image) {
  if (!j.is_object()) throw RequestError(400, "options must be a JSON object");
  for (const auto& [key, v] : j.items()) {
    if (key == "score_thresh") o.score = json_number(key, v);
    else if (key == "iou_thresh") o.iou = json_number(key, v);
    else if (key == "max_detections") o.max_dets = json_number(key, v);
    else if (key == "classes") {
      if (v.is_string()) {
        o.classes = split_classes(v.get<std::string>());
      } else if (v.is_array()) {
        std::vector<std::string> c;
        for (const json& e : v) {
          if (!e.is_string()) throw RequestError(400, "classes must be strings");
          c.push_back(e.get<std::string>());
        }
        o.classes = c;
      } else {
        throw RequestError(400, "classes must be a list of labels");
      }
    } else if (!(allow_image && key == "image")) {
      throw RequestError(400, "unknown option '" + key +
                                  "' (score_thresh, iou_thresh, max_detections, classes)");
    }
  }
}

json parse_json(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw RequestError(400, what + " is not valid JSON");
  return j;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void resolve(const RawOptions& o, const DetectorSpec& spec, DetectRequest& r) {
  if (o.score) {
    if (!(*o.score >= 0 && *o.score < 1))
      throw RequestError(422, "score_thresh " + fmt(*o.score) + " is outside [0, 1)");
    r.options.score_threshold = static_cast<float>(*o.score);
  }
  if (o.iou) {
    if (!(*o.iou > 0 && *o.iou <= 1))
      throw RequestError(422, "iou_thresh " + fmt(*o.iou) + " is outside (0, 1]");
    r.options.iou_threshold = static_cast<float>(*o.iou);
  }
  if (o.max_dets) {
    const double m = *o.max_dets;
    if (!(m >= 1 && m <= 100000) || m != std::floor(m))
      throw RequestError(422, "max_detections " + fmt(m) + " is not an integer in 1..100000");
    r.options.max_detections = static_cast<int>(m);
  }
  if (o.classes) {
    for (const std::string& c : *o.classes) {
      const auto& l = spec.labels;
      const bool known = std::find(l.begin() + (spec.background == 0 ? 1 : 0), l.end(), c) != l.end();
      if (!known) {
        std::string names;
        for (size_t i = 0; i < l.size(); ++i)
          if (static_cast<int>(i) != spec.background) names += (names.empty() ? "" : ", ") + l[i];
        throw RequestError(422, "classes: unknown label '" + c + "' (labels: " + names + ")");
      }
    }
    r.classes = *o.classes;
  }
}

// An image-size error of the decoder (over the limits) is 413, anything
// else it rejects is a malformed image (400). The decoder words size errors
// as "image is WxH, larger than ..." / "... pixels), more than the ...".
int image_error_status(const std::string& message) {
  const bool too_big = message.find(", larger than the ") != std::string::npos ||
                       message.find(" pixels), more than the ") != std::string::npos;
  return too_big ? 413 : 400;
}

}  // namespace

DetectRequest parse_detect_request(const RequestInput& in, const DetectorSpec& spec,
                                   const ImageLimits& limits) {
  RawOptions raw;
  for (const auto& [k, v] : in.query) set_option(raw, k, v);

  const std::string type = media_type(in.content_type);
  std::string bytes;
  const std::string* image = &in.body;
  if (type == "multipart/form-data") {
    image = nullptr;
    for (const FormPart& p : in.parts) {
      if (p.name == "image") image = &p.data;
      if (p.name == "options") set_options_json(raw, parse_json(p.data, "the \"options\" field"), false);
    }
    if (!image) throw RequestError(400, "multipart body without an \"image\" field");
  } else if (type == "application/json") {
    if (in.body.empty()) throw RequestError(400, "empty body: send an image");
    const json j = parse_json(in.body, "the request body");
    set_options_json(raw, j, true);
    if (!j.contains("image") || !j["image"].is_string())
      throw RequestError(400, "JSON body without \"image\" (the image file in base64)");
    bytes = base64_decode(j["image"].get<std::string>());
    image = &bytes;
  } else if (!is_image_type(type)) {
    throw RequestError(415, "unsupported content type '" + in.content_type +
                                "': send image/jpeg, image/png or image/bmp, multipart/form-data "
                                "with an \"image\" field, or application/json");
  }
  if (image->empty()) throw RequestError(400, "empty body: send an image");

  DetectRequest r;
  resolve(raw, spec, r);
  r.image_bytes = image->size();
  try {
    r.image = decode_image_memory(reinterpret_cast<const uint8_t*>(image->data()), image->size(),
                                  "image", limits);
  } catch (const Error& e) {
    throw RequestError(image_error_status(e.what()), e.what());
  }
  return r;
}

void keep_classes(std::vector<Detection>& dets, const std::vector<std::string>& classes) {
  if (classes.empty()) return;
  dets.erase(std::remove_if(dets.begin(), dets.end(),
                            [&](const Detection& d) {
                              return std::find(classes.begin(), classes.end(), d.label) ==
                                     classes.end();
                            }),
             dets.end());
}

}  // namespace vedge::serve

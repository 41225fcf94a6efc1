// request.h: parsing a detection request (POST /v1/detect) into a decoded
// image and detection options, with every client mistake mapped to an HTTP
// status and one message line:
//   body      raw JPEG/PNG/BMP with its content type (image/jpeg, image/png,
//             image/bmp, application/octet-stream), or multipart/form-data
//             with the file in field "image" (and optionally JSON options in
//             field "options"), or application/json {"image": base64, ...}
//   options   score_thresh [0,1), iou_thresh (0,1], max_detections 1..100000,
//             classes (labels to keep): in the query string, and/or in the
//             JSON object (JSON wins)
// Status codes: 400 malformed (empty body, undecodable image, bad JSON),
// 413 image over the pixel limits, 415 unsupported content type, 422
// well-formed options out of range or naming an unknown class.
// Depends on runtime/ (image.h, detector.h) and nlohmann/json; no HTTP library.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/detector.h"
#include "runtime/image.h"

namespace vedge::serve {

// A client error: HTTP status and the message of the JSON error body.
class RequestError : public std::runtime_error {
 public:
  RequestError(int status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct FormPart {
  std::string name, filename, content_type, data;
};

// What arrived: the body (raw, or split into multipart parts by the HTTP
// layer) and the query parameters.
struct RequestInput {
  std::string content_type;
  std::string body;             // raw body (empty for multipart)
  std::vector<FormPart> parts;  // multipart/form-data parts
  std::multimap<std::string, std::string> query;
};

struct DetectRequest {
  Image image;
  DetectOptions options;
  std::vector<std::string> classes;  // keep only these labels; empty: all
  size_t image_bytes = 0;            // encoded size
};

// Throws RequestError. `labels` are the model's (to check "classes").
DetectRequest parse_detect_request(const RequestInput& in, const DetectorSpec& spec,
                                   const ImageLimits& limits);

// Drops detections whose label is not in `classes` (empty keeps all).
void keep_classes(std::vector<Detection>& dets, const std::vector<std::string>& classes);

}  // namespace vedge::serve

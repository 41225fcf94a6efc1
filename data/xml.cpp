// xml.cpp: the strict XML-subset parser of xml.h (recursive descent with a
// depth limit, line tracking). Depends on runtime/error.h only.
#include "data/xml.h"

#include <cctype>
#include <cstdint>

#include "runtime/error.h"

namespace vedge {
namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  Parser(const std::string& t, const std::string& source) : t_(t), src_(source) {}

  XmlNode document() {
    if (t_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;  // UTF-8 BOM
    skip_space();
    if (t_.compare(pos_, 5, "<?xml") == 0) {
      size_t end = t_.find("?>", pos_);
      if (end == std::string::npos) error("unterminated <?xml declaration");
      advance_to(end + 2);
    }
    misc();
    if (pos_ >= t_.size() || t_[pos_] != '<') error("expected the root element");
    XmlNode root = element(0);
    misc();
    if (pos_ < t_.size()) error("text after the root element");
    return root;
  }

 private:
  [[noreturn]] void error(const std::string& what) { fail(src_, ":", line_, ": malformed XML: ", what); }

  void advance_to(size_t p) {
    for (; pos_ < p && pos_ < t_.size(); ++pos_)
      if (t_[pos_] == '\n') ++line_;
  }

  static bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
  void skip_space() {
    while (pos_ < t_.size() && space(t_[pos_])) advance_to(pos_ + 1);
  }

  // Whitespace and comments between elements.
  void misc() {
    for (;;) {
      skip_space();
      if (t_.compare(pos_, 4, "<!--") == 0) {
        comment();
      } else if (t_.compare(pos_, 2, "<!") == 0 || t_.compare(pos_, 2, "<?") == 0) {
        error("DTDs and processing instructions are not supported");
      } else {
        return;
      }
    }
  }

  void comment() {
    size_t end = t_.find("-->", pos_ + 4);
    if (end == std::string::npos) error("unterminated comment");
    advance_to(end + 3);
  }

  static bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':' ||
           static_cast<unsigned char>(c) >= 0x80;
  }

  std::string name() {
    size_t b = pos_;
    while (pos_ < t_.size() && name_char(t_[pos_])) ++pos_;
    if (pos_ == b) error("expected a name");
    return t_.substr(b, pos_ - b);
  }

  void append_utf8(std::string& out, uint32_t cp) {
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) error("invalid character reference");
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // At '&': decodes one entity into `out`.
  void entity(std::string& out) {
    size_t semi = t_.find(';', pos_);
    if (semi == std::string::npos || semi - pos_ > 10) error("unterminated entity");
    std::string e = t_.substr(pos_ + 1, semi - pos_ - 1);
    if (e == "amp") out += '&';
    else if (e == "lt") out += '<';
    else if (e == "gt") out += '>';
    else if (e == "quot") out += '"';
    else if (e == "apos") out += '\'';
    else if (e.size() > 1 && e[0] == '#') {
      bool hex = e[1] == 'x';
      std::string digits = e.substr(hex ? 2 : 1);
      if (digits.empty() || digits.size() > 7) error("bad character reference &" + e + ";");
      uint32_t cp = 0;
      for (char c : digits) {
        int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                : hex && std::isxdigit(static_cast<unsigned char>(c)) ? (std::tolower(c) - 'a' + 10)
                                                                      : -1;
        if (v < 0) error("bad character reference &" + e + ";");
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
      }
      append_utf8(out, cp);
    } else {
      error("unknown entity &" + e + ";");
    }
    pos_ = semi + 1;
  }

  XmlNode element(int depth) {
    if (depth > kMaxDepth) error("elements nested too deeply");
    XmlNode n;
    n.line = line_;
    ++pos_;  // '<'
    n.name = name();
    for (;;) {
      skip_space();
      if (pos_ >= t_.size()) error("unterminated start tag <" + n.name + ">");
      if (t_.compare(pos_, 2, "/>") == 0) {
        pos_ += 2;
        return n;
      }
      if (t_[pos_] == '>') {
        ++pos_;
        break;
      }
      std::string key = name();
      skip_space();
      if (pos_ >= t_.size() || t_[pos_] != '=') error("attribute " + key + " without a value");
      ++pos_;
      skip_space();
      if (pos_ >= t_.size() || (t_[pos_] != '"' && t_[pos_] != '\'')) error("unquoted attribute " + key);
      char q = t_[pos_++];
      std::string v;
      while (pos_ < t_.size() && t_[pos_] != q) {
        if (t_[pos_] == '<') error("'<' in attribute " + key);
        if (t_[pos_] == '&') entity(v);
        else {
          if (t_[pos_] == '\n') ++line_;
          v += t_[pos_++];
        }
      }
      if (pos_ >= t_.size()) error("unterminated attribute " + key);
      ++pos_;
      if (!n.attrs.emplace(key, v).second) error("duplicate attribute " + key);
    }
    std::string text;
    for (;;) {
      if (pos_ >= t_.size()) error("<" + n.name + "> (line " + std::to_string(n.line) + ") is never closed");
      char c = t_[pos_];
      if (c == '<') {
        if (t_.compare(pos_, 4, "<!--") == 0) {
          comment();
        } else if (t_.compare(pos_, 2, "</") == 0) {
          pos_ += 2;
          std::string end = name();
          skip_space();
          if (pos_ >= t_.size() || t_[pos_] != '>') error("malformed end tag </" + end);
          ++pos_;
          if (end != n.name)
            error("</" + end + "> closes <" + n.name + "> (line " + std::to_string(n.line) + ")");
          break;
        } else if (t_.compare(pos_, 2, "<!") == 0 || t_.compare(pos_, 2, "<?") == 0) {
          error("CDATA, DTDs and processing instructions are not supported");
        } else {
          n.children.push_back(element(depth + 1));
        }
      } else if (c == '&') {
        entity(text);
      } else {
        if (c == '\n') ++line_;
        text += c;
        ++pos_;
      }
    }
    size_t b = 0, e = text.size();
    while (b < e && space(text[b])) ++b;
    while (e > b && space(text[e - 1])) --e;
    n.text = text.substr(b, e - b);
    return n;
  }

  const std::string& t_;
  const std::string& src_;
  size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

const XmlNode* XmlNode::child(const std::string& n) const {
  for (const XmlNode& c : children)
    if (c.name == n) return &c;
  return nullptr;
}

std::vector<const XmlNode*> XmlNode::children_named(const std::string& n) const {
  std::vector<const XmlNode*> out;
  for (const XmlNode& c : children)
    if (c.name == n) out.push_back(&c);
  return out;
}

XmlNode parse_xml(const std::string& text, const std::string& source) { return Parser(text, source).document(); }

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

}  // namespace vedge

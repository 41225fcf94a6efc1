// npy.cpp: .npy reader/writer (see npy.h). The header is a Python dict
// literal, parsed here by a small tokenizer that accepts exactly the keys
// NumPy writes: 'descr', 'fortran_order', 'shape'.
// Depends on tensor.h and error.h only.
#include "runtime/npy.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "runtime/error.h"
#include "runtime/files.h"

namespace vedge {
namespace {

const char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

struct HeaderParser {
  const std::string& s;
  const std::string& name;
  size_t i = 0;

  [[noreturn]] void bad(const std::string& what) const {
    std::string h = s.substr(0, 120);
    for (char& c : h)
      if (c == '\n' || c == '\r') c = ' ';
    fail(name, ": malformed .npy header (", what, "): ", h);
  }
  void ws() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  std::string str() {
    ws();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) bad("expected a string");
    const char q = s[i++];
    const size_t e = s.find(q, i);
    if (e == std::string::npos) bad("unterminated string");
    std::string r = s.substr(i, e - i);
    i = e + 1;
    return r;
  }
  bool boolean() {
    ws();
    if (s.compare(i, 4, "True") == 0) { i += 4; return true; }
    if (s.compare(i, 5, "False") == 0) { i += 5; return false; }
    bad("expected True or False");
  }
  Shape tuple() {
    if (!eat('(')) bad("expected a shape tuple");
    Shape shape;
    while (!eat(')')) {
      ws();
      int64_t v = 0;
      size_t digits = 0;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        if (++digits > 15) bad("dimension too large");
        v = v * 10 + (s[i++] - '0');
      }
      if (!digits) bad("expected a dimension");
      shape.push_back(v);
      if (!eat(',')) {
        if (!eat(')')) bad("expected ',' or ')' in the shape");
        break;
      }
    }
    return shape;
  }
};

DType parse_descr(const std::string& d, const std::string& name) {
  if (d.size() < 2) fail(name, ": unsupported .npy dtype '", d, "'");
  const char order = d[0];
  const std::string t = d.substr(1);
  const bool one_byte = t == "i1" || t == "u1" || t == "b1";
  if (order == '>' && !one_byte)
    fail(name, ": big-endian .npy data ('", d, "') is not supported; save it little-endian");
  if (order != '<' && order != '|' && order != '=' && order != '>')
    fail(name, ": unsupported .npy dtype '", d, "'");
  if (t == "f4") return DType::F32;
  if (t == "f2") return DType::F16;
  if (t == "i1") return DType::I8;
  if (t == "u1") return DType::U8;
  if (t == "i4") return DType::I32;
  if (t == "i8") return DType::I64;
  if (t == "b1") return DType::Bool;
  fail(name, ": unsupported .npy dtype '", d,
       "' (supported: float32, float16, int8, uint8, int32, int64, bool)");
}

const char* descr_of(DType t) {
  switch (t) {
    case DType::F32: return "<f4";
    case DType::F16: return "<f2";
    case DType::I8: return "|i1";
    case DType::U8: return "|u1";
    case DType::I32: return "<i4";
    case DType::I64: return "<i8";
    case DType::Bool: return "|b1";
  }
  return "?";
}

}  // namespace

Tensor parse_npy(const uint8_t* p, size_t n, const std::string& name) {
  if (n < 10 || std::memcmp(p, kMagic, 6) != 0)
    fail(name, ": not a .npy file (missing the \\x93NUMPY magic)");
  const int major = p[6];
  size_t header_len, start;
  if (major == 1) {
    header_len = p[8] | (p[9] << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (n < 12) fail(name, ": truncated .npy file (", n, " bytes)");
    header_len = p[8] | (p[9] << 8) | (p[10] << 16) | (static_cast<size_t>(p[11]) << 24);
    start = 12;
  } else {
    fail(name, ": unsupported .npy format version ", major, ".", static_cast<int>(p[7]));
  }
  if (header_len > n - start)
    fail(name, ": truncated .npy file (header of ", header_len, " bytes, file has ", n, ")");
  const std::string header(reinterpret_cast<const char*>(p + start), header_len);

  HeaderParser hp{header, name};
  std::string descr;
  bool fortran = false, has_descr = false, has_order = false, has_shape = false;
  Shape shape;
  if (!hp.eat('{')) hp.bad("expected '{'");
  while (!hp.eat('}')) {
    const std::string key = hp.str();
    if (!hp.eat(':')) hp.bad("expected ':'");
    if (key == "descr") { descr = hp.str(); has_descr = true; }
    else if (key == "fortran_order") { fortran = hp.boolean(); has_order = true; }
    else if (key == "shape") { shape = hp.tuple(); has_shape = true; }
    else hp.bad("unknown key '" + key + "'");
    if (!hp.eat(',')) {
      if (!hp.eat('}')) hp.bad("expected ',' or '}'");
      break;
    }
  }
  if (!has_descr || !has_order || !has_shape) hp.bad("needs descr, fortran_order and shape");
  const DType dtype = parse_descr(descr, name);
  if (fortran) fail(name, ": Fortran-order .npy arrays are not supported; save with C order");

  const size_t avail = n - start - header_len;
  const size_t esize = dtype_size(dtype);
  size_t count = 1, need = 0;
  bool overflow = false;
  for (int64_t d : shape) overflow |= __builtin_mul_overflow(count, static_cast<size_t>(d), &count);
  overflow |= __builtin_mul_overflow(count, esize, &need);
  if (overflow)
    fail(name, ": truncated .npy file (shape ", shape_str(shape), " ", dtype_name(dtype),
         " needs more than the ", avail, " data bytes present)");
  if (need > avail)
    fail(name, ": truncated .npy file (shape ", shape_str(shape), " ", dtype_name(dtype), " needs ",
         need, " data bytes, file has ", avail, ")");
  if (need < avail)
    fail(name, ": .npy file has ", avail - need, " bytes after the array (shape ",
         shape_str(shape), " ", dtype_name(dtype), ")");
  Tensor t(dtype, shape);
  if (need) std::memcpy(t.raw(), p + start + header_len, need);
  return t;
}

Tensor read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail(path, ": cannot open (", std::strerror(errno), ")");
  const std::streamoff size = f.tellg();
  if (size < 0) fail(path, ": cannot read");
  std::string bytes(static_cast<size_t>(size), '\0');
  f.seekg(0);
  if (size > 0 && !f.read(&bytes[0], size)) fail(path, ": cannot read");
  return parse_npy(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

std::string serialize_npy(const Tensor& t) {
  std::string dict = std::string("{'descr': '") + descr_of(t.dtype()) +
                     "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    dict += std::to_string(t.shape()[i]);
    if (t.shape().size() == 1 || i + 1 < t.shape().size()) dict += ",";
    if (i + 1 < t.shape().size()) dict += " ";
  }
  dict += "), }";
  const bool v2 = dict.size() + 1 + 10 > 65535;
  const size_t prefix = v2 ? 12 : 10;
  const size_t total = ((prefix + dict.size() + 1 + 63) / 64) * 64;  // pad to 64
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(kMagic, 6);
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  const size_t hl = dict.size();
  out += static_cast<char>(hl & 0xff);
  out += static_cast<char>((hl >> 8) & 0xff);
  if (v2) {
    out += static_cast<char>((hl >> 16) & 0xff);
    out += static_cast<char>((hl >> 24) & 0xff);
  }
  out += dict;
  if (t.nbytes()) out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& t) {
  write_text_file_atomic(path, serialize_npy(t));
}

}  // namespace vedge

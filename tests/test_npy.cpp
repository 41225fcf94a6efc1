// test_npy.cpp: .npy round trips for every supported dtype and shape kind,
// byte-exact headers as NumPy writes them (hand-written reference bytes),
// and every malformed file kind rejected with one clear line.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "runtime/error.h"
#include "runtime/npy.h"

using namespace vedge;

static std::string work_dir() {
  const std::string d = std::string(VEDGE_TEST_WORK_DIR) + "/test_npy";
  std::filesystem::create_directories(d);
  return d;
}

// What numpy.save writes for a v1 file: magic, version, u16 length, the dict
// padded with spaces to a 64-byte boundary and ended by '\n'.
static std::string numpy_v1(const std::string& dict, const std::string& data) {
  std::string h = dict;
  const size_t total = (10 + h.size() + 1 + 63) / 64 * 64;
  h.append(total - 10 - h.size() - 1, ' ');
  h += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + data;
}

static Tensor parse(const std::string& s, const std::string& name = "t.npy") {
  return parse_npy(reinterpret_cast<const uint8_t*>(s.data()), s.size(), name);
}

TEST(Npy, ParsesNumpyBytes) {
  const int64_t vals[3] = {1, -2, 1LL << 40};
  std::string data(reinterpret_cast<const char*>(vals), sizeof vals);
  Tensor t = parse(numpy_v1("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", data));
  ASSERT_EQ(t.dtype(), DType::I64);
  ASSERT_EQ(t.shape(), (Shape{3}));
  EXPECT_EQ(t.to_int64s(), (std::vector<int64_t>{1, -2, 1LL << 40}));

  const float f[6] = {0.5f, 1, 2, 3, 4, -5};
  Tensor g = parse(numpy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                            std::string(reinterpret_cast<const char*>(f), sizeof f)));
  ASSERT_EQ(g.shape(), (Shape{2, 3}));
  EXPECT_FLOAT_EQ(g.data<float>()[5], -5.f);

  // Version 2 header (u32 length), double quotes, no trailing comma, scalar.
  std::string dict = "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": ()}\n";
  std::string v2("\x93NUMPY\x02\x00", 8);
  for (int i = 0; i < 4; ++i) v2 += static_cast<char>((dict.size() >> (8 * i)) & 0xff);
  v2 += dict + "\x07";
  Tensor s = parse(v2);
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.at_i64(0), 7);
}

TEST(Npy, SerializeMatchesNumpyLayout) {
  Tensor t = Tensor::from_floats({2, 3}, {1, 2, 3, 4, 5, 6});
  const std::string s = serialize_npy(t);
  const std::string want =
      numpy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
               std::string(static_cast<const char*>(t.raw()), 24));
  EXPECT_EQ(s, want);
  Tensor v = Tensor::from_int64s({5}, {1, 2, 3, 4, 5});
  EXPECT_NE(serialize_npy(v).find("'shape': (5,), }"), std::string::npos);
}

TEST(Npy, RoundTripEveryDtypeAndShape) {
  const std::string path = work_dir() + "/rt.npy";
  for (DType d : {DType::F32, DType::F16, DType::I8, DType::U8, DType::I32, DType::I64, DType::Bool}) {
    for (const Shape& shape : {Shape{}, Shape{7}, Shape{2, 3, 4}, Shape{0, 3}, Shape{1, 3, 5, 5}}) {
      Tensor t(d, shape);
      auto* b = static_cast<uint8_t*>(t.raw());
      for (size_t i = 0; i < t.nbytes(); ++i) b[i] = static_cast<uint8_t>(d == DType::Bool ? i % 2 : i * 37 + 11);
      write_npy(path, t);
      Tensor r = read_npy(path);
      ASSERT_EQ(r.dtype(), d) << dtype_name(d);
      ASSERT_EQ(r.shape(), shape) << shape_str(shape);
      ASSERT_EQ(std::memcmp(r.raw(), t.raw(), t.nbytes()), 0);
    }
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

static void expect_error(const std::string& bytes, std::initializer_list<const char*> parts) {
  try {
    parse(bytes, "bad.npy");
    FAIL() << "parsed without error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("bad.npy: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

TEST(Npy, RejectsMalformedFiles) {
  const std::string f4x2(8, '\0');
  expect_error("", {"not a .npy file"});
  expect_error("PK\x03\x04 zip file here", {"not a .npy file"});
  expect_error(numpy_v1("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", f4x2), {"Fortran"});
  expect_error(numpy_v1("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", f4x2), {"big-endian"});
  expect_error(numpy_v1("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", f4x2), {"unsupported .npy dtype '<c8'"});
  expect_error(numpy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4x2), {"truncated", "needs 12"});
  expect_error(numpy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f4x2), {"4 bytes after the array"});
  expect_error(numpy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999, 999999999), }", f4x2), {"truncated"});
  expect_error(numpy_v1("{'descr': '<f4', 'shape': (2,), }", f4x2), {"malformed", "needs descr"});
  expect_error(numpy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,x), }", f4x2), {"malformed"});
  expect_error(numpy_v1("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", f4x2), {"malformed"});
  expect_error(numpy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", f4x2), {"unknown key 'extra'"});
  std::string bad_version = numpy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4x2);
  bad_version[6] = 9;
  expect_error(bad_version, {"version 9"});
  std::string short_header = numpy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", "");
  expect_error(short_header.substr(0, 40), {"truncated"});
  try {
    read_npy(work_dir() + "/missing.npy");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.npy: cannot open"), std::string::npos);
  }
}

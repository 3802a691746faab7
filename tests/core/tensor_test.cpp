#include "core/tensor.h"

#include <gtest/gtest.h>

namespace recur {
namespace {

TEST(Tensor, ZerosHasShapeStridesAndZeros) {
  Tensor t = Tensor::zeros({2, 3, 4}, DType::f32);
  EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(t.strides(), (std::vector<int64_t>{12, 4, 1}));
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.nbytes(), 96u);
  EXPECT_TRUE(t.is_contiguous());
  for (double v : t.to_vector()) EXPECT_EQ(v, 0.0);
}

TEST(Tensor, NarrowAlongTimeIsAViewSharingStorage) {
  Tensor t = Tensor::empty({2, 5, 3}, DType::f64);
  std::vector<double> v(30);
  for (int i = 0; i < 30; ++i) v[i] = i;
  t.copy_from(Tensor::from_vector(v, {2, 5, 3}));
  Tensor window = t.narrow(1, 2, 2);  // [B=2, T=2, F=3]
  EXPECT_EQ(window.shape(), (Shape{2, 2, 3}));
  EXPECT_FALSE(window.is_contiguous());
  EXPECT_EQ(window.item({1, 0, 2}), 15 + 6 + 2);
  window.fill(-1.0);
  EXPECT_EQ(t.item({1, 2, 0}), -1.0);  // the write went through the view
  EXPECT_EQ(t.item({1, 4, 0}), 27.0);
  Tensor packed = window.contiguous();
  EXPECT_TRUE(packed.is_contiguous());
  EXPECT_EQ(packed.to_vector(), std::vector<double>(12, -1.0));
}

TEST(Tensor, SelectBatchRowDropsDimension) {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor row = t.select(0, 1);
  EXPECT_EQ(row.shape(), (Shape{2}));
  EXPECT_EQ(row.to_vector(), (std::vector<double>{3, 4}));
}

TEST(Tensor, ConvertsBetweenDtypes) {
  Tensor t = Tensor::from_vector<float>({1.5f, -2.25f, 3.0f}, {3});
  EXPECT_EQ(t.to(DType::f64).to_vector(), (std::vector<double>{1.5, -2.25, 3.0}));
  EXPECT_EQ(t.to(DType::bf16).to_vector(), (std::vector<double>{1.5, -2.25, 3.0}));
  EXPECT_EQ(t.to(DType::f16).to_vector(), (std::vector<double>{1.5, -2.25, 3.0}));
  EXPECT_EQ(t.to(DType::i32).to_vector(), (std::vector<double>{1, -2, 3}));
}

// Conversions between contiguous tensors at an offset (views of rows), both ways.
TEST(Tensor, ConvertsViewsAtAnOffset) {
  Tensor rows = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {4, 3});
  Tensor middle = rows.narrow(0, 1, 2);  // contiguous, starting at element 3
  ASSERT_TRUE(middle.is_contiguous());
  EXPECT_EQ(middle.to(DType::f64).to_vector(), (std::vector<double>{3, 4, 5, 6, 7, 8}));
  Tensor into = Tensor::zeros({4, 3}, DType::f64);
  into.narrow(0, 2, 2).copy_from(
      Tensor::from_vector<float>({-1.5f, 2.5f, 3.25f, 1e30f, -0.0f, 7}, {2, 3}));
  EXPECT_EQ(into.to_vector(),
            (std::vector<double>{0, 0, 0, 0, 0, 0, -1.5, 2.5, 3.25, double(1e30f), -0.0, 7}));
}

TEST(Tensor, HalfPrecisionRoundsToNearestEven) {
  // 1 + 2^-11 is halfway between two f16 values: ties go to the even mantissa (1.0).
  EXPECT_EQ(to_float(to_f16(1.0f + 1.0f / 2048)), 1.0f);
  EXPECT_EQ(to_float(to_f16(1.0f + 3.0f / 2048)), 1.0f + 2.0f / 1024);
  EXPECT_EQ(to_float(to_f16(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(to_float(to_f16(65520.0f))));
  EXPECT_EQ(to_float(to_f16(5.960464477539063e-08f)), 5.960464477539063e-08f);  // 2^-24
  EXPECT_EQ(to_float(to_bf16(1.0f + 1.0f / 256)), 1.0f);
  EXPECT_EQ(to_float(to_bf16(3.140625f)), 3.140625f);
  EXPECT_TRUE(std::isnan(to_float(to_bf16(std::nanf("")))));
}

TEST(Tensor, WrongShapesAndDtypesThrowNamingExpectedAndGiven) {
  Tensor x = Tensor::zeros({8, 100, 256}, DType::f32);
  try {
    check_shape(x, {"B", "T", 512}, "LSTM input");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "LSTM input: expected [B,T,512], got [8,100,256]");
  }
  EXPECT_THROW(x.data<double>(), Error);
  EXPECT_THROW(x.narrow(1, 90, 20), Error);
  EXPECT_THROW(x.reshape({7}), Error);
  EXPECT_THROW(Tensor::empty({-1}, DType::f32), Error);
  EXPECT_THROW(Tensor().raw_data(), Error);
  EXPECT_THROW(check_cpu_dtype(x, DType::f64, "weights"), Error);
}

}  // namespace
}  // namespace recur

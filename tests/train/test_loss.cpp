// test_loss.cpp: the SSD loss against hand-computed values on tiny cases and
// against an independent PyTorch (Python) computation on a random batch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "train/loss.h"

namespace vedge {
namespace {

double ce(const std::vector<double>& logits, int label) {
  double m = *std::max_element(logits.begin(), logits.end()), s = 0;
  for (double l : logits) s += std::exp(l - m);
  return -(logits[static_cast<size_t>(label)] - m - std::log(s));
}

TEST(SsdLoss, ByHand) {
  // One image, 6 anchors, 2 classes. Anchor 0 positive (class 1); the other
  // five are negatives with increasing "object" logits, so the hardest
  // three are anchors 5, 4, 3.
  std::vector<std::vector<double>> logits = {{0.2, 1.0}, {2.0, 0.0}, {1.0, 0.5}, {0.0, 0.3}, {0.0, 1.2}, {-1.0, 2.0}};
  torch::Tensor L = torch::zeros({1, 6, 2});
  for (int a = 0; a < 6; ++a)
    for (int c = 0; c < 2; ++c) L[0][a][c] = logits[a][c];
  torch::Tensor labels = torch::tensor({1L, 0L, 0L, 0L, 0L, 0L}).view({1, 6});
  torch::Tensor pred = torch::zeros({1, 6, 4});
  torch::Tensor target = torch::zeros({1, 6, 4});
  pred[0][0] = torch::tensor({0.5f, -2.f, 0.f, 1.f});
  target[0][0] = torch::tensor({0.f, 0.f, 0.f, 0.f});
  pred[0][1] = torch::tensor({9.f, 9.f, 9.f, 9.f});  // background: ignored by the box loss
  SsdLoss l = ssd_loss(pred, L, labels, target);
  EXPECT_EQ(l.num_positive, 1);
  // Smooth L1 (beta 1): 0.5*0.5^2 + (2 - 0.5) + 0 + 0.5*1^2 = 0.125 + 1.5 + 0.5
  EXPECT_NEAR(l.box.item<float>(), 2.125, 1e-5);
  double want_cls = ce(logits[0], 1) + ce(logits[5], 0) + ce(logits[4], 0) + ce(logits[3], 0);
  EXPECT_NEAR(l.cls.item<float>(), want_cls, 1e-5);
  EXPECT_NEAR(l.total.item<float>(), 2.125 + want_cls, 1e-5);

  // Ratio 1: only the hardest negative (anchor 5).
  SsdLossOptions one;
  one.neg_pos_ratio = 1;
  EXPECT_NEAR(ssd_loss(pred, L, labels, target, one).cls.item<float>(), ce(logits[0], 1) + ce(logits[5], 0), 1e-5);

  // Two images, the second without positives: it mines no negatives, and
  // the normalizer stays the batch's positive count (1).
  torch::Tensor L2 = torch::cat({L, L});
  torch::Tensor labels2 = torch::cat({labels, torch::zeros({1, 6}, torch::kLong)});
  SsdLoss l2 = ssd_loss(torch::cat({pred, pred}), L2, labels2, torch::cat({target, target}));
  EXPECT_NEAR(l2.cls.item<float>(), want_cls, 1e-5);
  EXPECT_NEAR(l2.box.item<float>(), 2.125, 1e-5);

  // No positive at all: zero loss, normalizer 1, finite.
  SsdLoss l0 = ssd_loss(pred, L, torch::zeros({1, 6}, torch::kLong), target);
  EXPECT_EQ(l0.num_positive, 0);
  EXPECT_EQ(l0.total.item<float>(), 0.f);
}

TEST(SsdLoss, GradientFlowsOnlyThroughSelectedAnchors) {
  torch::manual_seed(1);
  torch::Tensor L = torch::randn({1, 10, 3}, torch::requires_grad());
  torch::Tensor P = torch::randn({1, 10, 4}, torch::requires_grad());
  torch::Tensor labels = torch::zeros({1, 10}, torch::kLong);
  labels[0][2] = 2;
  SsdLoss l = ssd_loss(P, L, labels, torch::zeros({1, 10, 4}));
  l.total.backward();
  // Box gradient only at the positive anchor.
  EXPECT_GT(P.grad()[0][2].abs().sum().item<float>(), 0.f);
  EXPECT_EQ(P.grad().abs().sum().item<float>(), P.grad()[0][2].abs().sum().item<float>());
  // Class gradient at exactly 1 positive + 3 negatives.
  EXPECT_EQ((L.grad()[0].abs().sum(1) > 0).sum().item<int64_t>(), 4);
}

std::string list(const torch::Tensor& t) {
  std::ostringstream os;
  os.precision(9);
  torch::Tensor f = t.contiguous().to(torch::kDouble).view({-1});
  os << "[";
  for (int64_t i = 0; i < f.numel(); ++i) os << (i ? "," : "") << f[i].item<double>();
  os << "]";
  return os.str();
}

// The same batch through an independent PyTorch implementation written in
// the torchvision SSD style (sort-of-sort ranking, F.cross_entropy,
// F.smooth_l1_loss).
TEST(SsdLoss, MatchesPyTorch) {
  const char* py = "/usr/bin/python3";
  if (std::system((std::string(py) + " -c 'import torch' >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "needs /usr/bin/python3 with torch for the reference loss";
  torch::manual_seed(7);
  const int64_t N = 3, A = 40, C = 5;
  torch::Tensor L = torch::randn({N, A, C}) * 2;
  torch::Tensor P = torch::randn({N, A, 4});
  torch::Tensor T = torch::randn({N, A, 4});
  torch::Tensor labels = torch::randint(1, C, {N, A}) * (torch::rand({N, A}) < 0.15).to(torch::kLong);
  labels[2] = 0;
  labels[0][0] = 1;
  SsdLoss l = ssd_loss(P, L, labels, T);
  std::ostringstream s;
  s << "import torch, torch.nn.functional as F\n"
    << "N,A,C=" << N << "," << A << "," << C << "\n"
    << "L=torch.tensor(" << list(L) << ",dtype=torch.float64).view(N,A,C)\n"
    << "P=torch.tensor(" << list(P) << ",dtype=torch.float64).view(N,A,4)\n"
    << "T=torch.tensor(" << list(T) << ",dtype=torch.float64).view(N,A,4)\n"
    << "y=torch.tensor(" << list(labels) << ").long().view(N,A)\n"
    << "fg=y>0\nnfg=fg.sum(1,keepdim=True)\nnorm=max(1,int(fg.sum()))\n"
    << "box=F.smooth_l1_loss(P[fg],T[fg],reduction='sum')/norm\n"
    << "ce=F.cross_entropy(L.view(-1,C),y.view(-1),reduction='none').view(N,A)\n"
    << "neg=ce.clone(); neg[fg]=-float('inf')\n"
    << "_,idx=neg.sort(1,descending=True)\nbg=idx.sort(1)[1]<3*nfg\n"
    << "cls=(ce[fg].sum()+ce[bg].sum())/norm\n"
    << "print('%.9f %.9f' % (box.item(), cls.item()))\n";
  std::string script = std::string(VEDGE_TEST_WORK_DIR) + "/ssd_loss_ref.py";
  std::system((std::string("mkdir -p ") + VEDGE_TEST_WORK_DIR).c_str());
  std::ofstream(script) << s.str();
  FILE* p = popen((std::string(py) + " " + script).c_str(), "r");
  ASSERT_NE(p, nullptr);
  double box = -1, cls = -1;
  ASSERT_EQ(std::fscanf(p, "%lf %lf", &box, &cls), 2);
  pclose(p);
  EXPECT_NEAR(l.box.item<float>(), box, 1e-4 * std::max(1.0, box));
  EXPECT_NEAR(l.cls.item<float>(), cls, 1e-4 * std::max(1.0, cls));
}

}  // namespace
}  // namespace vedge

#include "runtime/planner.h"

#include <algorithm>
#include <numeric>

namespace vedge {

static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

ArenaPlan plan_arena(const std::vector<BufferRequest>& reqs, size_t alignment) {
  ArenaPlan plan;
  plan.offsets.assign(reqs.size(), 0);
  std::vector<size_t> order(reqs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return reqs[a].bytes > reqs[b].bytes; });

  struct Placed {
    size_t begin, end;
    int first, last;
  };
  std::vector<Placed> placed;
  std::vector<std::pair<size_t, size_t>> busy;  // [begin, end) of overlapping-in-time buffers
  for (size_t idx : order) {
    const BufferRequest& r = reqs[idx];
    size_t size = round_up(std::max<size_t>(r.bytes, 1), alignment);
    busy.clear();
    for (const Placed& p : placed)
      if (p.first <= r.last && r.first <= p.last) busy.emplace_back(p.begin, p.end);
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& b : busy) {
      if (b.first >= offset + size) break;  // fits in the gap before b
      offset = std::max(offset, b.second);
    }
    plan.offsets[idx] = offset;
    plan.total = std::max(plan.total, offset + size);
    placed.push_back({offset, offset + size, r.first, r.last});
  }
  return plan;
}

}  // namespace vedge

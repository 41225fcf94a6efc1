// planner.h: assigns every activation buffer an offset in one arena, once,
// at load time, so that no inference allocates. Two buffers may share bytes
// only if their lifetimes (inclusive step intervals) do not intersect.
// Greedy by size: the largest buffers are placed first, each at the lowest
// offset that does not collide with an already placed buffer alive at the
// same time. Depends on nothing.
#pragma once

#include <cstddef>
#include <vector>

namespace vedge {

struct BufferRequest {
  size_t bytes = 0;
  int first = 0;  // step that writes it (graph inputs: -1)
  int last = 0;   // last step that reads it (graph outputs: number of steps)
};

struct ArenaPlan {
  std::vector<size_t> offsets;  // one per request, multiples of `alignment`
  size_t total = 0;             // arena size in bytes
};

ArenaPlan plan_arena(const std::vector<BufferRequest>& reqs, size_t alignment = 64);

}  // namespace vedge

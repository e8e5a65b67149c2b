// The benchmark workload, shared by xdpkv-bench (sockets) and
// xdpkv-xdp-gen (the XDP generator): key names, values, and key popularity.
#ifndef XDPKV_BENCH_WORKLOAD_H_
#define XDPKV_BENCH_WORKLOAD_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>

namespace xdpkv::bench {

// Key i as exactly key_size bytes: "k", zero padding, decimal i.
inline std::string KeyName(uint64_t i, size_t key_size) {
  std::string digits = std::to_string(i);
  std::string key = "k";
  if (key_size > digits.size() + 1) key.append(key_size - digits.size() - 1, '0');
  key += digits;
  return key;
}

inline std::string ValueFor(uint64_t i, size_t size) {
  std::string value(size, 'v');
  for (size_t j = 0; j < size; ++j) value[j] = static_cast<char>('a' + (i + j) % 26);
  return value;
}

// YCSB's scrambled Zipfian generator (Gray et al., "Quickly generating
// billion-record synthetic databases"): rank by popularity, then spread the
// ranks over the keyspace with a hash.
class KeyChooser {
 public:
  KeyChooser(uint64_t items, double theta, uint64_t seed)
      : items_(items), theta_(theta), random_(seed) {
    if (theta_ <= 0) return;
    for (uint64_t i = 1; i <= items_; ++i) zetan_ += 1.0 / std::pow(double(i), theta_);
    const double zeta2 = 1.0 + 1.0 / std::pow(2.0, theta_);
    alpha_ = 1.0 / (1.0 - theta_);
    eta_ = (1.0 - std::pow(2.0 / double(items_), 1.0 - theta_)) / (1.0 - zeta2 / zetan_);
  }

  uint64_t Next() {
    if (theta_ <= 0) return random_() % items_;
    const double u = uniform_(random_);
    const double uz = u * zetan_;
    uint64_t rank;
    if (uz < 1.0) {
      rank = 0;
    } else if (uz < 1.0 + std::pow(0.5, theta_)) {
      rank = 1;
    } else {
      rank = static_cast<uint64_t>(double(items_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
    }
    return Fnv1a(std::min(rank, items_ - 1)) % items_;
  }

  double Uniform() { return uniform_(random_); }
  std::mt19937_64& random() { return random_; }

 private:
  static uint64_t Fnv1a(uint64_t x) {
    uint64_t h = 14695981039346656037ull;
    for (int i = 0; i < 8; ++i) {
      h ^= (x >> (i * 8)) & 0xff;
      h *= 1099511628211ull;
    }
    return h;
  }

  uint64_t items_;
  double theta_;
  double zetan_ = 0, alpha_ = 0, eta_ = 0;
  std::mt19937_64 random_;
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
};

}  // namespace xdpkv::bench

#endif  // XDPKV_BENCH_WORKLOAD_H_

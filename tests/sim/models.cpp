// Model names, metadata and load state.
#include "tests/sim/models.hpp"

#include <algorithm>

namespace meter::sim {
namespace {

bool name_char(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
         (allow_colon && c == ':');
}

bool valid_part(std::string_view part, std::size_t max_length, bool allow_colon) {
  if (part.empty() || part.size() > max_length) {
    return false;
  }
  char first = part.front();
  if (!((first >= 'a' && first <= 'z') || (first >= '0' && first <= '9') || first == '_')) {
    return false;
  }
  return std::all_of(part.begin(), part.end(), [&](char c) { return name_char(c, allow_colon); });
}

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

bool contains(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

} // namespace

parsed_model parse_model_name(std::string_view raw) {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  while (!raw.empty() && is_space(raw.front())) {
    raw.remove_prefix(1);
  }
  while (!raw.empty() && is_space(raw.back())) {
    raw.remove_suffix(1);
  }
  if (raw.empty()) {
    return model_missing{};
  }
  std::string name(raw);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  std::vector<std::string_view> parts;
  std::string_view rest = name;
  for (;;) {
    std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos) {
      parts.push_back(rest);
      break;
    }
    parts.push_back(rest.substr(0, slash));
    rest.remove_prefix(slash + 1);
  }
  if (parts.size() > 3) {
    return model_invalid{};
  }
  std::string_view last = parts.back();
  std::string_view tag = "latest";
  if (std::size_t colon = last.rfind(':'); colon != std::string_view::npos) {
    tag = last.substr(colon + 1);
    last = last.substr(0, colon);
  }
  if (!valid_part(last, 80, false) || !valid_part(tag, 80, false)) {
    return model_invalid{};
  }
  std::string_view ns;
  std::string_view host;
  if (parts.size() >= 2) {
    ns = parts[parts.size() - 2];
    if (!valid_part(ns, 80, false)) {
      return model_invalid{};
    }
  }
  if (parts.size() == 3) {
    host = parts[0];
    if (!valid_part(host, 350, true)) {
      return model_invalid{};
    }
  }
  std::string canonical;
  bool default_host = host.empty() || host == "registry.ollama.ai";
  bool default_ns = ns.empty() || ns == "library";
  if (!default_host) {
    canonical.append(host).append("/");
  }
  if (!default_host || !default_ns) {
    canonical.append(ns.empty() ? "library" : ns).append("/");
  }
  canonical.append(last).append(":").append(tag);
  return model_name{canonical};
}

model_info describe_model(std::string canonical) {
  model_info m;
  m.name = std::move(canonical);
  std::string_view n = m.name;
  m.embedding_only = contains(n, "embed") || contains(n, "minilm") || contains(n, "bge") ||
                     contains(n, "e5-") || contains(n, "gte") || contains(n, "mpnet") ||
                     contains(n, "paraphrase") || contains(n, "snowflake");
  std::uint64_t h = fnv1a(m.name);
  if (m.embedding_only) {
    m.family = contains(n, "nomic") ? "nomic-bert" : "bert";
    m.parameter_size = contains(n, "minilm") ? "23M" : contains(n, "bge") ? "567M" : "137M";
    m.quantization = "F16";
    m.size = 40'000'000 + h % 600'000'000;
  } else {
    m.family = "llama";
    m.parameter_size = "3.2B";
    m.quantization = "Q4_K_M";
    m.size = 1'900'000'000 + h % 100'000'000;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::uint64_t x = h;
  for (int i = 0; i < 64; ++i) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 29;
    m.digest.push_back(hex[x & 15]);
  }
  return m;
}

model_catalog::model_catalog(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    parsed_model parsed = parse_model_name(name);
    if (auto* valid = std::get_if<model_name>(&parsed)) {
      add(valid->canonical);
    }
  }
}

std::optional<model_info> model_catalog::find(std::string_view canonical) const {
  std::lock_guard lock(mutex_);
  for (const auto& m : models_) {
    if (m.name == canonical) {
      return m;
    }
  }
  return std::nullopt;
}

std::vector<model_info> model_catalog::list() const {
  std::lock_guard lock(mutex_);
  return models_;
}

void model_catalog::add(std::string_view canonical) {
  std::lock_guard lock(mutex_);
  for (const auto& m : models_) {
    if (m.name == canonical) {
      return;
    }
  }
  models_.push_back(describe_model(std::string(canonical)));
}

bool model_catalog::remove(std::string_view canonical) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(models_.begin(), models_.end(),
                         [&](const model_info& m) { return m.name == canonical; });
  if (it == models_.end()) {
    return false;
  }
  models_.erase(it);
  std::erase_if(ready_at_, [&](const auto& r) { return r.first == canonical; });
  return true;
}

std::chrono::steady_clock::time_point
model_catalog::use(std::string_view canonical, std::chrono::steady_clock::duration cold_load,
                   std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  for (const auto& [name, ready] : ready_at_) {
    if (name == canonical) {
      return ready;
    }
  }
  ready_at_.emplace_back(std::string(canonical), now + cold_load);
  return now + cold_load;
}

std::vector<model_info> model_catalog::loaded() const {
  std::lock_guard lock(mutex_);
  std::vector<model_info> out;
  for (const auto& [name, ready] : ready_at_) {
    for (const auto& m : models_) {
      if (m.name == name) {
        out.push_back(m);
      }
    }
  }
  return out;
}

} // namespace meter::sim

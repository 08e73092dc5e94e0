#include "runtime/grammar/schema/schema_all_of.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/grammar/schema/schema_keywords.h"
#include "runtime/grammar/schema/schema_limits.h"

namespace ggufd::grammar::schema {
namespace {

struct Flattened {
  std::vector<std::pair<Json, std::string>> plain;
  // anyOf/oneOf lists met in the parts (oneOf is generated as anyOf).
  std::vector<std::pair<Json, std::string>> choices;
  bool impossible = false;
};

absl::Status Flatten(const Json& part, const std::string& pointer,
                     const SchemaConverter& converter, int depth,
                     Flattened* out) {
  if (depth > kMaxSchemaDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("allOf/$ref expansion deeper than ", kMaxSchemaDepth,
                     " at ", Where(pointer), " (a $ref cycle through allOf?)"));
  }
  if (part.is_boolean()) {
    if (!part.get<bool>()) out->impossible = true;
    return absl::OkStatus();
  }
  if (!part.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a schema must be an object or a boolean (at ", Where(pointer), ")"));
  }
  absl::Status status = converter.CheckKeywords(part, pointer);
  if (!status.ok()) return status;
  Json rest = part;
  if (rest.contains("$ref")) {
    auto target = converter.ResolveRef(rest["$ref"], pointer);
    if (!target.ok()) return target.status();
    status = Flatten(*target->first, target->second, converter, depth + 1, out);
    if (!status.ok()) return status;
    rest.erase("$ref");
  }
  if (rest.contains("allOf")) {
    const Json& all = rest["allOf"];
    if (!all.is_array() || all.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "allOf must be a non-empty array (at ", Where(pointer), ")"));
    }
    for (size_t i = 0; i < all.size(); ++i) {
      status = Flatten(
          all[i],
          ChildPointer(ChildPointer(pointer, "allOf"), std::to_string(i)),
          converter, depth + 1, out);
      if (!status.ok()) return status;
    }
    rest.erase("allOf");
  }
  for (const char* key : {"anyOf", "oneOf"}) {
    if (!rest.contains(key)) continue;
    if (!rest[key].is_array() || rest[key].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          key, " must be a non-empty array (at ", Where(pointer), ")"));
    }
    out->choices.push_back({rest[key], ChildPointer(pointer, key)});
    rest.erase(key);
  }
  for (auto it = rest.begin(); it != rest.end();) {
    KeywordKind kind = ClassifyKeyword(it.key());
    if (kind == KeywordKind::kAnnotation || kind == KeywordKind::kDefinitions) {
      it = rest.erase(it);
    } else {
      ++it;
    }
  }
  if (!rest.empty()) out->plain.push_back({std::move(rest), pointer});
  return absl::OkStatus();
}

std::vector<std::string> TypeList(const Json& type) {
  std::vector<std::string> out;
  if (type.is_string()) out.push_back(type.get<std::string>());
  if (type.is_array()) {
    for (const Json& t : type) {
      if (t.is_string()) out.push_back(t.get<std::string>());
    }
  }
  return out;
}

bool Has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> IntersectTypes(const std::vector<std::string>& a,
                                        const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const std::string& t : a) {
    if (Has(b, t) || (t == "integer" && Has(b, "number"))) out.push_back(t);
  }
  for (const std::string& t : b) {
    if (t == "integer" && Has(a, "number") && !Has(out, t)) out.push_back(t);
  }
  return out;
}

bool IsLowerBound(std::string_view key) {
  return key == "minimum" || key == "minItems" || key == "minLength";
}
bool IsUpperBound(std::string_view key) {
  return key == "maximum" || key == "maxItems" || key == "maxLength";
}
bool IsObjectKeyword(std::string_view key) {
  return key == "properties" || key == "required" ||
         key == "additionalProperties";
}

absl::StatusOr<Json> Combine(
    const std::vector<std::pair<Json, std::string>>& plain) {
  Json out = Json::object();
  std::optional<std::vector<std::string>> types;
  std::optional<std::vector<Json>> allowed;
  int object_parts = 0;
  bool any_additional = false;
  for (const auto& [part, pointer] : plain) {
    bool describes_object = false;
    for (auto it = part.begin(); it != part.end(); ++it) {
      const std::string& key = it.key();
      const Json& value = it.value();
      if (IsObjectKeyword(key)) describes_object = true;
      if (key == "additionalProperties") any_additional = true;
      if (key == "type") {
        std::vector<std::string> t = TypeList(value);
        types = types ? IntersectTypes(*types, t) : t;
      } else if (key == "enum" || key == "const") {
        std::vector<Json> values;
        if (key == "const") {
          values.push_back(value);
        } else if (value.is_array()) {
          values.assign(value.begin(), value.end());
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("enum must be an array (at ", Where(pointer), ")"));
        }
        if (allowed) {
          std::vector<Json> kept;
          for (const Json& v : *allowed) {
            if (std::find(values.begin(), values.end(), v) != values.end()) {
              kept.push_back(v);
            }
          }
          allowed = std::move(kept);
        } else {
          allowed = std::move(values);
        }
      } else if (key == "properties") {
        if (!value.is_object()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "properties must be an object (at ", Where(pointer), ")"));
        }
        Json& props = out["properties"];
        if (!props.is_object()) props = Json::object();
        for (auto p = value.begin(); p != value.end(); ++p) {
          if (props.contains(p.key())) {
            props[p.key()] =
                Json{{"allOf", Json::array({props[p.key()], p.value()})}};
          } else {
            props[p.key()] = p.value();
          }
        }
      } else if (key == "required") {
        Json& req = out["required"];
        if (!req.is_array()) req = Json::array();
        if (!value.is_array()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "required must be an array (at ", Where(pointer), ")"));
        }
        for (const Json& name : value) {
          if (std::find(req.begin(), req.end(), name) == req.end()) {
            req.push_back(name);
          }
        }
      } else if ((IsLowerBound(key) || IsUpperBound(key) ||
                  ((key == "exclusiveMinimum" || key == "exclusiveMaximum") &&
                   value.is_number())) &&
                 value.is_number() && out.contains(key) &&
                 out[key].is_number()) {
        bool lower = IsLowerBound(key) || key == "exclusiveMinimum";
        double a = out[key].get<double>(), b = value.get<double>();
        if (lower ? b > a : b < a) out[key] = value;
      } else if (!out.contains(key)) {
        out[key] = value;
      } else if (out[key] != value) {
        return absl::InvalidArgumentError(absl::StrCat(
            "allOf combines two different \"", key, "\" values (at ",
            Where(pointer), "); only one part may set it"));
      }
    }
    if (describes_object) ++object_parts;
  }
  if (object_parts > 1 && any_additional) {
    return absl::InvalidArgumentError(absl::StrCat(
        "additionalProperties in an allOf whose parts describe the object "
        "more than once is not supported (at ",
        Where(plain.front().second), ")"));
  }
  if (types) {
    if (types->empty()) return Json(false);
    out["type"] = *types;
  }
  if (allowed) {
    if (allowed->empty()) return Json(false);
    out["enum"] = *allowed;
  }
  return out;
}

}  // namespace

absl::StatusOr<Json> MergeAllOf(
    const std::vector<std::pair<Json, std::string>>& parts,
    const SchemaConverter& converter, int depth) {
  Flattened flat;
  for (const auto& [part, pointer] : parts) {
    absl::Status status = Flatten(part, pointer, converter, depth, &flat);
    if (!status.ok()) return status;
  }
  if (flat.impossible) return Json(false);
  if (flat.choices.empty()) return Combine(flat.plain);

  size_t branches = 1;
  for (const auto& [choice, pointer] : flat.choices) {
    branches *= choice.size();
    if (branches > kMaxAllOfBranches) {
      return absl::InvalidArgumentError(absl::StrCat(
          "allOf over anyOf/oneOf expands to more than ", kMaxAllOfBranches,
          " alternatives (at ", Where(pointer), ")"));
    }
  }
  // allOf(A, anyOf(B1..Bn), ...) = anyOf(allOf(A, B1, ...), ..., allOf(A, Bn,
  // ...)).
  const auto& [first, first_pointer] = flat.choices.front();
  Json result = Json{{"anyOf", Json::array()}};
  for (size_t i = 0; i < first.size(); ++i) {
    std::vector<std::pair<Json, std::string>> branch = flat.plain;
    for (size_t c = 1; c < flat.choices.size(); ++c) {
      branch.push_back(
          {Json{{"anyOf", flat.choices[c].first}}, flat.choices[c].second});
    }
    branch.push_back(
        {first[i], ChildPointer(first_pointer, std::to_string(i))});
    absl::StatusOr<Json> merged = MergeAllOf(branch, converter, depth + 1);
    if (!merged.ok()) return merged;
    result["anyOf"].push_back(*std::move(merged));
  }
  return result;
}

}  // namespace ggufd::grammar::schema

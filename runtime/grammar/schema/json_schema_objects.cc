// Objects: "properties" (in declared order), "required",
// "additionalProperties".
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/grammar/schema/json_schema_converter.h"
#include "runtime/grammar/schema/json_string_chars.h"

namespace ggufd::grammar::schema {
namespace {

// Longest property name the additional-property key rule excludes (the rule
// is a trie, one level per character).
constexpr size_t kMaxExcludedNameLength = 256;

struct Member {
  Expr kv;
  bool required = false;
  bool repeated = false;  // additional properties: any number, at the end
  std::string label;
};

Expr Lit(std::u32string_view s) { return Literal(std::u32string(s)); }

}  // namespace

absl::StatusOr<Expr> SchemaConverter::VisitObject(const Json& schema,
                                                  const std::string& pointer,
                                                  const std::string& name,
                                                  int depth) {
  static const Json kEmptyObject = Json::object();
  const Json& properties =
      schema.contains("properties") ? schema["properties"] : kEmptyObject;
  if (!properties.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("properties at ", Where(pointer), " must be an object"));
  }
  std::vector<std::string> required;
  if (schema.contains("required")) {
    const Json& r = schema["required"];
    if (!r.is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "required at ", Where(pointer), " must be an array of strings"));
    }
    for (const Json& item : r) {
      if (!item.is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "required at ", Where(pointer), " must be an array of strings"));
      }
      std::string s = item.get<std::string>();
      if (std::find(required.begin(), required.end(), s) == required.end()) {
        required.push_back(std::move(s));
      }
    }
  }
  const Json* additional = schema.contains("additionalProperties")
                               ? &schema["additionalProperties"]
                               : nullptr;
  if (additional && !additional->is_boolean() && !additional->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("additionalProperties at ", Where(pointer),
                     " must be a boolean or a schema"));
  }
  bool additional_true =
      additional && additional->is_boolean() && additional->get<bool>();
  bool additional_false =
      additional && additional->is_boolean() && !additional->get<bool>();
  if (!schema.contains("properties") && required.empty() &&
      (!additional || additional_true)) {
    return Builtin("object");
  }

  std::set<std::string> required_set(required.begin(), required.end());
  std::vector<Member> members;
  std::vector<std::u32string> names;
  auto add_member = [&](const std::string& key, const Json& value_schema,
                        const std::string& value_pointer,
                        bool is_required) -> absl::StatusOr<bool> {
    std::string value_name = JoinName(name, key);
    absl::StatusOr<Expr> value =
        VisitNested(value_schema, value_pointer, value_name, depth + 1);
    if (!value.ok()) return value.status();
    names.push_back(DecodeUtf8(key));
    if (value->is_nothing()) return !is_required;
    Expr kv = Seq({LiteralUtf8(Json(key).dump()), Builtin("space"), Lit(U":"),
                   Builtin("space"), AsRule(value_name, *std::move(value))});
    members.push_back({Ref(builder_.AddRule(value_name + "-kv", std::move(kv))),
                       is_required, false, key});
    return true;
  };
  for (auto it = properties.begin(); it != properties.end(); ++it) {
    absl::StatusOr<bool> ok =
        add_member(it.key(), it.value(),
                   ChildPointer(ChildPointer(pointer, "properties"), it.key()),
                   required_set.contains(it.key()));
    if (!ok.ok()) return ok.status();
    if (!*ok) return Nothing();  // a required property nothing satisfies
  }
  // Required names without a declared schema take additionalProperties'.
  for (const std::string& key : required) {
    if (properties.contains(key)) continue;
    if (additional_false) return Nothing();
    static const Json kAny = true;
    const Json& value_schema =
        additional && additional->is_object() ? *additional : kAny;
    absl::StatusOr<bool> ok = add_member(
        key, value_schema, ChildPointer(pointer, "additionalProperties"), true);
    if (!ok.ok()) return ok.status();
    if (!*ok) return Nothing();
  }
  if (additional_true || (additional && additional->is_object())) {
    std::string sub = JoinName(name, "additional");
    absl::StatusOr<Expr> value =
        additional_true
            ? Builtin("value")
            : VisitNested(*additional,
                          ChildPointer(pointer, "additionalProperties"),
                          sub + "-value", depth + 1);
    if (!value.ok()) return value.status();
    if (!value->is_nothing()) {
      Expr key = Builtin("string");
      if (!names.empty()) {
        for (const std::u32string& n : names) {
          if (n.size() > kMaxExcludedNameLength) {
            return absl::InvalidArgumentError(absl::StrCat(
                "a property name at ", Where(pointer), " is longer than ",
                kMaxExcludedNameLength,
                " characters, too long to exclude from additionalProperties"));
          }
        }
        key = Ref(builder_.AddRule(sub + "-k", KeyNotIn(names)));
      }
      Expr kv = Seq({key, Lit(U":"), Builtin("space"),
                     AsRule(sub + "-value", *std::move(value))});
      members.push_back({Ref(builder_.AddRule(sub + "-kv", std::move(kv))),
                         false, true, "additional"});
    }
  }

  Expr open = Seq({Lit(U"{"), Builtin("space")});
  if (members.empty()) return Seq({open, Lit(U"}")});
  size_t n = members.size();
  auto comma = [&](const Expr& kv) {
    return Seq({Lit(U","), Builtin("space"), kv});
  };
  // tail[i]: members i.. after something has been written (each with its
  // leading comma). Tails of two or more members are rules, so that each is
  // written once however many alternatives lead into it.
  std::vector<Expr> tail(n + 1);
  tail[n] = Empty();
  for (size_t i = n; i-- > 0;) {
    const Member& m = members[i];
    Expr item = m.repeated   ? Repeat(comma(m.kv), 0, kUnbounded)
                : m.required ? comma(m.kv)
                             : Optional(comma(m.kv));
    Expr e = Seq({std::move(item), tail[i + 1]});
    tail[i] =
        (i > 0 && n - i >= 2)
            ? Ref(builder_.AddRule(
                  JoinName(name, members[i - 1].label + "-rest"), std::move(e)))
            : std::move(e);
  }
  // What may come first: each optional member up to and including the first
  // required one.
  std::vector<Expr> firsts;
  bool any_required = false;
  for (size_t i = 0; i < n; ++i) {
    const Member& m = members[i];
    firsts.push_back(m.repeated
                         ? Seq({m.kv, Repeat(comma(m.kv), 0, kUnbounded)})
                         : Seq({m.kv, tail[i + 1]}));
    if (m.required) {
      any_required = true;
      break;
    }
  }
  Expr content = Seq({Alt(std::move(firsts)), Builtin("space")});
  if (!any_required) content = Optional(std::move(content));
  return Seq({std::move(open), std::move(content), Lit(U"}")});
}

Expr SchemaConverter::KeyNotIn(const std::vector<std::u32string>& names) {
  struct Node {
    std::map<char32_t, size_t> children;
    bool end = false;
  };
  std::vector<Node> nodes(1);
  for (const std::u32string& n : names) {
    size_t at = 0;
    for (char32_t c : n) {
      auto it = nodes[at].children.find(c);
      if (it == nodes[at].children.end()) {
        nodes.push_back({});
        it = nodes[at].children.emplace(c, nodes.size() - 1).first;
      }
      at = it->second;
    }
    nodes[at].end = true;
  }
  Expr any_chars = Repeat(Builtin("char"), 0, kUnbounded);
  CodepointSet raw = JsonRawChars();
  // The rest of a key that has matched the path to `node` so far, such that
  // the whole key is none of the names: stop here (if the path is not a
  // name), continue along a name, or leave all names with a character no
  // name has next (then anything may follow).
  auto rest = [&](auto& self, size_t node) -> Expr {
    std::vector<Expr> alts;
    if (!nodes[node].end) alts.push_back(Empty());
    CodepointSet next;
    for (const auto& [c, child] : nodes[node].children) {
      next.Add(c);
      alts.push_back(
          Seq({JsonEncodedText(std::u32string(1, c)), self(self, child)}));
    }
    CodepointSet other = next.Complement();
    Expr escaped = JsonEncodedChar(other.Minus(raw));
    alts.push_back(Seq({Alt({Class(other.Intersect(raw)),
                             AsRule("escaped-char", std::move(escaped))}),
                        any_chars}));
    return Alt(std::move(alts));
  };
  return Seq({Lit(U"\""), rest(rest, 0), Lit(U"\"")});
}

}  // namespace ggufd::grammar::schema

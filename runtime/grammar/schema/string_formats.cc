#include "runtime/grammar/schema/string_formats.h"

#include <utility>

namespace ggufd::grammar::schema {
namespace {

Expr Lit(std::string_view ascii) {
  return Literal(std::u32string(ascii.begin(), ascii.end()));
}

Expr Chars(std::string_view ascii) {
  CodepointSet set;
  for (char c : ascii) set.Add(static_cast<char32_t>(c));
  return Class(std::move(set));
}

Expr Range(char lo, char hi) { return Class(CodepointSet::Of(lo, hi)); }

Expr Digit() { return Range('0', '9'); }

Expr Hex(int n) { return Repeat(Chars("0123456789abcdefABCDEF"), n, n); }

void DefineDate(GrammarBuilder* builder) {
  // Years 0001-9999 (0000 is not a valid date for most validators).
  Expr year = Alt({
      Seq({Range('1', '9'), Repeat(Digit(), 3, 3)}),
      Seq({Lit("0"), Range('1', '9'), Repeat(Digit(), 2, 2)}),
      Seq({Lit("00"), Range('1', '9'), Digit()}),
      Seq({Lit("000"), Range('1', '9')}),
  });
  // Two digits divisible by 4, other than 00.
  Expr by4_nonzero =
      Alt({Seq({Lit("0"), Chars("48")}), Seq({Chars("2468"), Chars("048")}),
           Seq({Chars("13579"), Chars("26")})});
  // Leap years: yy divisible by 4 and not 00, or yy00 with yy divisible by 4
  // (0000 excluded).
  Expr leap_year = Alt(
      {Seq({Digit(), Digit(), by4_nonzero}), Seq({by4_nonzero, Lit("00")})});
  Expr day_28 = Alt({Seq({Lit("0"), Range('1', '9')}), Seq({Lit("1"), Digit()}),
                     Seq({Lit("2"), Range('0', '8')})});
  Expr day_30 = Alt({Seq({Lit("0"), Range('1', '9')}),
                     Seq({Chars("12"), Digit()}), Lit("30")});
  Expr day_31 =
      Alt({Seq({Lit("0"), Range('1', '9')}), Seq({Chars("12"), Digit()}),
           Seq({Lit("3"), Chars("01")})});
  Expr month_day = Alt({
      Seq({Alt({Seq({Lit("0"), Chars("13578")}), Seq({Lit("1"), Chars("02")})}),
           Lit("-"), day_31}),
      Seq({Alt({Seq({Lit("0"), Chars("469")}), Lit("11")}), Lit("-"), day_30}),
      Seq({Lit("02-"), day_28}),
  });
  builder->AddFixedRule("date", Alt({Seq({year, Lit("-"), month_day}),
                                     Seq({leap_year, Lit("-02-29")})}));
}

void DefineTime(GrammarBuilder* builder) {
  Expr hour =
      Alt({Seq({Chars("01"), Digit()}), Seq({Lit("2"), Range('0', '3')})});
  Expr minute = Seq({Range('0', '5'), Digit()});
  builder->AddFixedRule(
      "time",
      Seq({hour, Lit(":"), minute, Lit(":"), minute,
           Optional(Seq({Lit("."), Repeat(Digit(), 3, 3)})),
           Alt({Lit("Z"), Seq({Chars("+-"), hour, Lit(":"), minute})})}));
}

}  // namespace

std::vector<std::string> StringFormatRuleNames() {
  return {"date", "time", "date-time", "uuid"};
}

std::string SupportedFormatsList() {
  return "date, time, date-time, uuid (also uuid1..uuid5)";
}

std::optional<Expr> StringFormatContent(std::string_view format,
                                        GrammarBuilder* builder) {
  if (format == "date") {
    DefineDate(builder);
    return Ref("date");
  }
  if (format == "time") {
    DefineTime(builder);
    return Ref("time");
  }
  if (format == "date-time") {
    DefineDate(builder);
    DefineTime(builder);
    builder->AddFixedRule("date-time",
                          Seq({Ref("date"), Lit("T"), Ref("time")}));
    return Ref("date-time");
  }
  if (format == "uuid" ||
      (format.size() == 5 && format.substr(0, 4) == "uuid" &&
       format[4] >= '1' && format[4] <= '5')) {
    builder->AddFixedRule(
        "uuid", Seq({Hex(8), Lit("-"), Hex(4), Lit("-"), Hex(4), Lit("-"),
                     Hex(4), Lit("-"), Hex(12)}));
    return Ref("uuid");
  }
  return std::nullopt;
}

}  // namespace ggufd::grammar::schema

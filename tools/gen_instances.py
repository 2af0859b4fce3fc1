#!/usr/bin/env python3
"""Generates include/ember/detail/instances.inc: explicit instantiations of ember's templates.

ember is header-only, so every user translation unit used to instantiate and compile
ember::mul<float>, ember::matmul<float>, their backward lambdas and kernels again. The .inc
lists those instantiations once; it is read twice:

  include/ember/detail/extern_instances.hpp   EMBER_INSTANCE(x) -> extern template x
      (included at the end of <ember/ember.hpp> when EMBER_EXTERN_TEMPLATES is defined, which
      the CMake target ember::ember does): user TUs stop instantiating them;
  src/instances_<shard>.cpp                   EMBER_INSTANCE(x) -> template x
      (the static library ember_instances): compiles them once, one shard per file.

How it works. Only headers reachable from <ember/ember.hpp> are read (the .inc is included at
its end, so everything it names must be declared there). They are tokenised with comments,
string literals and preprocessor lines blanked out, and walked with a stack of namespaces and
braces. At namespace scope, outside detail/cpu namespaces:
  - each `template <class T>` (or `typename T`) function in SCANNED_DIRS / SCANNED_FILES is
    parsed into return type, name and parameter types (names and default arguments dropped),
    and T is substituted with each type of TYPES that no static_assert forbids: the
    function's own, or those of scanned templates it calls (detail::check_activation, ...);
  - Tensor<T> is instantiated whole for TENSOR_CLASS_TYPES, and member by member (its
    out-of-class members in MEMBER_FILES) for TENSOR_MEMBER_TYPES;
  - class templates of ember that non-template classes in CLASS_DIRS derive from (Adam :
    AdamImpl<AdamOptions, false> : ParamGroupOptimizer<AdamOptions>) are instantiated whole.
Declarations seen twice (a forward declaration and the definition) are emitted once;
declarations without a definition in the scanned headers, templates of another form
(template <class T, class I>) and anything not parsed confidently are skipped and listed on
stderr. Every instance must then compile: building ember_instances checks that.

Usage:
  python3 tools/gen_instances.py           rewrite instances.inc (and list what was skipped)
  python3 tools/gen_instances.py --check   exit 1 if instances.inc is not what would be written
  python3 tools/gen_instances.py --stdout  print the generated file instead of writing it

Python 3 standard library only.
"""

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = os.path.join(ROOT, "include")
UMBRELLA = "ember/ember.hpp"
OUTPUT = os.path.join(INCLUDE, "ember", "detail", "instances.inc")

# Headers (relative to include/) whose templates are instantiated: the public op and loss
# functions. Not backend/ kernels or core/ internals: those are reached through the ops.
SCANNED_DIRS = ("ember/ops/", "ember/nn/functional/")
SCANNED_FILES = ("ember/nn/init.hpp", "ember/autograd/engine.hpp")
# Headers scanned for classes derived from a class template of ember with concrete arguments
# (class Adam : public AdamImpl<AdamOptions, false>): those template instances (and their own
# template bases, recursively) are instantiated whole, so the optimizers' shared code
# (ParamGroupOptimizer<Options>: state_dict, load_state_dict, ...) is compiled once.
CLASS_DIRS = ("ember/optim/", "ember/nn/")
# Class template instances never to instantiate whole (a member that does not compile for them).
CLASS_EXCLUDE = set()
# Headers scanned only for the out-of-class members of Tensor<T> (view, reshape, clone, ...,
# backward), for the types of TENSOR_MEMBER_TYPES.
MEMBER_FILES = ("ember/core/tensor_def.hpp", "ember/autograd/engine.hpp")

FLOAT = ["float", "double"]
COMPLEX = ["std::complex<float>", "std::complex<double>"]
INT = ["int64_t", "int32_t", "uint8_t", "bool"]

# Types per header (key: path relative to include/ember/), and per function within it ("*" is
# every function of the header). float and double everywhere; complex only where an op family
# is written for it; integers for sums. static_asserts found in the code still remove types
# (see allowed_types()).
DEFAULT_TYPES = FLOAT
TYPES = {
    "ops/arith.hpp": {"*": FLOAT + COMPLEX},
    "ops/reduce.hpp": {"sum": FLOAT + COMPLEX + INT, "mean": FLOAT + COMPLEX,
                       "sum_to": FLOAT + COMPLEX + INT},
    "ops/linalg.hpp": {"*": FLOAT + COMPLEX},
    "ops/unary.hpp": {"*": FLOAT + COMPLEX},
    "ops/complex.hpp": {"*": FLOAT + COMPLEX},
    "ops/fft.hpp": {"*": FLOAT + COMPLEX},
}

# Tensor<T> itself. `template class Tensor<T>` instantiates every member, which works where all
# of them compile for T: the engine and the optimizers visit every dtype, so nearly every
# program uses all of these. For complex, arange static_asserts, so only the out-of-class
# members (MEMBER_FILES) are instantiated, one by one.
TENSOR_CLASS_TYPES = ["float", "double"] + INT
TENSOR_MEMBER_TYPES = COMPLEX

# The source files of the static library, src/instances_<name>.cpp: each compiles the instances
# of its types ("classes": the class templates of CLASS_DIRS), so the library builds on several
# cores. Their position is the shard number used in the .inc and in the .cpp.
SHARDS = [
    ("float", ["float", "bool", "uint8_t"]),
    ("double", ["double", "int64_t", "int32_t"]),
    ("complex", ["std::complex<float>", "std::complex<double>", "classes"]),
]

# What a static_assert on T allows: predicate -> the types for which it holds. A static_assert
# whose condition is not one of these makes the function float/double only (and is reported).
ALL_TYPES = FLOAT + COMPLEX + INT
PREDICATES = {
    "std::is_floating_point_v<T>": set(FLOAT),
    "std::is_floating_point<T>::value": set(FLOAT),
    "!is_complex_v<T>": set(FLOAT + INT),
    "is_differentiable_v<T>": set(FLOAT + COMPLEX),
    "cpu::is_blas_type_v<T>": set(FLOAT + COMPLEX),
    "is_blas_type_v<T>": set(FLOAT + COMPLEX),
}

SKIPPED_NAMESPACES = {"detail", "cpu", "simd", "internal"}

HEADER = """\
// Generated by tools/gen_instances.py from the headers of <ember/ember.hpp>: do not edit.
// Regenerate with `python3 tools/gen_instances.py` after adding or changing an op template;
// the ctest test instances_up_to_date fails while this file is stale.
//
// Each line is EMBER_INSTANCE(declaration); the includer defines EMBER_INSTANCE (extern
// template in detail/extern_instances.hpp, template in src/instances_*.cpp) and
// EMBER_INSTANCE_SHARD(n), which selects the sections it wants.
"""


class ParseError(Exception):
    pass


# ---------------------------------------------------------------------- lexing


def blank_comments_and_strings(text):
    """The text with comments, preprocessor lines and literal contents replaced by spaces
    (newlines kept), so that offsets and line numbers stay valid."""
    out = list(text)
    i, n = 0, len(text)
    line_start = True

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if line_start and PREPROCESSOR_RE.match(text, i):
            j = i
            while j < n:  # a preprocessor line, with its continuations
                if text[j] == "\n" and text[j - 1] != "\\":
                    break
                j += 1
            blank(i, j)
            i = j
            continue
        line_start = False
        if c == "\n":
            line_start = True
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            blank(i, j)
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
            blank(i + 1, j - 1)
            i = j
        elif c == '"' or (c == "'" and not (i > 0 and text[i - 1].isalnum())):  # ' after a digit: 1'000
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, min(j, n))
            i = j + 1
        else:
            i += 1
    return "".join(out)


PREPROCESSOR_RE = re.compile(r"[ \t]*#")
TOKEN_RE = re.compile(
    r"\s+|(?P<tok>[A-Za-z_]\w*|\d[\w.']*(?:[eE][+-]\d+)?|\.\.\.|::|->|&&|\|\||[<>=!]=|\"[^\"]*\"|'[^']*'|\S)")


def tokenize(code):
    """[(token, line)]; '>>' comes out as two '>' so template brackets nest."""
    toks = []
    line = 1
    pos = 0
    for m in TOKEN_RE.finditer(code):
        line += code.count("\n", pos, m.start())
        pos = m.start()
        t = m.group("tok")
        if t:
            toks.append((t, line))
    return toks


def is_ident(t):
    return re.match(r"[A-Za-z_]\w*$", t) is not None


def join_tokens(toks):
    """C++ text from tokens: `const Tensor<float>&`, `std::vector<int64_t>`."""
    s = ""
    prev = ""
    for t in toks:
        glued = t in (",", ")", "]", "<", ">", "&", "*", "&&", "::", "(", "[") or prev in (
            "(", "[", "<", "::", "~", "operator")
        s += t if glued or not s else " " + t
        prev = t
    return s


# ---------------------------------------------------------------------- parsing


class Function:
    def __init__(self, header, line, namespace, ret, name, params, tail, has_body, body, owner=None):
        self.header = header  # relative to include/ember/
        self.owner = owner  # ["Tensor", "<", "T", ">"] for an out-of-class member, else None
        self.line = line
        self.namespace = namespace  # ("ember", "nn", "functional")
        self.ret = ret  # tokens
        self.name = name  # tokens ("operator", "+") or ("add",)
        self.params = params  # list of token lists (types only)
        self.tail = tail  # tokens after ')' (noexcept)
        self.has_body = has_body
        self.body = body  # tokens of the body, or []

    def key(self):
        return (self.namespace, join_tokens(self.owner or []), join_tokens(self.ret), join_tokens(self.name),
                tuple(join_tokens(p) for p in self.params), join_tokens(self.tail))

    def pretty(self):
        return "%s %s(%s)" % (join_tokens(self.ret), "::".join(self.namespace + (join_tokens(self.name),)),
                              ", ".join(join_tokens(p) for p in self.params))

    def declaration(self, type_name):
        def sub(toks):
            return [type_name if t == "T" else t for t in toks]

        name = join_tokens(self.name)
        if self.owner:  # Tensor<float>::view(Shape) const
            name = join_tokens(sub(self.owner)) + "::" + name
        else:  # add<float>(...); `operator< <float>` keeps its '<' apart from the argument list
            name += "%s<%s>" % (" " if name.endswith("<") or name.endswith(">") else "", type_name)
        decl = "%s %s(%s)" % (join_tokens(sub(self.ret)), name,
                              ", ".join(join_tokens(sub(p)) for p in self.params))
        if self.tail:
            decl += " " + join_tokens(self.tail)
        return decl


def matching(toks, i, open_t, close_t):
    """Index of the token closing toks[i] (== open_t), counting only open_t/close_t."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j][0] == open_t:
            depth += 1
        elif toks[j][0] == close_t:
            depth -= 1
            if depth == 0:
                return j
    raise ParseError("unbalanced %s" % open_t)


SPECIFIERS = {"inline", "constexpr", "static", "extern", "friend", "virtual", "explicit", "consteval"}
QUALIFIERS = {"const", "volatile", "struct", "class", "enum", "typename", "unsigned", "signed"}
TYPE_WORDS = {"int", "long", "short", "unsigned", "signed", "char", "bool", "float", "double",
              "void", "auto", "T", "const", "volatile", "wchar_t", "char8_t", "char16_t", "char32_t",
              "size_t", "int64_t", "int32_t", "uint8_t", "uint64_t"}


def split_top_level(toks, sep=","):
    """Splits at `sep` outside (), [], {} and <>; raises ParseError when brackets do not balance."""
    parts, cur, depth = [], [], 0
    for t in toks:
        if t in ("(", "[", "{", "<"):
            depth += 1
        elif t in (")", "]", "}", ">"):
            depth -= 1
            if depth < 0:
                raise ParseError("unbalanced brackets in a parameter list")
        if t == sep and depth == 0:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    if depth != 0:
        raise ParseError("unbalanced brackets in a parameter list")
    if cur or parts:
        parts.append(cur)
    return parts


def parameter_type(param):
    """The type of one parameter: default argument and name dropped."""
    depth = 0
    for k, t in enumerate(param):
        if t in ("(", "[", "{", "<"):
            depth += 1
        elif t in (")", "]", "}", ">"):
            depth -= 1
        elif t == "=" and depth == 0:
            param = param[:k]
            break
    if not param:
        raise ParseError("empty parameter")
    if "..." in param:
        raise ParseError("variadic parameter")
    if "(" in param or "[" in param:
        raise ParseError("function or array parameter '%s'" % join_tokens(param))
    last = param[-1]
    if len(param) > 1 and is_ident(last) and last not in TYPE_WORDS and param[-2] != "::" and \
            not all(t in QUALIFIERS for t in param[:-1]):  # `const Shape` has no name
        param = param[:-1]
    return param


def parse_declaration(decl):
    """(ret, name, params, tail) of a function declaration (tokens up to, not including, the
    body or ';'); raises ParseError where not confident, returns None for non-functions."""
    words = [t for t, _ in decl]
    if not words:
        return None
    if words[0] in ("struct", "class", "union", "using", "concept", "enum"):
        return None
    while words and words[0] == "[":  # [[nodiscard]] and other attributes
        words = words[matching([(w, 0) for w in words], 0, "[", "]") + 1:]
    while words and words[0] in SPECIFIERS:
        if words[0] in ("static", "friend", "extern"):
            raise ParseError("'%s' function template" % words[0])
        words = words[1:]
    if "=" in words and "(" not in words:
        return None  # a variable template
    if "decltype" in words or "requires" in words or "->" in words:
        raise ParseError("decltype, requires clause or trailing return type")
    # The parameter list: the first '(' outside template brackets.
    depth, open_i = 0, None
    for k, t in enumerate(words):
        if t == "<":
            depth += 1
        elif t == ">":
            depth -= 1
        elif t == "(" and depth == 0:
            if k > 0 and words[k - 1] == "operator":  # operator()
                continue
            open_i = k
            break
    if open_i is None or "=" in words[:open_i]:
        return None  # not a function (a variable template initialised with a call)
    close_i = matching([(w, 0) for w in words], open_i, "(", ")")
    head, params, tail = words[:open_i], words[open_i + 1:close_i], words[close_i + 1:]
    owner = None
    if len(head) >= 3 and head[-2] == "::":
        # An out-of-class member definition: R Owner<T>::name(...) [const].
        if head[-3] != ">":
            return None
        k = len(head) - 3
        depth = 0
        while k >= 0:
            depth += {">": 1, "<": -1}.get(head[k], 0)
            if depth == 0:
                break
            k -= 1
        if k < 1 or not is_ident(head[k - 1]) or (k >= 2 and head[k - 2] == "::"):
            return None
        owner = head[k - 1:len(head) - 2]
        head = head[:k - 1] + head[-1:]
    if any(t not in (("noexcept", "const") if owner else ("noexcept",)) for t in tail):
        raise ParseError("unexpected '%s' after the parameter list" % " ".join(tail))
    # Name: an identifier, or `operator` and its symbol.
    if "operator" in head:
        k = head.index("operator")
        name, ret = head[k:], head[:k]
        if len(name) < 2 or any(is_ident(t) for t in name[1:]):
            raise ParseError("conversion operator or odd operator name")
    else:
        if not head or not is_ident(head[-1]) or head[-1] in TYPE_WORDS:
            raise ParseError("no function name before '('")
        name, ret = head[-1:], head[:-1]
    if not ret:
        raise ParseError("no return type")
    if "auto" in ret:
        raise ParseError("deduced return type")
    if "<" in name[1:] and name[0] != "operator":
        raise ParseError("explicit specialisation")
    split_top_level(ret)  # brackets of the return type must balance
    param_list = [] if params in ([], ["void"]) else [parameter_type(p) for p in split_top_level(params)]
    return ret, name, param_list, tail, owner


class ClassDecl:
    def __init__(self, header, line, namespace, name, tparams, bases):
        self.header = header
        self.line = line
        self.namespace = namespace
        self.name = name
        self.tparams = tparams  # parameter names of a class template, None for a class
        self.bases = bases  # [(template name, [argument token lists])] of template-id bases


def class_head(words):
    """(name, [(base template name, [argument token lists])]) of `class X : public B<A, b>`
    (words from `class`/`struct` to the body's '{'), or None."""
    if len(words) < 2 or not is_ident(words[1]):
        return None
    name = words[1]
    rest = [w for w in words[2:] if w != "final"]
    bases = []
    if rest and rest[0] == ":":
        try:
            for base in split_top_level(rest[1:]):
                base = [w for w in base if w not in ("public", "protected", "private", "virtual")]
                if "<" in base and base[-1] == ">" and all(is_ident(w) for w in base[:base.index("<")]):
                    k = base.index("<")
                    bases.append((base[k - 1], split_top_level(base[k + 1:-1])))
        except ParseError:
            return None
    return name, bases


def parameter_names(tparams):
    """['Options', 'Decoupled'] from the tokens of `class Options, bool Decoupled = false`."""
    names = []
    for p in split_top_level(tparams):
        if "=" in p:
            p = p[:p.index("=")]
        if not p or not is_ident(p[-1]):
            return None
        names.append(p[-1])
    return names


def parse_header(rel, notes, functions=True, members=False, classes=None):
    """Function templates of one header (rel: path relative to include/ember/): free functions
    and/or out-of-class members of Tensor<T>. Class (template) declarations with template-id
    bases are appended to `classes` when it is a list."""
    path = os.path.join(INCLUDE, "ember", rel)
    with open(path, encoding="utf-8") as f:
        code = blank_comments_and_strings(f.read())
    toks = tokenize(code)
    funcs = []
    stack = []  # ("ns", name) or ("block", None)
    i, n = 0, len(toks)

    def at_namespace_scope():
        return all(kind == "ns" for kind, _ in stack)

    def namespace():
        names = []
        for _, name in stack:
            names.extend(name.split("::") if name else ["(anonymous)"])
        return tuple(names)

    while i < n:
        t, line = toks[i]
        if t == "namespace" and at_namespace_scope():
            j = i + 1
            name = []
            while j < n and toks[j][0] != "{" and toks[j][0] != ";" and toks[j][0] != "=":
                name.append(toks[j][0])
                j += 1
            if j < n and toks[j][0] == "{":
                stack.append(("ns", "".join(t for t in name if t != "inline")))
                i = j + 1
                continue
            i = j + 1  # namespace alias
            continue
        if t in ("class", "struct") and at_namespace_scope() and classes is not None and (
                i == 0 or toks[i - 1][0] not in ("enum", "friend")):
            j = i
            while j < n and toks[j][0] not in ("{", ";", "(", "="):
                j += 1
            if j < n and toks[j][0] == "{":
                head = class_head([x for x, _ in toks[i:j]])
                if head and head[1]:
                    classes.append(ClassDecl(rel, line, namespace(), head[0], None, head[1]))
            i = j
            continue
        if t == "{":
            stack.append(("block", None))
        elif t == "}":
            if not stack:
                raise ParseError("%s:%d: unbalanced '}'" % (rel, line))
            stack.pop()
        elif t == "template" and at_namespace_scope() and i + 1 < n and toks[i + 1][0] == "<":
            close = matching(toks, i + 1, "<", ">")
            tparams = [x for x, _ in toks[i + 2:close]]
            # The declaration: up to ';' or the body's '{' outside parentheses.
            j, paren = close + 1, 0
            while j < n:
                x = toks[j][0]
                if x in ("(", "["):
                    paren += 1
                elif x in (")", "]"):
                    paren -= 1
                elif paren == 0 and x in (";", "{"):
                    break
                j += 1
            decl = toks[close + 1:j]
            has_body = j < n and toks[j][0] == "{"
            body_end = matching(toks, j, "{", "}") if has_body else j
            ns = namespace()
            where = "%s:%d" % (rel, line)
            if decl and decl[0][0] == "template":
                pass  # a member template defined out of class, or nested template headers
            elif decl and decl[0][0] in ("class", "struct"):
                head = class_head([x for x, _ in decl]) if has_body else None
                names = parameter_names(tparams)
                if head and names and classes is not None:
                    classes.append(ClassDecl(rel, line, ns, head[0], names, head[1]))
            else:
                try:
                    parsed = parse_declaration(decl)
                except ParseError as e:
                    parsed = e
                if parsed is not None:
                    body = [x for x, _ in toks[j + 1:body_end]] if has_body else []
                    simple = tparams in (["class", "T"], ["typename", "T"])
                    public = not (set(ns) & SKIPPED_NAMESPACES)
                    if isinstance(parsed, ParseError):
                        if simple and public:
                            notes.append("%s: skipped: %s" % (where, parsed))
                    elif not simple:
                        if public and functions:
                            notes.append("%s: skipped %s: template <%s> is not template <class T>"
                                         % (where, join_tokens(parsed[1]), join_tokens(tparams)))
                    else:
                        ret, name, params, tail, owner = parsed
                        if owner is None and functions or owner == ["Tensor", "<", "T", ">"] and members:
                            f = Function(rel, line, ns, ret, name, params, tail, has_body, body, owner)
                            f.public = public
                            funcs.append(f)
            i = body_end + 1
            continue
        i += 1
    if stack:
        raise ParseError("%s: unbalanced braces at the end of the file" % rel)
    return funcs


# ---------------------------------------------------------------------- types


def static_assert_conditions(body):
    """The conditions (joined tokens) of the static_asserts in a body that mention T."""
    conds = []
    for k, t in enumerate(body):
        if t == "static_assert" and k + 1 < len(body) and body[k + 1] == "(":
            close = matching([(x, 0) for x in body], k + 1, "(", ")")
            args = split_top_level(body[k + 2:close])
            if args and "T" in args[0]:
                conds.append(join_tokens(args[0]).replace("! ", "!"))
    return conds


def called_functions(body):
    """{(qualifier, name)} called as free functions in a body: `f(`, `f<`, `detail::f(` (with
    qualifier ("detail",)); not `x.f(` or `p->f(`."""
    calls = set()
    for k, t in enumerate(body[:-1]):
        if not (is_ident(t) and body[k + 1] in ("(", "<")) or k > 0 and body[k - 1] in (".", "->"):
            continue
        qual, j = [], k
        while j >= 2 and body[j - 1] == "::" and is_ident(body[j - 2]):
            qual.insert(0, body[j - 2])
            j -= 2
        calls.add((tuple(qual), t))
    return calls


def may_call(f, qual, g):
    """Whether a call to qual::name in f can resolve to g (whose name is `name`): unqualified,
    g is in f's namespace or an enclosing one; qualified, g's namespace ends with qual."""
    if qual:
        return g.namespace[-len(qual):] == qual
    return f.namespace[:len(g.namespace)] == g.namespace


def allowed_types(funcs, notes):
    """For each function (by id), the types its static_asserts allow, and those of the scanned
    function templates it calls (e.g. detail::check_activation), matched by name: a helper of
    another namespace with the same name can only remove types, never add a wrong one."""
    by_name = {}
    for f in funcs:
        by_name.setdefault(f.name[-1], []).append(f)
    own = {}
    for f in funcs:
        allowed = set(ALL_TYPES)
        for cond in static_assert_conditions(f.body):
            if cond in PREDICATES:
                allowed &= PREDICATES[cond]
            else:
                if f.public:
                    notes.append("%s:%d: %s: unknown static_assert condition '%s': float/double only"
                                 % (f.header, f.line, join_tokens(f.name), cond))
                allowed &= set(FLOAT)
        own[id(f)] = allowed
    # Propagate through calls, until nothing changes.
    result = dict(own)
    calls = {id(f): called_functions(f.body) for f in funcs}
    changed = True
    while changed:
        changed = False
        for f in funcs:
            for qual, name in calls[id(f)]:
                for g in by_name.get(name, []):
                    if g is f or not may_call(f, qual, g):
                        continue
                    new = result[id(f)] & result[id(g)]
                    if new != result[id(f)]:
                        result[id(f)] = new
                        changed = True
    return result


def class_instances(classes, notes):
    """[(namespace, "AdamImpl<AdamOptions, false>", header)]: the class template instances that
    non-template classes derive from, directly or through other templates of ours."""
    templates = {(c.namespace, c.name): c for c in classes if c.tparams is not None}
    out, seen = [], set()

    def lookup(ns, name):
        for k in range(len(ns), 0, -1):
            if (ns[:k], name) in templates:
                return templates[(ns[:k], name)]
        return None

    def add(ns, name, args, where):
        tmpl = lookup(ns, name)
        if tmpl is None:
            return  # not a template of ember (std::enable_shared_from_this<X>, ...)
        text = "%s<%s>" % (name, ", ".join(join_tokens(a) for a in args))
        if tmpl.namespace != ns:
            notes.append("%s: skipped class %s: its template is in namespace %s"
                         % (where, text, "::".join(tmpl.namespace)))
            return
        if text in CLASS_EXCLUDE or (ns, text) in seen:
            return
        if len(args) != len(tmpl.tparams):
            notes.append("%s: skipped class %s: %d template arguments for %d parameters"
                         % (where, text, len(args), len(tmpl.tparams)))
            return
        seen.add((ns, text))
        out.append((ns, text, tmpl.header))
        subst = dict(zip(tmpl.tparams, args))
        for base, base_args in tmpl.bases:
            new_args = [[x for w in a for x in subst.get(w, [w])] for a in base_args]
            add(tmpl.namespace, base, new_args, "%s:%d" % (tmpl.header, tmpl.line))

    for c in classes:
        if c.tparams is None:
            for base, args in c.bases:
                add(c.namespace, base, args, "%s:%d" % (c.header, c.line))
    return out


def types_for(f):
    if f.owner:
        return TENSOR_MEMBER_TYPES
    table = TYPES.get(f.header, {})
    name = join_tokens(f.name)
    return table.get(name, table.get("*", DEFAULT_TYPES))


# ---------------------------------------------------------------------- headers


def umbrella_closure():
    """Headers (relative to include/) reachable from <ember/ember.hpp>, in include order."""
    seen, order, missing = set(), [], []

    def visit(rel):
        if rel in seen:
            return
        seen.add(rel)
        path = os.path.join(INCLUDE, rel)
        if not os.path.exists(path):
            missing.append(rel)
            return
        order.append(rel)
        with open(path, encoding="utf-8") as f:
            for m in re.finditer(r"^\s*#\s*include\s*<(ember/[^>]+)>", f.read(), re.M):
                if m.group(1) != "ember/detail/extern_instances.hpp":
                    visit(m.group(1))

    visit(UMBRELLA)
    return order, missing


def check_shard_sources():
    """Each shard needs its src/instances_<name>.cpp (selecting that shard and no other), or its
    extern declarations would have no definitions: a link error in every user program."""
    src = os.path.join(ROOT, "src")
    expected = {"instances_%s.cpp" % name: k for k, (name, _) in enumerate(SHARDS)}
    present = sorted(f for f in os.listdir(src) if f.startswith("instances_")) if os.path.isdir(src) else []
    errors = []
    for f, k in expected.items():
        path = os.path.join(src, f)
        if not os.path.exists(path):
            errors.append("src/%s is missing (it must compile shard %d)" % (f, k))
            continue
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if "#define EMBER_INSTANCE_SHARD(n) ((n) == %d)" % k not in text:
            errors.append("src/%s does not define EMBER_INSTANCE_SHARD(n) as ((n) == %d)" % (f, k))
    for f in present:
        if f not in expected:
            errors.append("src/%s is not one of the shards of SHARDS" % f)
    if errors:
        raise ParseError("; ".join(errors))


def generate():
    check_shard_sources()
    notes = []
    headers, missing = umbrella_closure()
    for rel in missing:
        notes.append("%s: included by the umbrella header but missing: not scanned" % rel)
    scanned = sorted(h for h in headers if h.startswith(SCANNED_DIRS + CLASS_DIRS)
                     or h in SCANNED_FILES or h in MEMBER_FILES)
    funcs, classes = [], []
    for rel in scanned:
        funcs.extend(parse_header(rel[len("ember/"):], notes,
                                  functions=rel.startswith(SCANNED_DIRS) or rel in SCANNED_FILES,
                                  members=rel in MEMBER_FILES,
                                  classes=classes if rel.startswith(CLASS_DIRS) else None))
    allowed = allowed_types(funcs, notes)

    # One entry per signature; the definition decides the header (for the type table).
    entries = {}
    order = []
    for f in funcs:
        if not f.public:
            continue
        k = f.key()
        if k not in entries:
            entries[k] = []
            order.append(k)
        entries[k].append(f)
    chosen = []
    for k in order:
        defs = [f for f in entries[k] if f.has_body]
        if not defs:
            f = entries[k][0]
            notes.append("%s:%d: skipped %s: declared but not defined in a scanned header"
                         % (f.header, f.line, f.pretty()))
            continue
        chosen.append(defs[0])

    # Shard -> namespace -> header -> lines.
    shard_of = {}
    for s, (_, types) in enumerate(SHARDS):
        for t in types:
            shard_of[t] = s
    sections = {}
    for f in sorted(chosen, key=lambda f: (f.header, f.line)):
        wanted = types_for(f)
        ok = [t for t in wanted if t in allowed[id(f)]]
        dropped = [t for t in wanted if t not in allowed[id(f)]]
        if dropped:
            notes.append("%s:%d: %s: not for %s (static_assert)"
                         % (f.header, f.line, join_tokens(f.name), ", ".join(dropped)))
        for t in ok:
            sections.setdefault(shard_of[t], {}).setdefault(f.namespace, {}).setdefault(
                f.header, []).append("EMBER_INSTANCE(%s);" % f.declaration(t))
    for t in reversed(TENSOR_CLASS_TYPES):
        sections.setdefault(shard_of[t], {}).setdefault(("ember",), {}).setdefault(
            "core/tensor_def.hpp", []).insert(0, "EMBER_INSTANCE(class Tensor<%s>);" % t)

    for ns, text, header in class_instances(classes, notes):
        sections.setdefault(shard_of["classes"], {}).setdefault(ns, {}).setdefault(
            header, []).append("EMBER_INSTANCE(class %s);" % text)

    out = [HEADER]
    count = 0
    for s, (shard_name, types) in enumerate(SHARDS):
        out.append("// %s\n" % ("-" * 90))
        out.append("// Shard %d (src/instances_%s.cpp): %s\n" % (s, shard_name, ", ".join(types)))
        out.append("#if EMBER_INSTANCE_SHARD(%d)\n" % s)
        for ns in sorted(sections.get(s, {})):
            out.append("namespace %s {\n" % "::".join(ns))
            for header in sorted(sections[s][ns]):
                out.append("// %s\n" % header)
                for line in sections[s][ns][header]:
                    out.append(line + "\n")
                    count += 1
            out.append("}  // namespace %s\n" % "::".join(ns))
        out.append("#endif\n")
    return "".join(out), notes, scanned, count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if %s is out of date" % os.path.relpath(OUTPUT, ROOT))
    ap.add_argument("--stdout", action="store_true", help="print the file instead of writing it")
    ap.add_argument("-q", "--quiet", action="store_true", help="do not list what was skipped")
    args = ap.parse_args()
    try:
        text, notes, scanned, count = generate()
    except ParseError as e:
        print("gen_instances.py: error: %s" % e, file=sys.stderr)
        return 2
    if not args.quiet:
        for note in notes:
            print("gen_instances.py: %s" % note, file=sys.stderr)
    rel_out = os.path.relpath(OUTPUT, ROOT)
    if args.stdout:
        sys.stdout.write(text)
        return 0
    old = None
    if os.path.exists(OUTPUT):
        with open(OUTPUT, encoding="utf-8") as f:
            old = f.read()
    if args.check:
        if old != text:
            print("gen_instances.py: %s is out of date (the op headers changed): run "
                  "`python3 tools/gen_instances.py` and rebuild" % rel_out, file=sys.stderr)
            return 1
        print("gen_instances.py: %s is up to date (%d instances from %d headers)"
              % (rel_out, count, len(scanned)))
        return 0
    if old != text:
        os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
        with open(OUTPUT, "w", encoding="utf-8") as f:
            f.write(text)
        print("gen_instances.py: wrote %s (%d instances from %d headers)" % (rel_out, count, len(scanned)))
    else:
        print("gen_instances.py: %s unchanged (%d instances)" % (rel_out, count))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Rewrites a CUDA source (.cu/.cuh) into C++ for the CPU emulation, keeping line numbers:
  kernel<<<cfg>>>(args);                 -> ::emu::launch(::emu::cfg(cfg), [&]{ kernel(args); }, __FILE__, __LINE__);
  reinterpret_cast<const void*>(&k<...>) -> ::emu::kernel_ptr(&k<...>)
  extern __shared__ ... name[];          -> #define name (reinterpret_cast<T*>(::emu::dyn_smem()))
  asm volatile("mma.sync...m16n8k16...")  -> ::emu::mma16816(d, a, b, bf, __LINE__);
  asm volatile("prefetch.global.L1 [%0];" ::"l"(p)) -> ::emu::prefetch(p, __LINE__);
  while (...volatile...) { }             -> while (...) { ::emu::spin_yield(); }
usage: pp.py in out
"""
import re
import sys


def match_forward(s, i, open_c, close_c):
    depth = 0
    j = i
    while j < len(s):
        if s[j] == open_c:
            depth += 1
        elif s[j] == close_c:
            depth -= 1
            if depth == 0:
                return j
        j += 1
    raise ValueError("unbalanced at %d" % i)


def rewrite_launches(s):
    out = []
    pos = 0
    while True:
        i = s.find("<<<", pos)
        if i < 0:
            out.append(s[pos:])
            break
        # kernel expression: back over whitespace, a template argument list, then a name
        j = i
        while j > 0 and s[j - 1].isspace():
            j -= 1
        k = j
        if s[k - 1] == ">":
            depth = 0
            k -= 1
            while True:
                if s[k] == ">":
                    depth += 1
                elif s[k] == "<":
                    depth -= 1
                    if depth == 0:
                        break
                k -= 1
        while k > 0 and (s[k - 1].isalnum() or s[k - 1] in "_:"):
            k -= 1
        kernel = s[k:j]
        e = s.find(">>>", i)
        cfg = s[i + 3:e]
        p = e + 3
        while s[p].isspace():
            p += 1
        assert s[p] == "(", s[i - 40:p + 10]
        q = match_forward(s, p, "(", ")")
        args = s[p + 1:q]
        # keep the statement's line count
        original = s[k:q + 1]
        nl = original.count("\n")
        repl = "::emu::launch(::emu::cfg(%s), [&]() { %s(%s); }, __FILE__, __LINE__)" % (
            " ".join(cfg.split()), kernel.strip(), " ".join(args.split()))
        out.append(s[pos:k])
        out.append(repl + "\n" * nl)
        pos = q + 1
    return "".join(out)


def rewrite_kernel_ptrs(s):
    out = []
    pos = 0
    key = "reinterpret_cast<const void*>("
    while True:
        i = s.find(key, pos)
        if i < 0:
            out.append(s[pos:])
            break
        p = i + len(key) - 1
        q = match_forward(s, p, "(", ")")
        inner = s[p + 1:q].strip()
        if inner.startswith("&"):
            out.append(s[pos:i])
            out.append("::emu::kernel_ptr(%s, \"%s\")" % (inner, " ".join(inner[1:].split())) + "\n" * s[i:q + 1].count("\n"))
        else:
            out.append(s[pos:q + 1])
        pos = q + 1
    return "".join(out)


def rewrite_extern_shared(s):
    def repl(m):
        typ, name = m.group(1).strip(), m.group(2)
        return "#define %s (reinterpret_cast<%s*>(::emu::dyn_smem()))" % (name, typ)

    return re.sub(r"extern\s+__shared__\s+(?:__align__\(\d+\)\s+)?([\w\s:]+?)\s+(\w+)\[\]\s*;", repl, s)


def rewrite_asm(s):
    out = []
    pos = 0
    while True:
        i = s.find("asm volatile(", pos)
        if i < 0:
            out.append(s[pos:])
            break
        p = i + len("asm volatile")
        q = match_forward(s, p, "(", ")")
        body = s[p:q + 1]
        end = s.find(";", q + 1)
        prefetch = re.match(r'\(\s*"prefetch\.global\.L[12] \[%0\];"\s*::\s*"l"\((.+)\)\s*\)$', body,
                            re.S)
        if prefetch:  # a hint: the emulation checks the address and does nothing
            call = "::emu::prefetch(%s, __LINE__);" % prefetch.group(1)
        elif "mma.sync.aligned.m16n8k16.row.col.f32" in body:
            bf = "true" if ".bf16.bf16" in body else "false"
            call = "::emu::mma16816(d, a, b, %s, __LINE__);" % bf
        else:
            raise SystemExit("unknown asm: " + body[:200])
        out.append(s[pos:i])
        out.append(call + "\n" * s[i:end + 1].count("\n"))
        pos = end + 1
    return "".join(out)


def rewrite_spins(s):
    return re.sub(r"(while\s*\([^;{]*volatile[^;{]*\)\s*)\{(\s*)\}", r"\1{ ::emu::spin_yield();\2}", s)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    s = open(src).read()
    n0 = s.count("\n")
    s = rewrite_launches(s)
    s = rewrite_kernel_ptrs(s)
    s = rewrite_extern_shared(s)
    s = rewrite_asm(s)
    s = rewrite_spins(s)
    assert s.count("\n") == n0, (src, n0, s.count("\n"))
    with open(dst, "w") as f:
        f.write('#line 1 "%s"\n' % src)
        f.write(s)


main()

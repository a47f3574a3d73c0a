"""The model's own code: the ``forward`` of its stem, its first block and that block's parts.

The functions come from the installed library through ``inspect`` at profile time — the code that
ran, not a copy — together with the facts a reader needs next to them: where they live (package,
version, file, lines, the repository tag of that version), the shapes the recorder saw for the
``self.<child>(...)`` calls of each line, and which way every ``if`` went in this model.

Which branch ran is measured, not guessed: one extra forward runs under ``sys.settrace`` limited to
the snippets' code objects and records the lines each module instance executed (the dispatch
recorder sees aten ops, not Python lines; coverage.py would do the same job with a dependency
and a global tracer for the whole process).
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import inspect
import json
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import torch

from vitnotes.analysis.recorder import Recording
from vitnotes.analysis.report import CodeBranch, CodeFacts, CodeSnippet, ShapeNote

STEM_NAMES = ("patch_embed", "stem", "conv_stem")
# torch.nn classes that may be the base of a model's own composite module (anything else from torch
# makes a module a built-in layer: timm's LayerNorm(nn.LayerNorm), BatchNormAct2d(nn.BatchNorm2d)).
_PLAIN_BASES = (torch.nn.Module, torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict)
_PLAIN_VALUES = (bool, int, float, str, type(None))
_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass
class _Target:
    path: str  # module path of the instance shown
    role: str
    module: torch.nn.Module
    functions: list[Callable] = field(default_factory=list)


def code_facts(model: torch.nn.Module, x: torch.Tensor, rec: Recording,
               shape_of: Callable[[str], str], first_block: str | None) -> CodeFacts:
    """Snippets for the stem, ``first_block`` and its own composite children of ``model``.

    ``x`` is the input the recorder used (meta or CPU), ``rec`` its recording, ``shape_of(path)``
    the symbolic output shape of a recorded module (the shape table's strings).
    """
    facts = CodeFacts(block=first_block or "")
    targets, seen = [], set()
    for t in _targets(model, first_block):
        if type(t.module) not in seen and _add_functions(t, facts):  # one snippet per class
            targets.append(t)
            seen.add(type(t.module))
    if not targets:
        return facts
    lines = _executed_lines(model, x, [fn for t in targets for fn in t.functions], tuple(seen))
    names = {id(m): n for n, m in model.named_modules()}
    for t in targets:
        for fn in t.functions:
            facts.snippets.append(_snippet(t, fn, lines.get(fn.__code__, {}), rec, shape_of, names))
    return facts


# ---------------------------------------------------------------- which modules


def own_class(module: torch.nn.Module) -> bool:
    """True for a composite module whose class is the library's own, not a torch.nn layer."""
    cls = type(module)
    if cls.__module__.split(".")[0] == "torch":
        return False
    if any(base.__module__.split(".")[0] == "torch" and base not in _PLAIN_BASES and base is not object
           for base in cls.__mro__):
        return False
    return any(True for _ in module.children())


def _targets(model, first_block: str | None) -> list[_Target]:
    out = []
    for name in STEM_NAMES:
        stem = getattr(model, name, None)
        if isinstance(stem, torch.nn.Module) and own_class(stem):
            out.append(_Target(name, "stem", stem))
            break
    if first_block:
        block = model.get_submodule(first_block)
        if own_class(block):
            out.append(_Target(first_block, "block", block))
        out.extend(_Target(f"{first_block}.{n}", n, c) for n, c in block.named_children() if own_class(c))
    return out


def _add_functions(t: _Target, facts: CodeFacts) -> bool:
    """``forward`` and the helper methods it calls as ``self.<name>(...)``; False without source."""
    cls = type(t.module)
    fwd = inspect.unwrap(cls.forward)
    if (getattr(fwd, "__module__", None) or "").split(".")[0] == "torch":  # a Sequential subclass: torch's loop
        return False
    try:
        tree = _parse(inspect.getsource(fwd))
    except (OSError, TypeError, SyntaxError) as exc:
        facts.missing.append([t.path, f"{cls.__module__}.{cls.__qualname__}", _why(exc)])
        return False
    t.functions.append(fwd)
    children = dict(t.module.named_children())
    for name in _self_calls(tree):
        found = getattr(cls, name, None) if name not in children else None
        helper = inspect.unwrap(found) if callable(found) else None
        if inspect.isfunction(helper) and not (helper.__module__ or "").startswith("torch") \
                and helper not in t.functions:
            try:
                inspect.getsource(helper)
            except (OSError, TypeError):
                continue
            t.functions.append(helper)
    return True


def _why(exc: Exception) -> str:
    if isinstance(exc, SyntaxError):
        return "its source does not parse on its own"
    return "no Python source (" + (str(exc).splitlines()[0] if str(exc) else type(exc).__name__) + ")"


def _parse(source: str) -> ast.Module:
    return ast.parse(textwrap.dedent(source))


def _self_calls(tree: ast.AST) -> list[str]:
    """Names ``n`` of every ``self.n(...)`` call, in source order, once each."""
    seen: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _self_attr(node.func):
            seen[node.func.attr] = None
    return list(seen)


def _self_attr(node: ast.AST) -> TypeGuard[ast.Attribute]:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


# ---------------------------------------------------------------- which lines ran


def _executed_lines(model, x, functions: list[Callable], classes: tuple[type, ...]) -> dict[Any, dict[int, set[int]]]:
    """code object -> id(self) -> line numbers executed there, from one no-grad forward.

    Tracing is on only while a module of a snippet's class runs its own code: global module hooks
    switch it off inside any other module (its Linear, its norms) and back on after, so the
    interpreter's slow tracing mode covers little more than the snippets themselves.
    """
    codes = {fn.__code__ for fn in functions}
    seen: dict[Any, dict[int, set[int]]] = {c: {} for c in codes}
    previous = sys.gettrace()

    def on_call(frame, event, arg):
        if frame.f_code in codes and "self" in frame.f_code.co_varnames[:1]:
            lines = seen[frame.f_code].setdefault(id(frame.f_locals["self"]), set())

            def on_line(frame, event, arg):
                if event == "line":
                    lines.add(frame.f_lineno)
                return on_line
            return on_line
        return previous(frame, event, arg) if previous is not None else None

    stack: list[bool] = []

    def enter(module, args):
        stack.append(isinstance(module, classes))
        sys.settrace(on_call if stack[-1] else previous)

    def leave(module, args, output):
        if stack:
            stack.pop()
        sys.settrace(on_call if stack and stack[-1] else previous)

    hooks = [torch.nn.modules.module.register_module_forward_pre_hook(enter),
             torch.nn.modules.module.register_module_forward_hook(leave)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
        sys.settrace(previous)
    return seen


# ---------------------------------------------------------------- one snippet


def _snippet(t: _Target, fn: Callable, ran: dict[int, set[int]], rec: Recording,
             shape_of: Callable[[str], str], names: dict[int, str]) -> CodeSnippet:
    cls = type(t.module)
    lines, start = inspect.getsourcelines(fn)
    source = inspect.getsource(fn)
    origin = _origin(fn)
    tree = _parse(source)
    executed = ran.get(id(t.module), set())
    paths = {names[i]: done for i, done in ran.items() if i in names}
    return CodeSnippet(
        qualname=fn.__qualname__, cls=f"{cls.__module__}.{cls.__qualname__}", role=t.role, module=t.path,
        instances=len(paths), path=origin["path"], start=start, end=start + len(lines) - 1, source=source,
        package=origin["package"], version=origin["version"], repo=origin["repo"], ref=origin["ref"],
        bases=[_base_name(b) for b in cls.__bases__],
        attributes=_attributes(t.module), layers=_layers(t.module),
        shapes=_shape_notes(tree, start, executed, t, rec, shape_of),
        branches=_branches(tree, start, paths, t.module, lines),
    )


def _base_name(base: type) -> str:
    if base.__module__.startswith("torch.nn"):
        return f"nn.{base.__qualname__}"
    return base.__qualname__


def _attributes(module: torch.nn.Module) -> list[list[str]]:
    """Plain settings of the instance (num_heads, scale, fused_attn, ...), as the code reads them."""
    out = []
    for name, value in vars(module).items():
        if name.startswith("_") or name == "training":
            continue
        if isinstance(value, _PLAIN_VALUES) or (
                isinstance(value, tuple) and len(value) <= 4 and all(isinstance(v, _PLAIN_VALUES) for v in value)):
            out.append([name, _value_text(value)])
    return out


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def _layers(module: torch.nn.Module) -> list[list[str]]:
    return [[name, type(child).__name__, child.extra_repr()] for name, child in module.named_children()]


def _shape_notes(tree: ast.Module, start: int, executed: set[int], t: _Target, rec: Recording,
                 shape_of: Callable[[str], str]) -> list[ShapeNote]:
    """Certain shapes only: a child called once in the function, outside any loop, on a line that
    ran for this instance, whose recorded output is one tensor."""
    children = dict(t.module.named_children())
    sites: dict[str, list[tuple[int, bool, bool]]] = {}  # child -> (offset, in a loop, whole value)
    for stmt, call, in_loop in _calls_by_statement(tree):
        if _self_attr(call.func) and call.func.attr in children:
            sites.setdefault(call.func.attr, []).append((call.lineno - 1, in_loop, _whole_value(stmt, call)))
    order = list(rec.module_outputs)
    notes = []
    for child, found in sites.items():
        path = f"{t.path}.{child}"
        outs = rec.module_outputs.get(path)
        if len(found) != 1 or outs is None or len(outs) != 1 or outs[0] is None:
            continue
        offset, in_loop, whole = found[0]
        if in_loop or start + offset not in executed:
            continue
        notes.append(ShapeNote(offset=offset, module=path, child=child, shape=shape_of(path), whole_value=whole))
    return sorted(notes, key=lambda n: (n.offset, order.index(n.module)))


def _calls_by_statement(tree: ast.Module):
    """(innermost statement, call, inside a loop) for every call in the function."""
    def walk(node, stmt, in_loop):
        for child in ast.iter_child_nodes(node):
            here = child if isinstance(child, ast.stmt) else stmt
            loop = in_loop or isinstance(child, _LOOPS)
            if isinstance(child, ast.Call):
                yield here, child, loop
            yield from walk(child, here, loop)
    yield from walk(tree, None, False)


def _whole_value(stmt: ast.stmt | None, call: ast.Call) -> bool:
    """True when the call is what the statement assigns or returns, or its residual branch
    (``x = x + self.drop_path(...)``): the line's shape comment then needs no name."""
    value = getattr(stmt, "value", None) if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.Return)) else None
    if value is call:
        return True
    return isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add) and value.right is call


def _branches(tree: ast.Module, start: int, paths: dict[str, set[int]], module,
              lines: list[str]) -> list[CodeBranch]:
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.If) or node.body[0].lineno == node.lineno:
            continue
        test_line, body_line = start + node.lineno - 1, start + node.body[0].lineno - 1
        else_offset = _else_offset(node, lines)
        ran = [p for p, done in paths.items() if test_line in done and body_line in done]
        skipped = [p for p, done in paths.items() if test_line in done and body_line not in done]
        if not ran and not skipped:
            continue  # never evaluated (inside a branch that did not run)
        out.append(CodeBranch(
            offset=node.lineno - 1, test=ast.unparse(node.test), else_offset=else_offset, ran=ran, skipped=skipped,
            attrs=_test_attrs(node.test, module), body_calls=_call_names(node.body),
            else_calls=_call_names(node.orelse)))
    return sorted(out, key=lambda b: b.offset)


def _else_offset(node: ast.If, lines: list[str]) -> int | None:
    if not node.orelse:
        return None
    first = node.orelse[0].lineno - 1
    if isinstance(node.orelse[0], ast.If) and lines[first].lstrip().startswith("elif"):
        return None  # an elif: annotated as its own branch
    for off in range(first - 1, (node.body[-1].end_lineno or first) - 1, -1):
        if re.match(r"\s*else\s*:", lines[off]):
            return off
    return None


def _test_attrs(test: ast.expr, module) -> list[list[str]]:
    out: list[list[str]] = []
    for node in ast.walk(test):
        if _self_attr(node) and not any(node.attr == a for a, _ in out):
            value = getattr(module, node.attr, None)
            if isinstance(value, _PLAIN_VALUES):
                out.append([node.attr, _value_text(value)])
            elif isinstance(value, torch.nn.Module):
                out.append([node.attr, type(value).__name__])
    return out


def _call_names(body: list[ast.stmt]) -> list[str]:
    names: dict[str, None] = {}
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call):
                try:
                    names[ast.unparse(node.func)] = None
                except Exception:  # an exotic callee expression: not worth a name
                    continue
    return list(names)


# ---------------------------------------------------------------- where the code lives


def _origin(fn: Callable) -> dict[str, str]:
    """Package, version, path in the package, repository and tag for ``fn``'s source file."""
    top = (fn.__module__ or "").split(".")[0]
    pkg = sys.modules.get(top)
    file = Path(inspect.getsourcefile(fn) or "")
    path = file.name
    base = getattr(pkg, "__file__", None)
    if base:
        root = Path(base).resolve().parent
        root = root.parent if Path(base).name == "__init__.py" else root
        try:
            path = file.resolve().relative_to(root).as_posix()
        except ValueError:
            pass
    out = {"path": path, "package": "", "version": "", "repo": "", "ref": ""}
    dist = _distribution(top)
    if dist is None:
        return out
    out["package"], out["version"] = dist.metadata["Name"], dist.version
    out["repo"] = _github_repo(dist)
    release = re.fullmatch(r"(\d+(?:\.\d+)*)(?:\+[\w.]+)?", dist.version)
    if out["repo"] and release and not _editable(dist):
        out["ref"] = f"v{release.group(1)}"  # timm (and torch) tag releases v{version}: v1.0.31
    return out


def _distribution(top: str) -> md.Distribution | None:
    try:
        return md.distribution(top)
    except md.PackageNotFoundError:
        pass
    for name in md.packages_distributions().get(top, []):
        try:
            return md.distribution(name)
        except md.PackageNotFoundError:
            continue
    return None


def _github_repo(dist: md.Distribution) -> str:
    urls = [u.split(",", 1)[-1].strip() for u in (dist.metadata.get_all("Project-URL") or [])]
    urls.append(dist.metadata["Home-page"] or "")
    for url in urls:
        m = re.fullmatch(r"(https://github\.com/[\w.-]+/[\w.-]+?)(?:\.git)?/?", url)
        if m:
            return m.group(1)
    return ""


def _editable(dist: md.Distribution) -> bool:
    """An editable install runs a working tree, which need not match any tag."""
    try:
        info = json.loads(dist.read_text("direct_url.json") or "{}")
    except (OSError, ValueError):
        return False
    return bool(info.get("dir_info", {}).get("editable"))
